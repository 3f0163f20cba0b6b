"""The background check of a new comment: Akismet's verdict plus the local guards decide its status.

Nothing is published without a verdict or a moderator. Faults leave the comment pending with
verdict `error` and retry with backoff (first within 30 s); after a day the comment is left to
the moderators as `unchecked`.

A commenter's edit (edit.py), and a webmention whose source changed (webmention/store.py), are
checked the same way, with Akismet told it is a recheck. A change to a published comment stays
published with its previous text (published_html) meanwhile: ham puts the new text live, spam
takes it off the site, and giving up sends it to the moderators.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select

from . import service_state as state
from .jobs import RetryLater, enqueue
from .models import Comment, utcnow
from .moderation.notify import forget_announcements
from .publish import request_publish
from .signals import comment_checked, comment_published
from .spam.akismet import AkismetKeyInvalid, AkismetUnavailable, comment_arguments, retry_delay
from .spam.guards import must_hold

log = logging.getLogger(__name__)

GIVE_UP_AFTER = dt.timedelta(days=1)

def request_check(session, comment: Comment, recheck: str | None = None) -> None:
    """Ask for the comment's check; `recheck` is Akismet's recheck_reason (e.g. "edit")."""
    # A plain insert: a new comment's check has nothing to coalesce with (and an upsert costs more).
    enqueue(session, "check", {"comment": comment.id, **({"recheck": recheck} if recheck else {})})


def awaiting_check(comment: Comment | None) -> bool:
    """A comment with no verdict yet: pending, or published with a change to check (a writer's
    edit, or a webmention whose source changed), whose approved text the site shows meanwhile."""
    if comment is None or comment.akismet not in ("unchecked", "error"):
        return False
    return comment.status == "pending" or (comment.status == "published" and comment.published_html is not None)


def edit_to_queue(session, comment: Comment) -> None:
    """An edit of a published comment that nothing vouches for: off the site, back to the moderators
    (who hear about it again)."""
    comment.status = "pending"
    comment.published_at = None
    comment.published_html = None
    request_publish(session, comment.thread)
    forget_announcements(session, comment.id)


def is_returning_commenter(session, comment: Comment) -> bool:
    """Whether the writer has an earlier published comment, by email (never an empty one, which
    many imported comments share). A webmention never counts: what it says of its author (h-card
    name, site, email) is the sender's to choose, and its source's host may be shared by many
    writers (Bridgy, a blog host), so a moderator approves each one."""
    if comment.is_webmention or not comment.email.strip():
        return False
    return session.scalar(
        select(Comment.id).where(func.lower(Comment.email) == comment.email.strip().lower(),
                                 Comment.status == "published", Comment.id != comment.id).limit(1)
    ) is not None


def settle(hub, session, comment: Comment, verdict: str) -> None:
    """Apply Akismet's verdict to a pending comment, or to the change of a published one."""
    comment.akismet = verdict
    if comment.status == "published":  # an edit or a changed source: the new text goes live, or the comment goes
        if verdict in ("spam", "discard"):
            comment.status = "spam"
            comment.published_at = None
        comment.published_html = None
        request_publish(session, comment.thread)
    elif verdict in ("spam", "discard"):
        comment.status = "spam"
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
        if not awaiting_check(comment):
            return  # deleted, or a moderator decided first
        if not hub.akismet.enabled:
            # Held as `unchecked`: the moderation UI and health answer say Akismet is off.
            if comment.published_html is not None:  # a change nothing vouched for
                edit_to_queue(s, comment)
            comment_checked.send(hub, session=s, comment=comment)
            return
        thread = hub.threads.get(comment.thread)
        args = comment_arguments(comment, thread, hub.article_url(comment.thread, absolute=True))
        if payload.get("recheck"):
            args["recheck_reason"] = payload["recheck"]
        ip = comment.remote_addr or ""
        checked_body = comment.body
    try:
        verdict = hub.akismet.check(ip, args)
    except AkismetUnavailable as exc:
        _failed(hub, payload["comment"], exc)
        return  # _failed raises RetryLater when another try is due
    with hub.transaction() as s:
        comment = s.get(Comment, payload["comment"])
        if not awaiting_check(comment) or comment.body != checked_body:
            return  # decided meanwhile, or edited meanwhile: the edit's own check settles it
        settle(hub, s, comment, verdict)
        if state.get(s, "akismet").get("state") != "ok":  # written as Akismet comes back, not per comment
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
        if not awaiting_check(comment):
            return
        comment.check_attempts += 1
        if utcnow() - comment.created > GIVE_UP_AFTER:
            comment.akismet = "unchecked"
            comment.check_due = None
            if comment.published_html is not None:  # a change nothing vouched for
                edit_to_queue(s, comment)
            log.warning("giving up checking comment %s after %d attempts: left to the moderators",
                        comment_id, comment.check_attempts)
            comment_checked.send(hub, session=s, comment=comment)
            return
        comment.akismet = "error"
        delay = retry_delay(exc, comment.check_attempts)
        comment.check_due = utcnow() + dt.timedelta(seconds=delay)
    raise RetryLater(delay, str(exc))
