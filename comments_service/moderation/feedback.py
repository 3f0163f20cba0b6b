"""Akismet feedback: tell Akismet what moderators decided (submit-spam / submit-ham).

The moderator never waits: a decision commits a job, and the job calls Akismet with the comment
as it was originally submitted (before any moderator edit), retrying with backoff on faults.
The arguments travel in the job itself, so a comment deleted meanwhile is still reported.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, select

from hubbub.core.identity import normalise_email

from ..jobs import RetryLater, enqueue
from ..models import Comment, Job, utcnow
from ..spam.akismet import AkismetUnavailable, comment_arguments, retry_delay
from .models import AuditEntry
from .schedule import attempts

log = logging.getLogger(__name__)

KIND = "akismet-feedback"
GIVE_UP_AFTER = dt.timedelta(days=3)


def original_arguments(hub, session, comment: Comment) -> dict:
    """Akismet's arguments for the comment as the commenter sent it (edits undone)."""
    args = comment_arguments(comment, hub.threads.get(comment.thread), hub.article_url(comment.thread, absolute=True))
    first_edit = session.scalar(
        select(AuditEntry).where(AuditEntry.comment_id == comment.id, AuditEntry.action == "edit")
        .order_by(AuditEntry.at, AuditEntry.id).limit(1)
    )
    before = (first_edit.detail or {}).get("before", {}) if first_edit else {}
    for field, arg in (("body", "comment_content"), ("author", "comment_author"), ("url", "comment_author_url")):
        if field in before:
            args[arg] = before[field]
    return args


def request_feedback(hub, session, comment: Comment, spam: bool) -> None:
    """Queue submit-spam or submit-ham for this comment (nothing when Akismet is off)."""
    if not hub.akismet.enabled:
        return
    payload = {"comment": comment.id, "spam": spam, "ip": comment.remote_addr or "",
               "args": original_arguments(hub, session, comment), "requested": utcnow().isoformat()}
    # One job per comment: a quick spam-then-ham sends only the final word.
    enqueue(session, KIND, payload, key=f"feedback:{comment.id}")


def send_feedback(hub, payload: dict) -> None:
    if not hub.akismet.enabled:
        return
    what = "submit-spam" if payload["spam"] else "submit-ham"
    try:
        hub.akismet.submit(payload["ip"], payload["args"], spam=payload["spam"])
    except AkismetUnavailable as exc:
        requested = dt.datetime.fromisoformat(payload["requested"])
        if utcnow() - requested > GIVE_UP_AFTER:
            log.warning("giving up %s for comment %s after %s: %s", what, payload["comment"], GIVE_UP_AFTER, exc)
            return
        delay = retry_delay(exc, attempts(hub, KIND, f"feedback:{payload['comment']}"))
        log.warning("%s for comment %s failed (%s); retrying in %.0f s", what, payload["comment"], exc, delay)
        raise RetryLater(delay, f"{what}: {exc}") from exc
    log.info("%s sent for comment %s", what, payload["comment"])


def personal_data_erased(hub, session, email: str, mode: str) -> int:
    """Receiver of signals.personal_data_erased: a waiting feedback job carries a copy of the
    comment (name, address, IP, text); after an erasure nothing of the person goes to Akismet."""
    doomed = [job.id for job in session.scalars(select(Job).where(Job.kind == KIND))
              if normalise_email(str(((job.payload or {}).get("args") or {}).get("comment_author_email") or ""))
              == email]
    if doomed:
        session.execute(delete(Job).where(Job.id.in_(doomed)))
    return len(doomed)
