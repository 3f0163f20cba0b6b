"""How much the hub_profiles and similar_posts plugins add to a site build.

Generates sites of 1,000 and 5,000 posts (by default) in a temporary directory, with the project's
theme, plugins and settings, author profiles, and published comment threads; then builds each site
with and without the two plugins (every other plugin the same) and prints the times and ratios.

    .venv/bin/python bench/bench_plugins.py [--sizes 1000 5000] [--repeat 1] [--keep]

Each build runs in a fresh Python process so that one build's imports and caches do not help the
next; the time reported is the build itself (Pelican run), not interpreter start-up.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OURS = ("hub_profiles", "similar_posts")

TOPICS = {
    "email marketing": "email list subscribers newsletter permission unsubscribe open rate subject line "
                       "campaign autoresponder segment bounce deliverability inbox",
    "local seo": "search ranking map listing reviews keywords local citations google business profile "
                 "directory backlinks schema snippet",
    "networking events": "breakfast referral handshake elevator pitch follow-up business card chamber "
                         "meetup introductions speaker room",
    "social media": "followers likes shares hashtags engagement timeline profile platform influencer "
                    "viral audience community posts",
    "computer networks": "router switch packet latency bandwidth protocol firewall subnet gateway dns "
                         "ethernet wireless topology",
    "copywriting": "headline draft editing tone voice persuasion reader story benefit call to action "
                   "clarity sentence",
    "analytics": "metrics dashboard conversion funnel traffic sessions bounce attribution goals "
                 "cohort report measurement",
    "freelancing": "clients invoice pricing proposal contract portfolio rates deadline scope "
                   "retainer pipeline niche",
}
FILLER = ("people week small business time start simple practice honest lesson plan budget better "
          "work often friends first year start habit idea question answer").split()


def _sentence(rng: random.Random, words: list[str], length: int) -> str:
    picked = [rng.choice(words) if rng.random() < 0.55 else rng.choice(FILLER) for _ in range(length)]
    return " ".join(picked).capitalize() + "."


def generate_site(root: Path, posts: int, seed: int = 1) -> Path:
    """A site of `posts` posts by 40 authors (38 with profiles), a third of posts with comments."""
    rng = random.Random(seed)
    for part in ("theme", "plugins"):
        shutil.copytree(REPO / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "pelicanconf.py", root / "pelicanconf.py")
    content = root / "content"
    for sub in ("posts", "authors", "comments", "pages", "images/avatars"):
        (content / sub).mkdir(parents=True, exist_ok=True)
    (content / "images/avatars/default.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4"/></svg>\n')

    authors = [f"Writer {chr(65 + n // 10)}{n % 10} Example" for n in range(40)]
    for n, name in enumerate(authors[:38]):
        slug = name.lower().replace(" ", "-")
        (content / "authors" / f"{slug}.md").write_text(
            f"Name: {name}\nEmail: {slug}@example.org\n"
            + ("Avatar: avatars/default.svg\n" if n % 2 else "")
            + f"Tagline: Writes about {rng.choice(list(TOPICS))}\nWebsite: https://{slug}.example.org/\n"
            f"Joined: 20{10 + n % 10}-0{1 + n % 9}-15\n\nA short bio with *some* Markdown.\n",
            encoding="utf-8",
        )

    from comments_service import identity  # the same keys the comment service writes

    salt = identity.site_salt(root)
    keys = [identity.author_key(name.lower().replace(" ", "-") + "@example.org", salt) for name in authors]
    topics = list(TOPICS.items())
    for i in range(posts):
        topic, vocabulary = topics[i % len(topics)]
        words = vocabulary.split()
        slug = f"post-{i:05d}"
        title = " ".join(rng.choice(words) for _ in range(4)).title()
        tags = ", ".join(sorted({topic, *rng.sample(words, 2), rng.choice(["tips", "opinion", "how-to"])}))
        paragraphs = [" ".join(_sentence(rng, words, rng.randint(8, 16)) for _ in range(rng.randint(3, 6)))
                      for _ in range(rng.randint(3, 5))]
        body = f"{paragraphs[0]}\n\n## {title}\n\n" + "\n\n".join(paragraphs[1:])
        date = f"{2008 + i * 17 // posts}-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}"
        (content / "posts" / f"{slug}.md").write_text(
            f"Title: {title}\nDate: {date}\nAuthor: {rng.choice(authors)}\nCategory: {topic.title()}\n"
            f"Tags: {tags}\nSlug: {slug}\nSummary: {_sentence(rng, words, 12)}\n\n{body}\n",
            encoding="utf-8",
        )
        if i % 3 == 0:
            comments = []
            for c in range(rng.randint(1, 8)):
                who = rng.randrange(len(authors) + 20)  # some commenters are writers, most are readers
                comments.append({
                    "id": c + 1, "parent": None, "author": f"Commenter {who}", "url": "",
                    "html": f"<p>{_sentence(rng, words, 20)}</p>",
                    "created": f"2024-{1 + c:02d}-{1 + i % 28:02d}T10:00:00+00:00",
                    "author_key": keys[who] if who < len(keys) else f"{who:064x}",
                })
            (content / "comments" / f"{slug}.json").write_text(json.dumps({"thread": slug, "comments": comments}))
    return root


_BUILD = """
import json, logging, sys, time
logging.disable(logging.WARNING)  # the bench's two missing profiles warn on purpose
from comments_service.site_build import build_site
site, out, plugins = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
started = time.perf_counter()
build_site(root=__import__("pathlib").Path(site), OUTPUT_PATH=out, PLUGINS=plugins)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def timed_build(site: Path, plugins: list[str], label: str) -> float:
    out = site / f"output-{label}"
    shutil.rmtree(out, ignore_errors=True)
    result = subprocess.run(
        [sys.executable, "-c", _BUILD, str(site), str(out), json.dumps(plugins)],
        cwd=site, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"build of {site} ({label}) failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["seconds"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000], help="numbers of posts")
    parser.add_argument("--repeat", type=int, default=1, help="builds per variant; the fastest counts")
    parser.add_argument("--keep", action="store_true", help="keep the generated sites and print where")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from comments_service.site_build import load_settings

    all_plugins = list(load_settings(REPO)["PLUGINS"])
    without = [p for p in all_plugins if p not in OURS]
    workdir = Path(tempfile.mkdtemp(prefix="hubbub-bench-"))
    rows = []
    try:
        for size in args.sizes:
            site = generate_site(workdir / f"site-{size}", size)
            times = {"without": [], "with": []}
            for _ in range(args.repeat):
                times["without"].append(timed_build(site, without, "without"))
                times["with"].append(timed_build(site, all_plugins, "with"))
            base, full = min(times["without"]), min(times["with"])
            rows.append((size, base, full))
            print(f"{size:>6} posts: without {base:7.2f}s   with {full:7.2f}s   "
                  f"added {full - base:+6.2f}s   ratio {full / base:5.2f}", flush=True)
    finally:
        if args.keep:
            print(f"sites kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nplugins compared: {', '.join(OURS)}; always on: {', '.join(without) or '(none)'}")
    print("| posts | without (s) | with (s) | added (s) | ratio |\n|---:|---:|---:|---:|---:|")
    for size, base, full in rows:
        print(f"| {size} | {base:.2f} | {full:.2f} | {full - base:+.2f} | {full / base:.2f} |")


if __name__ == "__main__":
    main()
