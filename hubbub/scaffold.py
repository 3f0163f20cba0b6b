"""`hubbub new`: scaffold a post or an author profile with the metadata the site expects."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pelican.utils import slugify

from .core.i18n import N_, SOURCE_LANGUAGE, translations

POST_TEMPLATE = """Title: {title}
Date: {date}
Author: {author}
Category: {category}
Tags: {tags}
Slug: {slug}
Summary: {summary}

{body}
"""
# A new post's placeholder text, in the site's language.
POST_SUMMARY = N_("One or two sentences that appear on the home page and in feeds.")
POST_BODY = N_("Write your post here, in Markdown.")

AUTHOR_TEMPLATE = """Name: {name}
Email:
Tagline: {tagline}
Location:
Website:
LinkedIn:
Twitter:
Facebook:
HubPages:
Joined: {joined}

{about}
"""
# The profile's placeholder text, in the site's language (the catalogs translate it).
AUTHOR_TAGLINE = N_("A short line about you")
AUTHOR_ABOUT = N_("A few paragraphs about you, in Markdown. Your email address above is never shown; it links\n"
                  "the comments you write on the site to this profile. For a picture, put it under\n"
                  "content/images/avatars/ and add a line `Avatar: avatars/your-picture.svg` above.")


class ScaffoldError(Exception):
    pass


def slug(text: str) -> str:
    """The file name Pelican gives `text` by default (its slug); ScaffoldError if there is none."""
    made = slugify(text, regex_subs=[(r"[^\w\s-]", ""), (r"(?u)\A\s*", ""), (r"(?u)\s*\Z", ""), (r"[-\s]+", "-")])
    if not made:
        raise ScaffoldError(f"cannot make a file name from {text!r}: use letters or digits")
    return made


def _write_new(path: Path, text: str, what: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with path.open("x", encoding="utf-8") as f:
            f.write(text)
    except FileExistsError:
        raise ScaffoldError(f"{path} already exists: choose another {what} or edit that file") from None
    return path


def new_post(root: Path, title: str, author: str, category: str = "Online Marketing",
             now: dt.datetime | None = None, lang: str = SOURCE_LANGUAGE) -> Path:
    if not title.strip():
        raise ScaffoldError("the post needs a title")
    if not author.strip():
        raise ScaffoldError("the post needs an author: --author NAME")
    now = now or dt.datetime.now()
    name = slug(title)
    gettext = translations(lang).gettext
    text = POST_TEMPLATE.format(title=title.strip(), date=now.strftime("%Y-%m-%d %H:%M"),
                                author=author.strip(), category=category, tags="", slug=name,
                                summary=gettext(POST_SUMMARY), body=gettext(POST_BODY))
    return _write_new(root / "content" / "posts" / f"{name}.md", text, "title")


def author_profile(name: str, joined: dt.date, lang: str = SOURCE_LANGUAGE) -> str:
    """A new profile's Markdown, its placeholder text in `lang`."""
    gettext = translations(lang).gettext
    return AUTHOR_TEMPLATE.format(name=name, joined=joined.isoformat(), tagline=gettext(AUTHOR_TAGLINE),
                                  about=gettext(AUTHOR_ABOUT))


def new_author(root: Path, name: str, today: dt.date | None = None, lang: str = SOURCE_LANGUAGE) -> Path:
    if not name.strip():
        raise ScaffoldError("the profile needs a name")
    text = author_profile(name.strip(), today or dt.date.today(), lang)
    return _write_new(root / "content" / "authors" / f"{slug(name)}.md", text, "name")
