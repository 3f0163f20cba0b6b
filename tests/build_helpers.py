"""Generated sites for the incremental build tests, and the comparison with a build from scratch.

A site made here uses the project's real pelicanconf.py, theme and plugins, with generated posts,
writers' profiles, pages, an image, and published comment threads, so that every page type and
plugin takes part. `assert_same_as_full` builds the site incrementally (into site/output, where
earlier builds left their output) and from scratch (into a fresh directory), and compares the
two trees byte for byte, the build's own bookkeeping (output/.hubbub/) aside.
"""

from __future__ import annotations

import filecmp
import json
import random
import shutil
from pathlib import Path

from hubbub.build import run_build
from hubbub.core.identity import author_key, site_salt

ROOT = Path(__file__).resolve().parents[1]
WORDS = ("network referral breakfast handshake email list newsletter search ranking listing reviews "
         "keywords followers likes shares hashtags router packet latency protocol headline draft "
         "persuasion metrics dashboard funnel clients invoice pricing proposal").split()
CATEGORIES = ("Networking", "Online Marketing", "Analytics")
TAGS = ("email", "seo", "social media", "referrals", "pricing", "events", "writing")
WRITERS = ("Dana Okafor", "Lee Marsh", "Seán O'Brien-Núñez", "Priya Raman")


def slugify(name: str) -> str:
    from pelican.utils import slugify as pelican_slugify

    return pelican_slugify(name, regex_subs=[(r"[^\w\s-]", ""), (r"(?u)\A\s*", ""), (r"(?u)\s*\Z", ""),
                                             (r"[-\s]+", "-")])


def post_text(rng: random.Random, title: str, date: str, author: str, category: str, tags, words: int = 60,
              extra: str = "") -> str:
    body = " ".join(rng.choice(WORDS) for _ in range(words))
    return (f"Title: {title}\nDate: {date}\nAuthor: {author}\nCategory: {category}\nTags: {', '.join(tags)}\n"
            f"{extra}\n{body.capitalize()}.\n\nA second paragraph about {rng.choice(WORDS)}.\n")


def new_built_site(root: Path, title: str) -> Path:
    """A site as `hubbub init` makes it (by Jane Doe), built once."""
    from hubbub.init_site import init_site

    init_site(root, title, "Jane Doe", None)
    run_build(root)
    return root


def make_site(root: Path, posts: int = 24, seed: int = 7) -> Path:
    """A site in `root` with `posts` posts by four writers (three with a profile)."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "pelicanconf.py", root / "pelicanconf.py")
    content = root / "content"
    for sub in ("posts", "authors", "pages", "images", "comments"):
        (content / sub).mkdir(parents=True, exist_ok=True)
    (content / "images" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>\n')
    for writer in WRITERS[:3]:
        slug = slugify(writer)
        (content / "authors" / f"{slug}.md").write_text(
            f"Name: {writer}\nEmail: {slug}@example.org\nTagline: Writes about {rng.choice(WORDS)}\n"
            "Joined: 2012-03-04\n\nA short *bio*.\n", encoding="utf-8")
    for n in range(posts):
        write_post(root, n, rng)
    (content / "pages" / "about.md").write_text("Title: About\n\nAbout this site.\n", encoding="utf-8")
    (content / "pages" / "privacy.md").write_text("Title: Privacy\n\nWhat we keep.\n", encoding="utf-8")
    for n in range(0, posts, 3):
        write_thread(root, f"post-{n}", [(1, None, WRITERS[n % 4]), (2, 1, "A Reader")])
    return root


def write_post(root: Path, n: int, rng: random.Random | None = None, **changes) -> Path:
    rng = rng or random.Random(n)
    fields = {
        "title": f"Post number {n} about {WORDS[n % len(WORDS)]}",
        "date": f"2015-{1 + n % 12:02d}-{1 + n % 27:02d} {8 + n % 10:02d}:{n % 60:02d}",
        "author": WRITERS[n % len(WRITERS)],
        "category": CATEGORIES[n % len(CATEGORIES)],
        "tags": [TAGS[n % len(TAGS)], TAGS[(n * 3 + 1) % len(TAGS)]],
        "extra": f"Slug: post-{n}\n",
    }
    fields.update(changes)
    path = root / "content" / "posts" / f"post-{n}.md"
    path.write_text(post_text(rng, **fields), encoding="utf-8")
    return path


def write_thread(root: Path, slug: str, comments) -> Path:
    """A published thread file; `comments` are (id, parent id, author name)."""
    salt = site_salt(root)
    items = [{"id": cid, "parent": parent, "author": name, "url": "",
              "html": f"<p>Comment {cid} by {name}.</p>", "created": f"2016-01-{cid:02d}T10:00:00+00:00",
              "author_key": author_key(f"{slugify(name)}@example.org", salt)} for cid, parent, name in comments]
    path = root / "content" / "comments" / f"{slug}.json"
    path.write_text(json.dumps({"thread": slug, "comments": items}, indent=1), encoding="utf-8")
    return path


def private_copy(built: Path, tmp: Path) -> Path:
    """A copy of a built site for one test (its output and the build's cache come along)."""
    dest = tmp / "site"
    shutil.copytree(built, dest, symlinks=True)
    return dest


def build(site: Path, full: bool = False, output: Path | None = None):
    override = {"OUTPUT_PATH": str(output)} if output else {"OUTPUT_PATH": str(site / "output")}
    return run_build(site, full=full, **override)


# Pagefind writes its index files in a different order on every run (tests/test_search.py compares
# two indexes by what they hold); the build's own bookkeeping is in .hubbub/.
NOT_COMPARED = {".hubbub", "pagefind"}


def tree_differences(a: Path, b: Path) -> list[str]:
    """Files that differ between two output trees (bookkeeping and the search index aside)."""
    problems = []

    def walk(cmp: filecmp.dircmp, prefix: str):
        for name in cmp.left_only:
            if prefix or name not in NOT_COMPARED:
                problems.append(f"only in incremental: {prefix}{name}")
        for name in cmp.right_only:
            if prefix or name not in NOT_COMPARED:
                problems.append(f"only in full: {prefix}{name}")
        for name in cmp.common_files:
            if (Path(cmp.left) / name).read_bytes() != (Path(cmp.right) / name).read_bytes():
                problems.append(f"differs: {prefix}{name}")
        for name, sub in cmp.subdirs.items():
            if prefix or name not in NOT_COMPARED:
                walk(sub, f"{prefix}{name}/")

    walk(filecmp.dircmp(a, b, ignore=[]), "")
    return problems


def assert_same_as_full(site: Path, tmp: Path):
    """Build incrementally and from scratch; the trees must be identical. Returns the incremental report."""
    report = build(site)
    full = tmp / f"full-{len(list(tmp.glob('full-*')))}"
    build(site, full=True, output=full)
    problems = tree_differences(site / "output", full)
    assert not problems, "incremental build differs from --full:\n  " + "\n  ".join(problems[:30])
    shutil.rmtree(full)
    return report
