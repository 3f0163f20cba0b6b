"""Accept a comment: validate, render and sanitise once, store, and ask for its check.

Only what must happen before answering happens here; the answer does not wait for Akismet.
The comment and its check job are committed in one transaction, so neither is ever lost alone,
and are on stable storage before the answer (concurrent comments share the commit).
The writer gets an edit token (edit.py) with the answer; a ticked "notify me of new comments on
this post" becomes a subscription that waits for its confirmation (moderation/subscriptions.py).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace

from hubbub.core.weburl import is_web_address

from . import markup
from .check import request_check
from .i18n import _
from .models import Comment, insert_row, utcnow
from .moderation import subscriptions
from .spam.guards import HONEYPOT_FIELD, is_spam

LIMITS = {"author": 100, "email": 254, "url": 200, "body": 10_000}
# What the reply form and the JSON API may send; anything else is a mistake worth reporting.
KNOWN_FIELDS = {"author", "email", "url", "body", "parent", "notify", "subscribe", HONEYPOT_FIELD}
_YES = (True, "1", "on", "true", "yes", 1)
# One mailbox: none of the characters that make a To: header a list of addresses (",", ";"), a
# group (":"), a comment ("(...)"), a quoted or escaped part, or a domain literal ("[...]").
_NOT_IN_EMAIL = r"@\s<>\"(),:;\[\]\\"
_EMAIL = re.compile(rf"^[^{_NOT_IN_EMAIL}]+@[^{_NOT_IN_EMAIL}]+\.[^{_NOT_IN_EMAIL}.]{{2,}}$")


class InvalidSubmission(Exception):
    def __init__(self, fields: dict[str, str], message: str | None = None):
        super().__init__(message or _("The comment has errors: fix the fields named."))
        self.fields = fields


@dataclass
class Submission:
    author: str
    email: str
    url: str
    body: str
    parent: int | None
    honeypot: str = ""
    notify: bool = False
    subscribe: bool = False


@dataclass
class Accepted:
    """A stored comment, and what only its writer gets: the edit token and how long it works.

    `comment` holds the stored row's columns and its id: reading them is all that follows, and
    building an ORM Comment cost as much as the INSERT."""

    comment: SimpleNamespace
    edit_token: str | None
    editable_until: dt.datetime | None


@dataclass
class Client:
    remote_addr: str
    user_agent: str = ""
    referrer: str = ""


def _text(data: Mapping, name: str, errors: dict) -> str:
    value = data.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        errors[name] = _("must be text")
        return ""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, e.g. from the JSON escape "\ud800"
        errors[name] = _("contains characters that are not valid Unicode text")
        return ""
    if name == "body":  # a browser sends a textarea's line breaks as CRLF but counts them once
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    if len(value) > LIMITS.get(name, len(value)):
        errors[name] = _("Too long: at most %(limit)s characters.", limit=LIMITS[name])
        return ""
    return value.strip()


def parse(data: Mapping) -> Submission:
    """Check a submission's fields; raises InvalidSubmission with a message per bad field."""
    errors: dict[str, str] = {}
    unknown = sorted(set(data) - KNOWN_FIELDS)
    for name in unknown:
        errors[name] = _("unknown field: send only author, email, url, body, parent, notify and subscribe")
    author, email, url, body = (_text(data, n, errors) for n in ("author", "email", "url", "body"))
    author = " ".join(author.split())  # a name is one line (it goes into email subjects): breaks become spaces
    if not author and "author" not in errors:
        errors["author"] = _("Please enter your name.")
    if not body and "body" not in errors:
        errors["body"] = _("Please write a comment.")
    if not email and "email" not in errors:
        errors["email"] = _("Please enter your email address (it is never published).")
    elif email and not (_EMAIL.match(email) and email.isprintable()):
        errors["email"] = _("This does not look like an email address: use name@example.org.")
    if url and "url" not in errors and not is_web_address(url):
        errors["url"] = _("The website must be an http:// or https:// address, or left empty.")
    for name, value in (("author", author), ("email", email), ("url", url), ("body", body)):
        if "\x00" in value:
            errors[name] = _("Contains a NUL character.")
    parent = _parent(data.get("parent"), errors)
    notify = data.get("notify") in _YES
    subscribe = data.get("subscribe") in _YES
    honeypot = data.get(HONEYPOT_FIELD) or ""
    if errors:
        raise InvalidSubmission(errors)
    return Submission(author, email, url, body, parent, honeypot if isinstance(honeypot, str) else "x", notify,
                      subscribe)


def parse_body(data: Mapping) -> str:
    """The new text of an edit, checked as a new comment's text is."""
    errors: dict[str, str] = {}
    body = _text(data, "body", errors)
    if not body and "body" not in errors:
        errors["body"] = _("Please write a comment.")
    elif "\x00" in body:
        errors["body"] = _("Contains a NUL character.")
    if errors:
        raise InvalidSubmission(errors, _("The edit has errors: fix the fields named."))
    return body


def _parent(raw, errors: dict) -> int | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        errors["parent"] = _("must be the id of a published comment")
        return None
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: Infinity, 1e400
        errors["parent"] = _("must be the id of a published comment")
        return None
    if not 0 < value < 2**31:
        errors["parent"] = _("no such comment in this thread")
        return None
    return value


def accept(hub, slug: str, sub: Submission, client: Client, source: str = "web") -> Accepted:
    """Store the comment and its check in one transaction, on stable storage before this returns
    (so a 202 is never lost). Raises InvalidSubmission for a bad parent, ThreadClosed when the
    article takes no more comments.

    Comments sent at the same time share one commit (group_commit.py). The check does not run
    here: its job commits with the comment, and the commit wakes the job runner (the service's job
    thread, or `hubbub worker` through Redis), which asks Akismet while the reader already has the
    202 (check.check_comment).
    """
    from .edit import new_edit_token  # edit.py uses the moderation actions, which use this module

    hub.threads.check_open(slug)
    html = markup.render(sub.body)
    token, token_hash = new_edit_token() if hub.config.edit_window > 0 else (None, None)
    reasons = hub.guards.reasons(
        author=sub.author, email=sub.email, url=sub.url, body=sub.body, remote_addr=client.remote_addr,
        user_agent=client.user_agent, honeypot=sub.honeypot, links=html.count("<a "),
    )
    row = {
        "thread": slug, "parent_id": sub.parent, "author": sub.author, "email": sub.email, "url": sub.url,
        "body": sub.body, "html": html, "created": utcnow(), "remote_addr": client.remote_addr,
        "user_agent": client.user_agent[:500], "referrer": client.referrer[:500],
        "status": "spam" if is_spam(reasons) else "pending",  # spam caught locally: no need to ask Akismet
        "akismet": "unchecked", "guard_reasons": reasons, "notify": sub.notify, "source": source,
        "edit_token_hash": token_hash,
    }

    def store(s) -> SimpleNamespace:
        if sub.parent is not None:
            parent = s.get(Comment, sub.parent)
            if parent is None or parent.thread != slug or parent.status != "published":
                raise InvalidSubmission({"parent": _("no such published comment in this thread: reply to one that is shown")})
        comment = SimpleNamespace(id=insert_row(s, Comment, row), **row)
        if comment.status == "pending":
            request_check(s, comment)  # runs in the background as soon as this commit lands
        if sub.subscribe:
            subscriptions.request(s, comment)
        return comment

    comment = hub.group_commit.run(store)
    until = comment.created + dt.timedelta(seconds=hub.config.edit_window) if token else None
    return Accepted(comment, token, until)
