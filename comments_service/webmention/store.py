"""A verified webmention becomes, changes or stops being a comment of kind "webmention".

New: a pending comment with the mention's facts, checked like any comment (local guards, then
Akismet in the "check" job). Changed (the source was sent again with other content): the new
content replaces the old and is checked as a commenter's edit is (edit.after_edit): a published
mention keeps its approved text on the site until Akismet calls the new one ham, and goes back to
the queue when Akismet is off, a guard holds it, or more than its text changed. Gone (410/404, or
the source no longer links the article): the comment is deleted and the thread republished,
unless a moderator marked it spam or rejected it (that decision stands when the source answers
again). Each change by a source is in the audit log, by "webmention".
"""

from __future__ import annotations

import re

from sqlalchemy import select

from ..check import request_check
from ..edit import after_edit
from ..models import Comment, row_id, utcnow
from ..moderation.actions import deletion_detail
from ..moderation.models import AuditEntry
from ..publish import request_publish
from ..spam.guards import is_spam
from .mf2 import Entry
from .models import Webmention

ACTOR = "webmention"  # who the audit log names for what a source did
_COMMENT_ANCHOR = re.compile(r"#comment-(\d{1,10})$")


def _parent(session, thread: str, entry: Entry, refers) -> int | None:
    """A reply to one of our comments (in-reply-to .../post/#comment-12) is threaded under it."""
    for url in entry.in_reply_to:
        match = _COMMENT_ANCHOR.search(url)
        if match and refers(url):
            parent = session.get(Comment, row_id(match.group(1))) if row_id(match.group(1)) else None
            if parent is not None and parent.thread == thread and parent.status == "published":
                return parent.id
    return None


def _values(session, wm: Webmention, entry: Entry, refers) -> dict:
    published = entry.published
    if published is not None and published > utcnow():
        published = None  # a date in the future is a mistake: the time we received it is shown
    return {
        "author": entry.author,
        "email": entry.author_email,
        "url": entry.author_url,
        "body": entry.text,
        "html": entry.html,
        "parent_id": _parent(session, wm.thread, entry, refers),
        "mention": {"type": entry.type, "source": wm.source, "target": wm.target, "url": entry.url,
                    "photo": entry.photo, "published": published.isoformat() if published else None},
    }


def _reasons(hub, wm: Webmention, values: dict) -> list[str]:
    return hub.guards.reasons(author=values["author"], email=values["email"], url=values["mention"]["source"],
                              body=values["body"], remote_addr=wm.remote_addr or "", user_agent=wm.user_agent,
                              honeypot="", links=values["html"].count("<a "))


def _audit(session, comment: Comment, action: str, before: str | None, after: str | None, detail: dict) -> None:
    session.add(AuditEntry(comment_id=comment.id, moderator=ACTOR, action=action, from_status=before,
                           to_status=after, at=utcnow(), detail={"via": "webmention", **detail}))


def save_mention(hub, session, wm: Webmention, entry: Entry, refers) -> str:
    """Create or update the mention's comment; returns "new", "updated" or "unchanged"."""
    values = _values(session, wm, entry, refers)
    reasons = _reasons(hub, wm, values)
    comment = session.get(Comment, wm.comment_id) if wm.comment_id else None
    if comment is None:
        comment = Comment(thread=wm.thread, created=utcnow(), remote_addr=wm.remote_addr, user_agent=wm.user_agent,
                          referrer="", status="spam" if is_spam(reasons) else "pending", akismet="unchecked",
                          guard_reasons=reasons, notify=False, source="webmention", kind="webmention", **values)
        session.add(comment)
        session.flush()
        wm.comment_id = comment.id
        if comment.status == "pending":
            request_check(session, comment)
        return "new"
    if all(getattr(comment, name) == value for name, value in values.items()):
        return "unchanged"
    before = comment.status
    detail = {"source": wm.source, "before": {"author": comment.author, "body": comment.body[:2000]}}
    shown_html = comment.html if comment.published_html is None else comment.published_html
    # Only the text can stay as approved while the new one is checked: a new author, link, photo,
    # type or place in the thread would be on the site unchecked.
    shown_changed = any(getattr(comment, name) != values[name] for name in ("author", "url", "parent_id", "mention"))
    for name, value in values.items():
        setattr(comment, name, value)
    comment.guard_reasons = reasons
    if before not in ("rejected", "spam"):  # else a moderator's decision stands; the new text is kept for them
        after_edit(hub, session, comment, before, shown_html, to_queue=shown_changed)
    _audit(session, comment, "edit", before, comment.status, detail)
    return "updated"


def remove_mention(hub, session, wm: Webmention, reason: str) -> bool:
    """Delete the mention's comment (its replies stay, shown at the top level); True if there was one.

    One marked spam or rejected is kept (it is not on the site): deleted, it would come back as a
    new mention, and to the moderators, when its source answers again."""
    comment = session.get(Comment, wm.comment_id) if wm.comment_id else None
    if comment is not None and comment.status in ("spam", "rejected"):
        return True  # "removed", as for any other: a spammer learns nothing
    wm.comment_id = None
    if comment is None:
        return False
    # As for a moderator's deletion: what `privacy erase` needs to find the entry once the comment is gone.
    _audit(session, comment, "delete", comment.status, None,
           {**deletion_detail(hub, comment), "source": wm.source, "reason": reason})
    republish = comment.status == "published" or session.scalar(
        select(Comment.id).where(Comment.parent_id == comment.id, Comment.status == "published").limit(1))
    session.delete(comment)
    if republish:
        request_publish(session, wm.thread)
    return True
