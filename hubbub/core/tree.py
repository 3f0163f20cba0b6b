"""Turn a thread's flat comment list into the tree the comments template draws.

The build (plugins/comments.py) and the fast publisher both call `comment_tree` with the same
settings, which is what makes their output identical byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import Markup

from .avatars import identicon_svg
from .threadfile import Comment, iso_utc, xml_text
from .weburl import safe_url

DEFAULT_MAX_DEPTH = 4
DEFAULT_DATE_FORMAT = "%-d %B %Y at %H:%M"

# English names, so that a date reads the same whatever locale the build or the service runs in.
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


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


@lru_cache(maxsize=8)
def _zone(tz_name: str | None) -> ZoneInfo | None:
    try:
        return ZoneInfo(tz_name) if tz_name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None  # an unknown zone shows UTC rather than failing the build


def format_date(value: datetime, fmt: str, tz_name: str | None) -> str:
    tz = _zone(tz_name)
    local = value.astimezone(tz) if tz else value
    fmt = (fmt.replace("%B", _MONTHS[local.month - 1]).replace("%b", _MONTHS[local.month - 1][:3])
           .replace("%A", _DAYS[local.weekday()]).replace("%a", _DAYS[local.weekday()][:3]))
    return local.strftime(fmt)


def comment_tree(
    comments: list[Comment],
    max_depth: int = DEFAULT_MAX_DEPTH,
    date_format: str = DEFAULT_DATE_FORMAT,
    timezone: str | None = None,
) -> list[CommentNode]:
    """Top-level nodes, replies nested under their parents up to `max_depth` levels.

    A reply to a comment already at the last level joins that comment's siblings (at the last
    level, in time order) with `reply_to` naming the comment it answers. A reply whose parent is
    not published (removed, or not yet approved) is shown at the top level.
    """
    max_depth = max(1, int(max_depth))
    roots: list[CommentNode] = []
    by_id: dict[int, CommentNode] = {}
    # The list a node's replies go into, and the depth they get there.
    reply_home: dict[int, tuple[list[CommentNode], int]] = {}
    for c in sorted(comments, key=lambda c: (c.created, c.id)):
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
            date=format_date(c.created, date_format, timezone),
            avatar=identicon_svg(c.author_key, xml_text(c.author)),
            depth=depth,
            reply_to=reply_to,
        )
        siblings.append(node)
        by_id[c.id] = node
        if depth < max_depth:
            reply_home[c.id] = (node.children, depth + 1)
        else:
            reply_home[c.id] = (siblings, depth)
    return roots
