"""The background check of a new comment: Akismet's verdict plus the local guards decide its status.

Nothing is published without a verdict or a moderator. Faults leave the comment pending with
verdict `error` and retry with backoff (first within 30 s); after a day the comment is left to
the moderators as `unchecked`. A published webmention whose source changed it is checked again
(webmention/store.py): spam takes it off the site.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select

from . import service_state as state
from .jobs import RetryLater, enqueue
from .models import Comment, utcnow
from .publish import request_publish
from .signals import comment_checked, comment_published
from .spam.akismet import AkismetKeyInvalid, AkismetUnavailable, comment_arguments, retry_delay
from .spam.guards import must_hold

log = logging.getLogger(__name__)

GIVE_UP_AFTER = dt.timedelta(days=1)

def request_check(session, comment: Comment) -> None:
    # A plain insert: a new comment's check has nothing to coalesce with (and an upsert costs more).
    enqueue(session, "check", {"comment": comment.id})


def is_returning_commenter(session, comment: Comment) -> bool:
    """Whether the writer has an earlier published comment: by email, or for a webmention by its
    author's site (never by an empty value, which many imported comments share)."""
    if comment.is_webmention:
        same = [Comment.kind == "webmention", Comment.url == comment.url] if comment.url else None
    else:
        same = [func.lower(Comment.email) == comment.email.strip().lower()] if comment.email.strip() else None
    if same is None:
        return False
    return bool(session.scalar(
        select(func.count(Comment.id)).where(*same, Comment.status == "published", Comment.id != comment.id)
    ))


def awaits_check(comment: Comment) -> bool:
    """Pending comments are checked; so is a published webmention whose source changed it."""
    return comment.status == "pending" or (comment.status == "published" and comment.is_webmention)


def settle(hub, session, comment: Comment, verdict: str) -> None:
    """Apply Akismet's verdict to a comment awaiting its check."""
    comment.akismet = verdict
    if verdict in ("spam", "discard"):
        if comment.status == "published":
            comment.published_at = None
            request_publish(session, comment.thread)
        comment.status = "spam"
    elif comment.status == "published":
        pass  # a changed webmention that is still fine stays on the site
    elif (hub.config.trust_returning and not must_hold(comment.guard_reasons)
          and is_returning_commenter(session, comment)):
        comment.status = "published"
        comment.published_at = utcnow()
        request_publish(session, comment.thread)
        comment_published.send(hub, session=session, comment=comment)
    comment.check_due = None
    comment_checked.send(hub, session=session, comment=comment)


def check_comment(hub, payload: dict) -> None:
    with hub.transaction() as s:
        comment = s.get(Comment, payload["comment"])
        if comment is None or not awaits_check(comment) or comment.akismet not in ("unchecked", "error"):
            return  # deleted, or a moderator decided first
        if not hub.akismet.enabled:
            # Held as `unchecked`: the moderation UI and health answer say Akismet is off.
            comment_checked.send(hub, session=s, comment=comment)
            return
        thread = hub.threads.get(comment.thread)
        args = comment_arguments(comment, thread, hub.article_url(comment.thread, absolute=True))
        ip = comment.remote_addr or ""
    try:
        verdict = hub.akismet.check(ip, args)
    except AkismetUnavailable as exc:
        _failed(hub, payload["comment"], exc)
        return  # _failed raises RetryLater when another try is due
    with hub.transaction() as s:
        comment = s.get(Comment, payload["comment"])
        if comment is None or not awaits_check(comment):
            return
        settle(hub, s, comment, verdict)
        state.put(s, "akismet", state="ok", last_ok=utcnow().isoformat(), last_error=None)


def _failed(hub, comment_id: int, exc: AkismetUnavailable) -> None:
    invalid = isinstance(exc, AkismetKeyInvalid)
    if invalid:
        log.error("AKISMET KEY INVALID: %s. Comments are held for moderation until it is fixed.", exc)
    else:
        log.warning("Akismet check of comment %s failed: %s", comment_id, exc)
    with hub.transaction() as s:
        state.put(s, "akismet", state="invalid_key" if invalid else "failing",
                  last_error=str(exc), last_error_at=utcnow().isoformat())
        comment = s.get(Comment, comment_id)
        if comment is None or not awaits_check(comment):
            return
        comment.check_attempts += 1
        if utcnow() - comment.created > GIVE_UP_AFTER:
            comment.akismet = "unchecked"
            comment.check_due = None
            log.warning("giving up checking comment %s after %d attempts: left to the moderators",
                        comment_id, comment.check_attempts)
            comment_checked.send(hub, session=s, comment=comment)
            return
        comment.akismet = "error"
        delay = retry_delay(exc, comment.check_attempts)
        comment.check_due = utcnow() + dt.timedelta(seconds=delay)
    raise RetryLater(delay, str(exc))
