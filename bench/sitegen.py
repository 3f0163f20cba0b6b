"""Generated sites for the build benchmarks: N posts of about 600 words by 40 writers, in 6
categories with 60 tags, as one Hubbub site (profiles, published comments, the project's settings)
and as a plain Pelican site with the same posts (Pelican's default theme, no plugins).

    .venv/bin/python bench/sitegen.py DIR --posts 5000 [--plain]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CATEGORIES = ("Networking", "Email Marketing", "Local SEO", "Social Media", "Copywriting", "Analytics")
VOCABULARY = {
    "Networking": "breakfast referral handshake pitch follow-up card chamber meetup introduction speaker room "
                  "contact event conversation trust partner",
    "Email Marketing": "list subscriber newsletter permission unsubscribe open subject campaign autoresponder "
                       "segment bounce deliverability inbox sequence welcome",
    "Local SEO": "ranking map listing review keyword citation profile directory backlink schema snippet "
                 "search locality suburb neighbourhood",
    "Social Media": "follower like share hashtag engagement timeline platform influencer viral audience "
                    "community post story reel channel",
    "Copywriting": "headline draft edit tone voice persuasion reader story benefit action clarity sentence "
                   "hook offer proof",
    "Analytics": "metric dashboard conversion funnel traffic session attribution goal cohort report "
                 "measurement segment baseline trend experiment",
}
FILLER = ("people week small business time start simple practice honest lesson plan budget better work "
          "often friends first year habit idea question answer client team market local online").split()
WRITERS = [f"Writer {chr(65 + n // 10)}{n % 10} Example" for n in range(40)]
TAGS = [f"{word} {kind}" for kind in ("tips", "basics") for category in CATEGORIES
        for word in VOCABULARY[category].split()[:5]]  # 60 tags, ten per category


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def _sentence(rng: random.Random, words: list[str], length: int) -> str:
    picked = [rng.choice(words) if rng.random() < 0.5 else rng.choice(FILLER) for _ in range(length)]
    return " ".join(picked).capitalize() + "."


def post_source(rng: random.Random, number: int, total: int, words: int = 600, title: str | None = None,
                date: str | None = None) -> str:
    category = CATEGORIES[number % len(CATEGORIES)]
    vocabulary = VOCABULARY[category].split()
    own_tags = [t for t in TAGS if t.split()[0] in vocabulary]
    tags = sorted(set(rng.sample(own_tags, 2) + [rng.choice(TAGS)]))
    title = title or " ".join(rng.choice(vocabulary) for _ in range(4)).title() + f" {number}"
    paragraphs, count = [], 0
    while count < words:
        paragraph = " ".join(_sentence(rng, vocabulary, rng.randint(10, 18)) for _ in range(rng.randint(4, 7)))
        paragraphs.append(paragraph)
        count += paragraph.count(" ") + 1
    year = 2008 + number * 18 // max(total, 1)
    date = date or f"{year}-{1 + number % 12:02d}-{1 + number % 28:02d} {number % 24:02d}:{number % 60:02d}"
    summary = f"Summary: {_sentence(rng, vocabulary, 14)}\n" if number % 2 else ""
    return (f"Title: {title}\nDate: {date}\nAuthor: {WRITERS[rng.randrange(len(WRITERS))]}\nCategory: {category}\n"
            f"Tags: {', '.join(tags)}\nSlug: post-{number:05d}\n{summary}\n"
            + f"{paragraphs[0]}\n\n## {title}\n\n" + "\n\n".join(paragraphs[1:]) + "\n")


def generate(root: Path, posts: int, *, plain: bool = False, seed: int = 1) -> Path:
    rng = random.Random(seed)
    content = root / "content"
    (content / "posts").mkdir(parents=True, exist_ok=True)
    for number in range(posts):
        (content / "posts" / f"post-{number:05d}.md").write_text(post_source(rng, number, posts), encoding="utf-8")
    if plain:
        (root / "pelicanconf.py").write_text(PLAIN_SETTINGS, encoding="utf-8")
        return root
    shutil.copy2(REPO / "pelicanconf.py", root / "pelicanconf.py")
    for sub in ("authors", "comments", "pages"):
        (content / sub).mkdir(parents=True, exist_ok=True)
    shutil.copytree(REPO / "content" / "pages", content / "pages", dirs_exist_ok=True)
    for n, name in enumerate(WRITERS[:38]):
        (content / "authors" / f"{_slug(name)}.md").write_text(
            f"Name: {name}\nEmail: {_slug(name)}@example.org\nTagline: Writes about {CATEGORIES[n % 6]}\n"
            f"Joined: 20{10 + n % 10}-0{1 + n % 9}-15\n\nA short bio with *some* Markdown.\n", encoding="utf-8")
    from hubbub.core import identity

    salt = identity.site_salt(root)
    for number in range(0, posts, 3):
        comments = [{
            "id": number * 10 + c + 1, "parent": None, "author": f"Commenter {c}", "url": "",
            "html": f"<p>{_sentence(rng, FILLER, 20)}</p>",
            "created": f"2024-{1 + c:02d}-{1 + number % 28:02d}T10:00:00+00:00",
            "author_key": identity.author_key(f"commenter{c}@example.org", salt),
        } for c in range(1 + number % 6)]
        slug = f"post-{number:05d}"
        (content / "comments" / f"{slug}.json").write_text(json.dumps({"thread": slug, "comments": comments}))
    return root


# Plain Pelican 4.12 with the same URLs, its default theme and no plugins.
PLAIN_SETTINGS = '''
AUTHOR = "Bench"
SITENAME = "Plain Pelican"
SITEURL = "http://127.0.0.1:8000"
RELATIVE_URLS = True
PATH = "content"
TIMEZONE = "Europe/London"
DEFAULT_LANG = "en"
DEFAULT_PAGINATION = 5
ARTICLE_URL = "posts/{slug}/"
ARTICLE_SAVE_AS = "posts/{slug}/index.html"
FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_ATOM = "feeds/category/{slug}.atom.xml"
AUTHOR_FEED_ATOM = "feeds/author/{slug}.atom.xml"
PLUGINS = []
'''


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--posts", type=int, default=5000)
    parser.add_argument("--plain", action="store_true")
    args = parser.parse_args()
    generate(args.dir, args.posts, plain=args.plain)
    print(args.dir)
