"""What a source page says about our article, read from its microformats2 (mf2py).

The h-entry that refers to the article (or the page's first h-entry) gives the mention's type —
reply (in-reply-to), repost (repost-of), like (like-of), bookmark (bookmark-of), or a plain
mention — its author (the h-card's name, url, photo, email), its content (sanitised by the same
nh3 rules as comments), when it was published, and its own address. A page without microformats
is a plain mention by its site.
"""

from __future__ import annotations

import datetime as dt
import html
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import mf2py
from bs4 import BeautifulSoup

from hubbub.core.weburl import safe_url

from ..markup import sanitise

# Property → type, in the order a post that is several things at once is classified.
RELATIONS = (("in-reply-to", "reply"), ("repost-of", "repost"), ("like-of", "like"), ("bookmark-of", "bookmark"))
MAX_TEXT = 10_000  # as a comment
EXCERPT = 300  # what a plain mention shows of a longer post
MAX_AUTHOR, MAX_AUTHOR_URL, MAX_EMAIL, MAX_PHOTO = 100, 200, 254, 1000


@dataclass
class Entry:
    type: str = "mention"
    author: str = ""
    author_url: str = ""
    author_email: str = ""
    photo: str = ""
    url: str = ""  # the entry's own address (u-url), else the source
    html: str = ""  # sanitised; what the page shows
    text: str = ""  # plain text, for moderators, Akismet and the local guards
    published: dt.datetime | None = None
    in_reply_to: list[str] = field(default_factory=list)


def _urls(values) -> list[str]:
    """Addresses in an mf2 property: plain strings, or embedded h-cite / h-entry objects."""
    found = []
    for value in values or []:
        if isinstance(value, dict):
            props = value.get("properties", {})
            found += [u for u in props.get("url", []) if isinstance(u, str)]
            if isinstance(value.get("value"), str):
                found.append(value["value"])
        elif isinstance(value, str):
            found.append(value)
    return found


def _first_text(values) -> str:
    for value in values or []:
        if isinstance(value, dict):
            value = value.get("value") or value.get("html") or ""
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return ""


def _photo(values) -> str:
    for value in values or []:
        url = value.get("value") if isinstance(value, dict) else value
        if isinstance(url, str) and (url := safe_url(url)) and len(url) <= MAX_PHOTO:
            return url
    return ""


def _entries(items: list) -> list[dict]:
    """Every h-entry of the page, top level first, then those inside h-feeds and children."""
    found, nested = [], []
    for item in items:
        if "h-entry" in item.get("type", []):
            found.append(item)
        nested += item.get("children", [])
    return found + (_entries(nested) if nested else [])


def _published(value: str) -> dt.datetime | None:
    raw = value.strip().replace(" ", "T", 1)
    raw = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", raw[:-1] + "+00:00" if raw.endswith("Z") else raw)
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)


def _absolute_links(fragment: str, base: str) -> str:
    """Relative links in the content would point into our site: make them point into theirs."""
    soup = BeautifulSoup(fragment, "html.parser")
    for tag in soup.find_all(href=True):
        tag["href"] = urljoin(base, tag["href"])
    return str(soup)


def _author(entry: dict, items: list, source: str, result: Entry) -> None:
    authors = entry.get("properties", {}).get("author") or [i for i in items if "h-card" in i.get("type", [])][:1]
    for author in authors:
        if isinstance(author, dict):
            props = author.get("properties", {})
            result.author = _first_text(props.get("name")) or _first_text([author.get("value")])
            result.author_url = next((u for u in map(safe_url, _urls(props.get("url"))) if u), "")
            result.photo = _photo(props.get("photo"))
            email = next((e for e in _urls(props.get("email"))), "")
            result.author_email = email.removeprefix("mailto:").strip() if "@" in email else ""
        elif isinstance(author, str):
            if safe_url(author):
                result.author_url = safe_url(author)
            else:
                result.author = " ".join(author.split())
        break
    if not result.author:
        result.author = urlsplit(result.author_url or source).hostname or "someone"
    result.author = result.author[:MAX_AUTHOR]
    if len(result.author_url) > MAX_AUTHOR_URL:
        result.author_url = ""
    if len(result.author_email) > MAX_EMAIL or " " in result.author_email:
        result.author_email = ""


def _content(entry: dict, base: str, result: Entry) -> None:
    props = entry.get("properties", {})
    content = (props.get("content") or [None])[0]
    if isinstance(content, dict):
        fragment, text = content.get("html") or html.escape(content.get("value") or ""), content.get("value") or ""
    elif isinstance(content, str):
        fragment, text = html.escape(content), content
    else:
        text = _first_text(props.get("summary")) or _first_text(props.get("name"))
        fragment = f"<p>{html.escape(text)}</p>" if text else ""
    text = " ".join(text.split())
    summary = _first_text(props.get("summary"))
    if result.type in ("like", "repost", "bookmark"):
        fragment = ""  # shown as a name in a row, not as text
    elif len(text) > MAX_TEXT or (result.type == "mention" and len(text) > EXCERPT):
        short = summary if summary and len(summary) <= EXCERPT * 2 else textwrap.shorten(text, EXCERPT, placeholder=" …")
        fragment = f"<p>{html.escape(short)}</p>"
    result.text = text[:MAX_TEXT]
    result.html = sanitise(_absolute_links(fragment, base)).strip() if fragment else ""


def plain_mention(source: str) -> Entry:
    """A mention by a page that says nothing about itself (no microformats, or not HTML)."""
    entry = Entry(url=source)
    _author({}, [], source, entry)
    return entry


def read_entry(soup: BeautifulSoup, page_url: str, source: str, refers: Callable[[str], bool]) -> Entry:
    """The mention a parsed HTML source makes of our article; `refers(url)` tells whether an
    address names that article."""
    parsed = mf2py.parse(doc=soup, url=page_url, html_parser="lxml")
    items = parsed.get("items", [])
    entries = _entries(items)

    def relation(entry: dict) -> str | None:
        props = entry.get("properties", {})
        return next((kind for prop, kind in RELATIONS if any(refers(u) for u in _urls(props.get(prop)))), None)

    chosen = next((e for e in entries if relation(e)), entries[0] if entries else None)
    result = Entry(url=source)
    if chosen is None:
        title = soup.title.get_text(" ", strip=True) if soup.title else ""
        _author({}, items, source, result)
        result.text = title[:MAX_TEXT]
        result.html = f"<p>{html.escape(title[:EXCERPT])}</p>" if title else ""
        return result
    props = chosen.get("properties", {})
    result.type = relation(chosen) or "mention"
    result.url = next((u for u in map(safe_url, _urls(props.get("url"))) if u and len(u) <= 2000), source)
    result.in_reply_to = _urls(props.get("in-reply-to"))
    result.published = next((p for p in map(_published, (v for v in props.get("published", []) if isinstance(v, str)))
                             if p), None)
    _author(chosen, items, source, result)
    _content(chosen, page_url, result)
    return result
