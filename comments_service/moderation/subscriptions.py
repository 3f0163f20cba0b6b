"""Per-thread subscriptions: "Notify me of new comments on this post", with confirmed opt-in.

1. submit: the ticked box keeps (thread, address) as an unconfirmed subscription naming the comment.
2. comment_checked: once that comment's check has passed (not spam), job "subscription-confirm"
   sends the one confirmation email. Nothing else ever goes to an address that has not confirmed,
   and a second request for the same thread sends no second confirmation while the first waits.
3. The reader confirms: GET /notifications/confirm/<token> shows a button (mail scanners follow
   links), its POST confirms (unsubscribe.py).
4. comment_published: job "notify-subscribers" sends one email per new published comment to each
   confirmed subscriber of the thread (not to its writer, nor to whom the reply email already goes),
   each with a one-click unsubscribe link and List-Unsubscribe headers (RFC 8058).
Unconfirmed subscriptions, and their links, expire after CONFIRM_FOR. `hubbub privacy` exports
and erases subscriptions with everything else.
"""

from __future__ import annotations

import datetime as dt
import logging
import textwrap

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hubbub.core.identity import normalise_email

from ..i18n import _
from ..jobs import RetryLater, backoff, enqueue
from ..models import Comment, row_id, utcnow
from .models import SentNotification, Subscription
from .notify import (
    Mailer,
    MailError,
    article_title,
    enabled,
    message,
    recipient_key,
    service_url,
    unsubscribe_serializer,
)
from .schedule import attempts

log = logging.getLogger(__name__)

CONFIRM_FOR = dt.timedelta(days=7)
KIND = "thread"  # SentNotification kind of the per-comment emails


# Links ------------------------------------------------------------------------------------------
def _confirm_serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="hubbub-subscription-confirm")


def _claim(hub, sub: Subscription) -> dict:
    # The address's keyed hash too: a row id reused after a deletion never answers an old link.
    return {"s": sub.id, "h": recipient_key(hub, sub.email)[:16]}


def confirm_url(hub, sub: Subscription) -> str:
    return f"{service_url(hub)}/notifications/confirm/{_confirm_serializer(hub.config.secret_key).dumps(_claim(hub, sub))}"


def unsubscribe_url(hub, sub: Subscription) -> str:
    token = unsubscribe_serializer(hub.config.secret_key).dumps(_claim(hub, sub))
    return f"{service_url(hub)}/notifications/unsubscribe/{token}"


def find(hub, session, claim) -> Subscription | None:
    """The subscription a link's claim names, if it still exists for the same address."""
    if not (isinstance(claim, dict) and isinstance(claim.get("s"), int) and isinstance(claim.get("h"), str)):
        return None
    sub = session.get(Subscription, claim["s"]) if row_id(claim["s"]) else None
    if sub is None or recipient_key(hub, sub.email)[:16] != claim["h"]:
        return None
    return sub


def read_confirm_token(hub, token: str) -> tuple[str, dict | None]:
    """("ok", claim), ("expired", None) or ("invalid", None)."""
    if len(token) > 500:
        return "invalid", None
    try:
        return "ok", _confirm_serializer(hub.config.secret_key).loads(token, max_age=int(CONFIRM_FOR.total_seconds()))
    except SignatureExpired:
        return "expired", None
    except BadSignature:
        return "invalid", None


# Steps ------------------------------------------------------------------------------------------
def request(session, comment: Comment) -> None:
    """The comment's writer ticked the box: remember it, unconfirmed, until the comment is checked."""
    email = normalise_email(comment.email)
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # Two comments sent at once (a double click) must not both insert: the unique key decides.
    session.execute(insert(Subscription).values(thread=comment.thread, email=email, comment_id=comment.id,
                                                created=utcnow())
                    .on_conflict_do_nothing(index_elements=["thread", "email"]))
    # An earlier request whose comment never passed its check: this comment may ask instead.
    session.execute(update(Subscription).where(
        Subscription.thread == comment.thread, Subscription.email == email,
        Subscription.confirmed_at.is_(None), Subscription.confirm_sent_at.is_(None)).values(comment_id=comment.id))


def comment_checked(hub, session, comment: Comment) -> None:
    """Receiver of signals.comment_checked: a comment that is not spam may ask for its confirmation."""
    if comment.status == "spam" or not enabled(hub):
        return
    sub = session.scalar(select(Subscription).where(
        Subscription.comment_id == comment.id, Subscription.thread == comment.thread,
        Subscription.confirmed_at.is_(None), Subscription.confirm_sent_at.is_(None)))
    if sub is not None:
        enqueue(session, "subscription-confirm", {"subscription": sub.id}, key=f"confirm:{sub.id}")


def comment_published(hub, session, comment: Comment) -> None:
    """Receiver of signals.comment_published: the thread's subscribers hear about it."""
    if enabled(hub):
        enqueue(session, "notify-subscribers", {"comment": comment.id}, key=f"subscribers:{comment.id}")


def confirm(session, sub: Subscription) -> bool:
    """Confirm; False when it already was."""
    if sub.confirmed_at is not None:
        return False
    sub.confirmed_at = utcnow()
    return True


