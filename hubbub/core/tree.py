"""Turn a thread's flat comment list into what the comments template draws: the tree of the
conversation (comments, and webmention replies and mentions, by date) and the rows of likes,
reposts and bookmarks.

The build (plugins/comments.py) and the fast publisher both call `comment_tree` and
`reaction_rows` with the same settings, which is what makes their output identical byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup

from .avatars import identicon_svg
from .i18n import COMMENT_DATE_FORMAT, SOURCE_LANGUAGE, strftime
from .threadfile import REACTION_TYPES, Comment, iso_utc, xml_text
from .weburl import safe_url

DEFAULT_MAX_DEPTH = 4
DEFAULT_DATE_FORMAT = COMMENT_DATE_FORMAT


@dataclass(slots=True)
class CommentNode:
    """One comment as displayed. `depth` starts at 1; `reply_to` is set when a reply is shown
    at a shallower level than its parent's children would be (past the maximum depth), so the
    reader still sees whom it answers."""

    id: int
    parent: int | None
    author: str
    url: str  # http(s) only, else ""
    html: Markup
    created: str  # ISO 8601, UTC
    date: str  # for people, in the site's time zone
    avatar: Markup
    depth: int
    reply_to: CommentNode | None = None
    children: list[CommentNode] = field(default_factory=list)
    kind: str = "comment"
    type: str = ""  # a webmention's type
    source: str = ""  # where a webmention was written (http(s) only, else "")
    via: str = ""  # the host of `source`, as "via example.org" shows it
    photo: str = ""  # a webmention author's picture; themes show it only if WEBMENTION_REMOTE_PHOTOS


@dataclass(slots=True)
class Reaction:
    """One like, repost or bookmark, in its row."""

    id: int
    author: str
    link: str  # the author's site, else where they reacted ("" if neither is http(s))
    avatar: Markup
    photo: str


@dataclass(slots=True)
class ReactionRow:
    type: str  # like, repost, bookmark
    people: list[Reaction]

    @property
    def count(self) -> int:
        return len(self.people)


@lru_cache(maxsize=8)
def _zone(tz_name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(tz_name) if tz_name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None  # an unknown zone shows UTC rather than failing the build


def format_date(value: datetime, fmt: str, tz_name: str | None, lang: str = SOURCE_LANGUAGE) -> str:
    """`value` in the site's time zone, in the site's language (names from Babel, not the process's
    locale, so a date reads the same in the build and in the service)."""
    tz = _zone(tz_name)
    local = value.astimezone(tz) if tz else value
    return strftime(local, fmt, lang)


def host_of(url: str) -> str:
    """The host people recognise a site by: "www." is dropped."""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def comment_tree(
    comments: list[Comment],
    max_depth: int = DEFAULT_MAX_DEPTH,
    date_format: str = DEFAULT_DATE_FORMAT,
    timezone: str | None = None,
    lang: str = SOURCE_LANGUAGE,
) -> list[CommentNode]:
    """Top-level nodes, replies nested under their parents up to `max_depth` levels.

    A reply to a comment already at the last level joins that comment's siblings (at the last
    level, in time order) with `reply_to` naming the comment it answers. A reply whose parent is
    not published (removed, or not yet approved) is shown at the top level. Likes, reposts and
    bookmarks are not in the tree (see reaction_rows).
    """
    max_depth = max(1, int(max_depth))
    roots: list[CommentNode] = []
    by_id: dict[int, CommentNode] = {}
    # The list a node's replies go into, and the depth they get there.
    reply_home: dict[int, tuple[list[CommentNode], int]] = {}
    for c in sorted(comments, key=lambda c: (c.created, c.id)):
        if c.is_reaction:
            continue
        parent = by_id.get(c.parent) if c.parent is not None else None
        if parent is None:
            siblings, depth, reply_to = roots, 1, None
        else:
            siblings, depth = reply_home[parent.id]
            reply_to = parent if depth <= parent.depth else None
        node = CommentNode(
            id=c.id,
            parent=c.parent,
            author=xml_text(c.author),
            url=safe_url(xml_text(c.url)),
            html=Markup(xml_text(c.html)),
            created=iso_utc(c.created),
            date=format_date(c.created, date_format, timezone, lang),
            avatar=identicon_svg(c.author_key, xml_text(c.author)),
            depth=depth,
            reply_to=reply_to,
        )
        if c.kind == "webmention":
            node.kind, node.type = c.kind, c.type
            node.source = safe_url(xml_text(c.source))
            node.via, node.photo = host_of(node.source), safe_url(xml_text(c.photo))
        siblings.append(node)
        by_id[c.id] = node
        if depth < max_depth:
            reply_home[c.id] = (node.children, depth + 1)
        else:
            reply_home[c.id] = (siblings, depth)
    return roots


def reaction_rows(comments: list[Comment]) -> list[ReactionRow]:
    """Likes, reposts and bookmarks, a row per type (in that order), oldest first in each row."""
    rows = {kind: ReactionRow(kind, []) for kind in REACTION_TYPES}
    for c in sorted(comments, key=lambda c: (c.created, c.id)):
        if c.is_reaction:
            author = xml_text(c.author)
            rows[c.type].people.append(Reaction(
                id=c.id, author=author, link=safe_url(xml_text(c.url)) or safe_url(xml_text(c.source)),
                avatar=identicon_svg(c.author_key, author), photo=safe_url(xml_text(c.photo)),
            ))
    return [row for row in rows.values() if row.people]
