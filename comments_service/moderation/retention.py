"""Retention: keep no more than needed, by a periodic background job.

- spam older than HUBBUB_SPAM_RETENTION_DAYS (15) is deleted;
- Akismet "discard" verdicts (blatant spam, never shown in the queue) after
  HUBBUB_DISCARD_RETENTION_HOURS (24);
- client addresses are erased from comments older than HUBBUB_IP_RETENTION_DAYS (30);
- records of sent emails after SENT_RETENTION;
- and whatever the receivers of signals.retention_due keep (webmention records, rate-limit hits).
- commenters' edit tokens a day after their edit window closed (a late token is then just wrong);
- thread subscriptions nobody confirmed within a week, and records of used email links once the
  links have expired.
Deletes go in batches so that a large purge never holds the database for long.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, select, update

from .. import service_state as state
from ..models import Comment, ServiceState, utcnow
from ..signals import retention_due
from . import subscriptions
from .email_links import LINK_LIFETIME
from .models import EmailLinkUse, SentNotification
from .schedule import schedule_next

log = logging.getLogger(__name__)

EVERY = 3600.0
BATCH = 1000
SENT_RETENTION = dt.timedelta(days=90)
STATS_KEPT = dt.timedelta(days=40)
EDIT_TOKEN_KEPT = dt.timedelta(days=1)


def _keep_counts(session, rows) -> None:
    """Remember per day what is purged, so the dashboard's 30 days still count it."""
    row = session.get(ServiceState, "purged_stats")
    stats = dict(row.value) if row else {}
    for created, akismet, reasons in rows:
        day = stats.setdefault(created.date().isoformat(), {"received": 0, "akismet": 0, "guards": 0})
        day["received"] += 1
        day["akismet"] += akismet in ("spam", "discard")
        day["guards"] += bool(reasons)
    oldest = (utcnow() - STATS_KEPT).date().isoformat()
    stats = {d: v for d, v in stats.items() if d >= oldest}
    if row is None:
        session.add(ServiceState(name="purged_stats", value=stats, updated=utcnow()))
    else:
        row.value, row.updated = stats, utcnow()


def _delete_batches(hub, where) -> int:
    total = 0
    while True:
        with hub.transaction() as s:
            rows = s.execute(select(Comment.id, Comment.created, Comment.akismet, Comment.guard_reasons)
                             .where(*where).order_by(Comment.id).limit(BATCH)).all()
            if not rows:
                return total
            _keep_counts(s, [(r.created, r.akismet, r.guard_reasons) for r in rows])
            s.execute(delete(Comment).where(Comment.id.in_([r.id for r in rows])))
            total += len(rows)


def run_retention(hub, now: dt.datetime | None = None) -> dict:
    """Apply every retention rule once; returns what was done, also kept in the service state."""
    now = now or utcnow()
    cfg = hub.config
    done = {
        "spam_deleted": _delete_batches(hub, [
            Comment.status == "spam", Comment.created < now - dt.timedelta(days=cfg.spam_retention_days)]),
        "discard_deleted": _delete_batches(hub, [
            Comment.status == "spam", Comment.akismet == "discard",
            Comment.created < now - dt.timedelta(hours=cfg.discard_retention_hours)]),
    }
    erased = 0
    while True:
        with hub.transaction() as s:
            ids = list(s.scalars(select(Comment.id).where(
                Comment.remote_addr.is_not(None), Comment.created < now - dt.timedelta(days=cfg.ip_retention_days))
                .order_by(Comment.id).limit(BATCH)))
            if not ids:
                break
            s.execute(update(Comment).where(Comment.id.in_(ids)).values(remote_addr=None))
            erased += len(ids)
    done["addresses_erased"] = erased
    for _receiver, counts in retention_due.send(hub, now=now):
        done.update(counts or {})
    with hub.transaction() as s:
        done["sent_records_deleted"] = s.execute(
            delete(SentNotification).where(SentNotification.sent_at < now - SENT_RETENTION)).rowcount
        token_cutoff = now - dt.timedelta(seconds=cfg.edit_window) - EDIT_TOKEN_KEPT
        done["edit_tokens_erased"] = s.execute(
            update(Comment).where(Comment.edit_token_hash.is_not(None), Comment.created < token_cutoff)
            .values(edit_token_hash=None, updated=Comment.updated)).rowcount
        done["unconfirmed_subscriptions_deleted"] = subscriptions.purge_unconfirmed(s, now)
        done["email_link_records_deleted"] = s.execute(
            delete(EmailLinkUse).where(EmailLinkUse.used_at < now - LINK_LIFETIME - dt.timedelta(days=1))).rowcount
        state.put(s, "retention", last_run=now.isoformat(), **done)
    if any(done.values()):
        log.info("retention: %s", ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in done.items()))
    return done


def retention_job(hub, payload: dict) -> None:
    with hub.transaction() as s:
        schedule_next(s, "retention", EVERY, after_slot=payload.get("slot", 0))
    run_retention(hub)
