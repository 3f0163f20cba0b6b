"""A commenter fixes their own words: edit or delete a comment with the token its 202 answer gave.

The token works for HUBBUB_EDIT_WINDOW after the comment was sent (15 minutes by default), and
only while nobody has replied and the thread is open. Only its SHA-256 is stored; the retention
job forgets it a day after the window (an expired token is then simply a wrong one).

An edit goes the way a new comment goes: rendered and sanitised again (markup.render), the local
guards, then the Akismet check in the background (check.py, with recheck_reason "edit").
- a pending comment stays pending and is checked again;
- a published comment keeps its previous text on the site (Comment.published_html) until the
  check passes, then the new text goes live through the fast publisher; if the guards hold it,
  Akismet is off, or Akismet calls it spam, it leaves the site for the queue (or spam);
- a spam comment stays spam (its writer sees what any writer sees: "pending").
Every edit and delete is in the audit log, by "commenter".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import delete, exists, select

from . import markup
from .check import edit_to_queue, request_check
from .i18n import _, ngettext
from .models import Comment, row_id, utcnow
from .moderation.actions import audit, deletion_detail
from .publish import request_publish
from .spam.guards import is_spam, must_hold

COMMENTER = "commenter"  # who the audit log names for the writer's own changes


class EditRefused(Exception):
    """The edit or delete cannot be done; `status` is the HTTP status that fits (403, 404, 409)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


@dataclass
class Outcome:
    id: int
    status: str  # what the writer is told: pending, published or deleted


def new_edit_token() -> tuple[str, str]:
    """A fresh token and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, token_hash(token)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def editable_until(hub, comment: Comment) -> dt.datetime:
    return comment.created + dt.timedelta(seconds=hub.config.edit_window)


def shown_status(comment: Comment) -> str:
    """What the writer may know: spam looks like pending (a spammer learns nothing)."""
    return "published" if comment.status == "published" else "pending"


def _window_text(hub) -> str:
    minutes = round(hub.config.edit_window / 60)
    if minutes:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    return ngettext("%(num)d second", "%(num)d seconds", int(hub.config.edit_window))


def _authorised(hub, session, slug: str, comment_id: int, token, *, editing: bool) -> Comment:
    comment = session.get(Comment, comment_id) if row_id(comment_id) else None
    if comment is None or comment.thread != slug:
        raise EditRefused(404, _("No comment %(id)s in this thread: it may have been deleted.", id=comment_id))
    if not (isinstance(token, str) and 0 < len(token) <= 200 and comment.edit_token_hash
            and hmac.compare_digest(comment.edit_token_hash, token_hash(token))):
        raise EditRefused(403, _("This edit token is wrong or has expired: only the browser that sent the comment "
                                 "can change it, for a short time after sending."))
    if editing:
        hub.threads.check_open(slug)  # ThreadClosed: 403
    if comment.status == "rejected":
        raise EditRefused(409, _("A moderator has removed this comment, so it can no longer be changed."))
    until = editable_until(hub, comment)
    if utcnow() >= until:
        raise EditRefused(409, _("Comments can be changed for %(window)s after sending; the time for this "
                                 "one ended at %(time)s UTC.", window=_window_text(hub), time=until.strftime("%H:%M")))
    replied = session.scalar(select(exists().where(Comment.parent_id == comment.id,
                                                   Comment.status.in_(("pending", "published")))))
    if replied:
        raise EditRefused(409, _("Someone has replied to this comment, so it can no longer be changed: "
                                 "write a new comment instead."))
    return comment


def edit(hub, slug: str, comment_id: int, token, body: str, client) -> Outcome:
    """Replace the text of the writer's comment (body already checked by submit.parse_body)."""
    html = markup.render(body)
    with hub.transaction() as s:
        comment = _authorised(hub, s, slug, comment_id, token, editing=True)
        if body == comment.body:
            return Outcome(comment.id, shown_status(comment))
        before = comment.status
        reasons = hub.guards.reasons(
            author=comment.author, email=comment.email, url=comment.url, body=body,
            remote_addr=client.remote_addr, user_agent=client.user_agent, honeypot="", links=html.count("<a "),
        )
        detail = {"via": "edit-token", "before": {"body": comment.body}}
        shown_html = comment.html if comment.published_html is None else comment.published_html
        comment.body, comment.html, comment.guard_reasons = body, html, reasons
        if before != "spam":
            after_edit(hub, s, comment, before, shown_html)
        audit(s, comment.id, COMMENTER, "edit", before, comment.status, detail)
        return Outcome(comment.id, shown_status(comment))


def after_edit(hub, session, comment: Comment, before: str, shown_html: str, *, to_queue: bool = False) -> None:
    """Where an edited comment goes (a writer's edit, or a webmention whose source changed): spam,
    the queue, or (published) live once its check passes. `to_queue`: the change is one the site
    cannot hold back until then (only the text can wait in published_html)."""
    comment.akismet = "unchecked"
    comment.check_attempts = 0
    comment.check_due = None
    if is_spam(comment.guard_reasons):
        comment.status = "spam"
        _unpublish(session, comment, before)
        return
    if before == "published" and (to_queue or must_hold(comment.guard_reasons) or not hub.akismet.enabled):
        edit_to_queue(session, comment)  # nothing can vouch for the new text: a moderator decides
    elif before == "published":
        comment.published_html = shown_html  # the site keeps this until the check passes
    request_check(session, comment, recheck="edit")


def _unpublish(session, comment: Comment, before: str) -> None:
    comment.published_html = None
    comment.published_at = None
    if before == "published":
        request_publish(session, comment.thread)


def delete_own(hub, slug: str, comment_id: int, token) -> Outcome:
    """Delete the writer's comment for good (within the window, before anyone replies)."""
    with hub.transaction() as s:
        comment = _authorised(hub, s, slug, comment_id, token, editing=False)
        before = comment.status
        audit(s, comment.id, COMMENTER, "delete", before, None, {"via": "edit-token", **deletion_detail(hub, comment)})
        s.expunge(comment)
        s.execute(delete(Comment).where(Comment.id == comment.id))
        if before == "published":
            request_publish(s, slug)
    return Outcome(comment_id, "deleted")
