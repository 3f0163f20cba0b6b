"""What moderators see of a webmention beside its comment: type, source, and how verification went."""

from __future__ import annotations

from sqlalchemy import select

from .models import Webmention


def mention_facts(session, comments) -> dict[int, dict]:
    """comment id → the facts of each webmention among `comments` (one query for a page of them)."""
    ids = [c.id for c in comments if c.is_webmention]
    if not ids:
        return {}
    received = {wm.comment_id: wm for wm in session.scalars(select(Webmention).where(Webmention.comment_id.in_(ids)))}
    facts = {}
    for c in comments:
        if not c.is_webmention:
            continue
        mention, wm = c.mention or {}, received.get(c.id)
        facts[c.id] = {
            "type": mention.get("type") or "mention",
            "source": mention.get("source") or "",
            "target": mention.get("target") or "",
            "url": mention.get("url") or "",
            "photo": mention.get("photo") or "",
            "published": mention.get("published"),
            # An imported mention was never verified here; its record may also be gone (privacy).
            "verification": wm.status if wm else "imported",
            "verified_at": wm.checked.isoformat() if wm and wm.checked else None,
            "reason": wm.reason if wm else "",
        }
    return facts
