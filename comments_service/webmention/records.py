"""What is kept of received webmentions beyond their comments, and for how long.

Connected to signals (journey.connect_receivers):
- retention_due: the sender's address is erased after HUBBUB_IP_RETENTION_DAYS, as for comments;
  records that never became a mention (rejected, removed) go after HUBBUB_SPAM_RETENTION_DAYS.
- personal_data_exported / personal_data_erased: a mention is someone's when their h-card gave
  the email asked about (it is then the comment's email). Export lists its records; erase deletes
  them and, when the comment stays anonymised, the links that would still name its author.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, update

from ..models import Comment
from .models import QUEUED, VERIFIED, Webmention


def retention(hub, now: dt.datetime) -> dict:
    cfg = hub.config
    with hub.transaction() as s:
        erased = s.execute(update(Webmention).where(
            Webmention.remote_addr.is_not(None), Webmention.received < now - dt.timedelta(days=cfg.ip_retention_days))
            .values(remote_addr=None)).rowcount
        deleted = s.execute(delete(Webmention).where(
            Webmention.comment_id.is_(None), Webmention.status.not_in((QUEUED, VERIFIED)),
            Webmention.received < now - dt.timedelta(days=cfg.spam_retention_days))).rowcount
    return {"webmention_addresses_erased": erased, "webmention_records_deleted": deleted}


def _mentions_of(session, email: str) -> list[Comment]:
    return list(session.scalars(select(Comment).where(
        Comment.kind == "webmention", func.lower(func.trim(Comment.email)) == email).order_by(Comment.id)))


def _records(session, comments: list[Comment]) -> list[Webmention]:
    ids = [c.id for c in comments]
    return list(session.scalars(select(Webmention).where(Webmention.comment_id.in_(ids)))) if ids else []


def exported(hub, session, email: str) -> tuple[str, list]:
    records = _records(session, _mentions_of(session, email))
    fields = ("source", "target", "status", "reason", "remote_addr", "user_agent", "received", "checked")
    return "webmentions", [{**{f: getattr(wm, f) for f in fields}, "comment_id": wm.comment_id,
                            "received": wm.received.isoformat(), "checked": wm.checked.isoformat() if wm.checked
                            else None} for wm in records]


def erased(hub, session, email: str, mode: str) -> int:
    mentions = _mentions_of(session, email)
    records = _records(session, mentions)
    for wm in records:
        session.delete(wm)
    if mode == "anonymise":
        for c in mentions:
            if c.status == "published" and c.mention:
                # The text stays, under "Anonymous": no link or photo may still point to the author.
                c.mention = {**c.mention, "source": "", "url": "", "photo": ""}
    session.flush()
    return len(records)


def connect() -> None:
    from ..signals import personal_data_erased, personal_data_exported, retention_due

    retention_due.connect(retention)
    personal_data_exported.connect(exported)
    personal_data_erased.connect(erased)