def unsubscribe(session, sub: Subscription) -> None:
    session.delete(sub)


def purge_unconfirmed(session, now: dt.datetime) -> int:
    """Forget requests nobody confirmed in time (retention)."""
    return session.execute(delete(Subscription).where(Subscription.confirmed_at.is_(None),
                                                      Subscription.created < now - CONFIRM_FOR)).rowcount


# Emails -----------------------------------------------------------------------------------------
def send_confirmation(hub, payload: dict) -> None:
    """Job "subscription-confirm": the one email an unconfirmed address ever gets."""
    if not enabled(hub):
        return
    with hub.sessions() as s:
        sub = s.get(Subscription, payload["subscription"])
        if sub is None or sub.confirmed_at is not None or sub.confirm_sent_at is not None:
            return
        title = article_title(hub, sub.thread)
        body = _("Hello,\n\nsomeone, we hope you, asked for an email about every new comment on “%(title)s”:\n\n"
                 "  %(article)s\n\nTo start these emails, confirm here (the link works for 7 days):\n\n  %(link)s\n\n"
                 "If it was not you, ignore this email: nothing more will come.\n",
                 title=title, article=hub.article_url(sub.thread, absolute=True), link=confirm_url(hub, sub))
        msg = message(hub, sub.email, _("Confirm: emails about new comments on “%(title)s”", title=title), body)
    try:
        with Mailer(hub) as mailer:
            mailer.send(msg)
    except MailError as exc:
        key = f"confirm:{payload['subscription']}"
        raise RetryLater(backoff(attempts(hub, "subscription-confirm", key)), str(exc)) from exc
    with hub.transaction() as s:
        sub = s.get(Subscription, payload["subscription"])
        if sub is not None:
            sub.confirm_sent_at = utcnow()
    log.info("sent the confirmation of subscription %s", payload["subscription"])


def _recipients(hub, session, comment: Comment) -> list[Subscription]:
    """Confirmed subscribers who are not the writer, nor the replied-to writer who gets a reply email."""
    skip = {normalise_email(comment.email)}
    parent = session.get(Comment, comment.parent_id) if comment.parent_id else None
    if parent is not None and parent.notify:
        skip.add(normalise_email(parent.email))
    subs = session.scalars(select(Subscription).where(Subscription.thread == comment.thread,
                                                      Subscription.confirmed_at.is_not(None)).order_by(Subscription.id))
    return [sub for sub in subs if sub.email not in skip]


def _new_comment_mail(hub, comment: Comment, sub: Subscription):
    title = article_title(hub, comment.thread)
    link = f"{hub.article_url(comment.thread, absolute=True)}#comment-{comment.id}"
    stop = unsubscribe_url(hub, sub)
    excerpt = textwrap.shorten(" ".join(comment.body.split()), 500, placeholder=" …")
    body = _("Hello,\n\n%(name)s commented on “%(title)s”:\n\n%(excerpt)s\n\n"
             "Read it and the conversation here:\n\n  %(link)s\n\n"
             "You get this email because you asked to hear about new comments on this post.\n"
             "Stop them with one click: %(stop)s\n", name=comment.author, title=title,
             excerpt=textwrap.indent(textwrap.fill(excerpt, 72), "  "), link=link, stop=stop)
    return message(hub, sub.email, _("New comment on “%(title)s”", title=title), body, unsubscribe=stop)


def notify_subscribers(hub, payload: dict) -> None:
    """Job "notify-subscribers": one email per confirmed subscriber, each sent once."""
    if not enabled(hub):
        return
    with hub.sessions() as s:
        comment = s.get(Comment, payload["comment"])
        if comment is None or comment.status != "published":
            return
        sent = set(s.scalars(select(SentNotification.recipient).where(
            SentNotification.kind == KIND, SentNotification.comment_id == comment.id)))
        todo = [(recipient_key(hub, sub.email), _new_comment_mail(hub, comment, sub))
                for sub in _recipients(hub, s, comment)]
    todo = [(key, msg) for key, msg in todo if key not in sent]
    try:
        with Mailer(hub) as mailer:
            for key, msg in todo:
                mailer.send(msg)
                with hub.transaction() as s:  # recorded one by one: a retry sends only the rest
                    s.add(SentNotification(kind=KIND, comment_id=payload["comment"], recipient=key, sent_at=utcnow()))
    except MailError as exc:
        key = f"subscribers:{payload['comment']}"
        raise RetryLater(backoff(attempts(hub, "notify-subscribers", key)), str(exc)) from exc
    if todo:
        log.info("told %d subscriber(s) about comment %s", len(todo), payload["comment"])


# Personal data --------------------------------------------------------------------------------------
def personal_data_exported(hub, session, email: str):
    subs = session.scalars(select(Subscription).where(Subscription.email == email).order_by(Subscription.id))
    return "subscriptions", [{"thread": sub.thread, "created": sub.created.isoformat(),
                              "confirmed": sub.confirmed_at.isoformat() if sub.confirmed_at else None}
                             for sub in subs]


def personal_data_erased(hub, session, email: str, mode: str) -> int:
    return session.execute(delete(Subscription).where(Subscription.email == email)).rowcount
