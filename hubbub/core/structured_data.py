"""JSON-LD (schema.org) for articles: a BlogPosting with its published comments.

An article's JSON-LD counts and lists its published comments, so it changes whenever they do.
The build and the fast publisher both write it with `article_region` between its own markers
(like the comment section), from the same inputs: the posting's fixed part, computed once at
build time by `posting` and kept in the manifest, plus the thread's comments. Same inputs, same
bytes.

The JSON is escaped for a <script> element (`<`, `>`, `&` and `'` as \\u escapes), so no comment
text can close the element or open another one. Comment authors appear by name only: never an
email, an address or a website.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup

from .feeds import absolute, plain_title
from .plaintext import text_of
from .threadfile import Comment, iso_utc

BEGIN = "<!-- hubbub:jsonld begin {slug} -->"
END = "<!-- hubbub:jsonld end {slug} -->"
CONTEXT = "https://schema.org"


def script(data: dict) -> Markup:
    """A <script type="application/ld+json"> element holding `data`, safe inside HTML."""
    # Sorted keys: the posting comes back from the manifest (written sorted) for the publisher.
    body = htmlsafe_json_dumps(data, dumps=json.dumps, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return Markup(f'<script type="application/ld+json">{body}</script>')


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def posting(article, summary: str, base: str, sitename: str, image: str = "") -> dict:
    """The fixed part of an article's BlogPosting (JSON-safe), from a Pelican article and its
    summary (HTML)."""
    url = absolute(base, article.url)
    authors = getattr(article, "authors", None) or [article.author]
    data = {
        "@context": CONTEXT,
        "@type": "BlogPosting",
        "@id": f"{url}#post",
        "mainEntityOfPage": url,
        "url": url,
        "headline": plain_title(str(article.title)),
        "description": text_of(str(summary or "")),
        "datePublished": _iso(getattr(article, "date", None)),
        "dateModified": _iso(getattr(article, "modified", None) or getattr(article, "date", None)),
        "author": [{"@type": "Person", "name": str(a), "url": absolute(base, a.url)} for a in authors],
        "publisher": {"@type": "Organization", "name": sitename, "url": absolute(base, "/")},
        "inLanguage": getattr(article, "lang", "") or None,
    }
    category = getattr(article, "category", None)
    if category:
        data["articleSection"] = str(category)
    tags = [str(t) for t in getattr(article, "tags", None) or []]
    if tags:
        data["keywords"] = tags
    if image:
        data["image"] = absolute(base, image)
    return {k: v for k, v in data.items() if v not in (None, "")}


def with_comments(fixed: dict, comments: Iterable[Comment]) -> dict:
    """The whole BlogPosting: `fixed` plus commentCount and one Comment item per published comment."""
    comments = list(comments)
    url = fixed.get("url", "")
    published = {c.id for c in comments}
    items = []
    for c in comments:
        item = {
            "@type": "Comment",
            "@id": f"{url}#comment-{c.id}",
            "url": f"{url}#comment-{c.id}",
            "author": {"@type": "Person", "name": c.author},
            "datePublished": iso_utc(c.created),
            "text": text_of(c.html),
        }
        if c.parent is not None and c.parent in published:
            item["parentItem"] = {"@id": f"{url}#comment-{c.parent}"}
        items.append(item)
    data = dict(fixed)
    data["commentCount"] = len(comments)
    if items:
        data["comment"] = items
    return data


def article_region(slug: str, fixed: dict, comments: Iterable[Comment]) -> Markup:
    """The article's JSON-LD between its markers, as the build and the publisher write it."""
    begin, end = BEGIN.format(slug=slug), END.format(slug=slug)
    return Markup(f"{begin}\n{script(with_comments(fixed, comments))}\n{end}")


def replace_region(page: str, slug: str, region: str) -> tuple[str, bool]:
    """`page` with its JSON-LD region of `slug` replaced; False if the page has none (a theme
    without structured data)."""
    begin, end = BEGIN.format(slug=slug), END.format(slug=slug)
    start = page.find(begin)
    stop = page.find(end, start + 1) if start >= 0 else -1
    if start < 0 or stop < 0:
        return page, False
    return page[:start] + str(region) + page[stop + len(end):], True  # str: Markup + str would escape
