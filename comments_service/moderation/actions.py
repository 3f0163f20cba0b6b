"""The one place that changes a comment because a moderator said so (UI, API and bulk alike).

Each action writes an audit entry, asks for a publish when what the site shows changes, tells
Akismet about spam/not-spam decisions (in the background), and lets commenters know when their
comment goes live or gets a reply.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, exists, select

from hubbub.core.weburl import is_web_address

from .. import markup
from ..i18n import _
from ..models import Comment, row_id, utcnow
from ..publish import request_publish
from ..signals import comment_published
from ..submit import LIMITS
from . import feedback
from .models import AuditEntry
from .scope import may_moderate

ACTIONS = ("approve", "reject", "spam", "ham", "delete", "edit")
TARGET = {"approve": "published", "reject": "rejected", "spam": "spam"}


class ActionError(Exception):
    """An action that cannot be applied; `status` is the HTTP status that fits."""

    def __init__(self, status: int, message: str, fields: dict | None = None):
        super().__init__(message)
        self.status = status
        self.fields = fields or {}


@dataclass
class Outcome:
    id: int
    status: str  # the comment's status afterwards, or "deleted"
    changed: bool
    from_status: str | None = None


def _edit_values(comment: Comment, edit: dict) -> dict:
    """Checked new values for the editable fields (only those that change)."""
    errors, values = {}, {}
    for name in ("body", "author", "url"):
        if name not in edit or edit[name] is None:
            continue
        value = edit[name]
        if not isinstance(value, str):
            errors[name] = "must be text"
            continue
        value = value.replace("\r\n", "\n").strip()
        if name == "author":
            value = " ".join(value.split())  # one line, as submit.parse makes it
        if name in ("body", "author") and not value:
            errors[name] = _("must not be empty")
        elif len(value) > LIMITS[name]:
            errors[name] = _("too long: at most %(limit)s characters", limit=LIMITS[name])
        elif name == "url" and value and not is_web_address(value):
            errors[name] = _("must be an http:// or https:// address, or empty")
        elif "\x00" in value:
            errors[name] = _("contains a NUL character")
        elif not value.isprintable() and not _encodable(value):
            errors[name] = _("is not valid Unicode text (a lone surrogate)")
        elif value != getattr(comment, name):
            values[name] = value
    if errors:
        raise ActionError(400, _("The edit has errors: fix the fields named."), errors)
    return values


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _has_published_replies(session, comment: Comment) -> bool:
    return bool(session.scalar(select(exists().where(Comment.parent_id == comment.id,
                                                     Comment.status == "published"))))


def apply(hub, session, comment: Comment, action: str, moderator, *, edit: dict | None = None,
          via: str = "ui") -> Outcome:
    """Apply one action inside the caller's transaction."""
    if action not in ACTIONS:
        raise ActionError(404, _("Unknown action %(action)s: use one of %(actions)s.", action=repr(action),
                                  actions=", ".join(ACTIONS)))
    if not may_moderate(hub, moderator, comment):
        raise ActionError(404, _("No comment %(id)s among those you moderate.", id=comment.id))
    before = comment.status
    detail: dict = {"via": via}

    if action == "delete":
        republish = before == "published" or _has_published_replies(session, comment)
        audit(session, comment.id, moderator, action, before, None, {**detail, **deletion_detail(hub, comment)})
        thread = comment.thread
        session.expunge(comment)
        session.execute(delete(Comment).where(Comment.id == comment.id))
        if republish:
            request_publish(session, thread)
        return Outcome(comment.id, "deleted", True, before)

    if action == "edit":
        values = _edit_values(comment, edit or {})
        if not values:
            return Outcome(comment.id, before, False, before)
        detail["before"] = {name: getattr(comment, name) for name in values}
        for name, value in values.items():
            setattr(comment, name, value)
        if "body" in values:
            comment.html = markup.render(comment.body)
        comment.published_html = None  # a commenter's edit awaiting its check: the moderator's word is final
        audit(session, comment.id, moderator, action, before, before, detail)
        if before == "published":
            request_publish(session, comment.thread)
        return Outcome(comment.id, before, True, before)

    if action == "ham":
        after = "pending" if before == "spam" else before
        tell_akismet = before == "spam" or comment.akismet in ("spam", "discard")
        if after == before and not tell_akismet:
            return Outcome(comment.id, before, False, before)
    else:
        after = TARGET[action]
        if after == before:
            return Outcome(comment.id, before, False, before)

    comment.status = after
    comment.published_html = None
    if after == "published":
        comment.published_at = utcnow()
    elif before == "published":
        comment.published_at = None
    audit(session, comment.id, moderator, action, before, after, detail)

    if action == "spam":
        feedback.request_feedback(hub, session, comment, spam=True)
    elif action == "ham" or (action == "approve" and before == "spam"):
        feedback.request_feedback(hub, session, comment, spam=False)
    if (before == "published") != (after == "published"):
        request_publish(session, comment.thread)
    if after == "published":
        comment_published.send(hub, session=session, comment=comment)
    return Outcome(comment.id, after, True, before)


def audit(session, comment_id: int, moderator, action: str, before, after, detail: dict) -> None:
    """Record an action in the audit log (`moderator` is a Moderator, or a name such as "commenter")."""
    who = moderator if isinstance(moderator, str) else moderator.email
    session.add(AuditEntry(comment_id=comment_id, moderator=who, action=action,
                           from_status=before, to_status=after, at=utcnow(), detail=detail))


def deletion_detail(hub, comment: Comment) -> dict:
    """What the audit log keeps of a deleted comment; `person` (a keyed hash of the address, not the
    address) lets `hubbub privacy erase` find its entries once the comment is gone."""
    from ..privacy import person_key

    detail = {"author": comment.author, "thread": comment.thread, "excerpt": comment.body[:200]}
    if comment.email:
        detail["person"] = person_key(hub, comment.email)
    return detail


def apply_many(hub, session, ids, action: str, moderator, via: str = "ui-bulk") -> list[Outcome]:
    """One action on many comments in one transaction; ids not found or not theirs are skipped."""
    if action not in ACTIONS or action == "edit":
        raise ActionError(404, _("Unknown bulk action %(action)s: use approve, reject, spam, ham or delete.",
                                  action=repr(action)))
    wanted = sorted({row_id(i) for i in ids} - {None})
    outcomes = []
    if not wanted:
        return outcomes
    found = session.scalars(select(Comment).where(Comment.id.in_(wanted)).order_by(Comment.id)).all()
    for comment in found:
        if may_moderate(hub, moderator, comment):
            outcomes.append(apply(hub, session, comment, action, moderator, via=via))
    return outcomes
