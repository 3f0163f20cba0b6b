"""Which comments a moderator may see and act on: everything, or an author's own posts."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import false

from ..models import Comment


def slugify(text: str) -> str:
    """Pelican-style slug of an author name ("Gerry Cooper" -> "gerry-cooper")."""
    text = unicodedata.normalize("NFKD", str(text or "")).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def thread_author(info: dict | None) -> str:
    """The author slug of a thread's article: Pelican's, from the build's manifest entry (a manifest
    written before it carried the slug gives the name, slugged here)."""
    info = info or {}
    if info.get("author_slug"):
        return info["author_slug"]
    author = info.get("author") or ""
    if isinstance(author, dict):
        author = author.get("slug") or author.get("name") or ""
    return slugify(author)


def _written_by(info: dict | None, limit: str) -> bool:
    """Whether a thread's article is by the writer of an author limit: Pelican's slug, or (a limit
    stored before the manifest carried that, or given as a name) the service's slug of the name."""
    return thread_author(info) == limit or slugify((info or {}).get("author") or "") == slugify(limit)


def allowed_threads(hub, moderator) -> list[str] | None:
    """Thread slugs the moderator is limited to, or None when they may moderate every thread."""
    limit = moderator.limited_to_author
    if not limit:
        return None
    return sorted(slug for slug, info in hub.threads.all().items() if _written_by(info, limit))


def may_moderate(hub, moderator, comment: Comment) -> bool:
    limit = moderator.limited_to_author
    return not limit or _written_by(hub.threads.get(comment.thread), limit)


def restrict(query, hub, moderator):
    """Add the moderator's limit to a query over comments."""
    threads = allowed_threads(hub, moderator)
    if threads is None:
        return query
    return query.where(Comment.thread.in_(threads) if threads else false())  # an author with no posts sees nothing
