"""Emails: moderators hear about comments awaiting them; commenters hear about their comment.

- Moderators (mode per moderator): "immediate" gets one email per batch of newly waiting
  comments, "digest" one summary every HUBBUB_DIGEST_HOURS, "off" nothing. Only comments a check
  has settled are announced; while Akismet is failing they are held back (a spam wave must not
  flood inboxes) and go out once Akismet answers again, or once a comment has waited HOLD_LIMIT.
- Commenters who ticked "Notify me of replies" get an email when their comment is published and
  when someone replies to it, each with a signed one-click unsubscribe link (RFC 8058 headers).

Sending happens in jobs, never in a request. Every email sent is recorded, so a retry after a
fault never sends one twice. No SMTP host configured = no emails.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import hashlib
import hmac
import logging
import smtplib
import ssl
import textwrap
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import delete, func, select, update

from hubbub.core.feeds import plain_title

from .. import service_state as state
from ..i18n import _, ngettext
from ..jobs import RetryLater, backoff, enqueue
from ..models import Comment, utcnow
from ..spam.akismet import AkismetUnavailable
from . import email_links
from .models import Moderator, SentNotification
from .schedule import attempts, schedule_next
from .scope import restrict

log = logging.getLogger(__name__)

HOLD_LIMIT = dt.timedelta(days=1)  # the check gives up after a day too: then a person must look
HOLD_RETRY = 300.0
PROBE_AFTER = dt.timedelta(minutes=2)
LOOKBACK = dt.timedelta(days=14)  # older pending comments were announced already, or never will be
DIGEST_EVERY = 3600.0
MAX_LISTED = 20


class MailError(Exception):
    """The SMTP server could not take the message; retried later."""


# Addresses and links ----------------------------------------------------------------------------
def enabled(hub) -> bool:
    return bool(hub.config.smtp_host)


def recipient_key(hub, email: str) -> str:
    """A keyed hash of an address: recognisable in the sent-emails table, not readable."""
    return hmac.new(hub.config.secret_key.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def service_url(hub) -> str:
    """Where the service answers, for links in emails (HUBBUB_PUBLIC_URL, else the site's)."""
    if hub.config.public_url:
        return hub.config.public_url
    comments_url = hub.threads.site().get("comments_url") or ""
    if comments_url.startswith(("http://", "https://")):
        return comments_url.rstrip("/")
    return hub.site_url()


def article_title(hub, slug: str) -> str:
    """The article's title as text: the manifest has it as HTML ("Tips &amp; tricks"), which the
    moderation pages would escape again and emails would show as it is."""
    title = (hub.threads.get(slug) or {}).get("title")
    return plain_title(title) if title else slug


def unsubscribe_serializer(secret: str) -> URLSafeSerializer:
    """Signs the one-click unsubscribe links: {"c": comment id} stops the emails about one's own
    comments, {"s": subscription id, "h": ...} one thread subscription (subscriptions.py)."""
    return URLSafeSerializer(secret, salt="hubbub-unsubscribe")


def unsubscribe_token(hub, comment_id: int) -> str:
    return unsubscribe_serializer(hub.config.secret_key).dumps({"c": comment_id})


def read_unsubscribe_claim(secret: str, token: str) -> dict | None:
    """What a signed unsubscribe link says, or None for a link that was not made here."""
    try:
        data = unsubscribe_serializer(secret).loads(token)
    except BadSignature:
        return None
    return data if isinstance(data, dict) else None


def read_unsubscribe_token(secret: str, token: str) -> int | None:
    """The comment id of a link that stops the emails about one's own comments."""
    data = read_unsubscribe_claim(secret, token) or {}
    return data.get("c") if isinstance(data.get("c"), int) else None


def unsubscribe_url(hub, comment_id: int) -> str:
    return f"{service_url(hub)}/notifications/unsubscribe/{unsubscribe_token(hub, comment_id)}"


def unsubscribe(session, comment_id: int) -> int:
    """Stop every email to the address that wrote this comment; the number of comments changed."""
    comment = session.get(Comment, comment_id)
    if comment is None:
        return 0
    return session.execute(
        update(Comment).where(func.lower(Comment.email) == comment.email.strip().lower(), Comment.notify.is_(True))
        .values(notify=False)
    ).rowcount


def forget_announcements(session, comment_id: int) -> None:
    """A comment back in the queue (an edit) is news again for the moderators."""
    session.execute(delete(SentNotification).where(SentNotification.comment_id == comment_id,
                                                   SentNotification.kind.in_(("pending", "digest"))))


# Sending ---------------------------------------------------------------------------------------
# Headers are never folded or encoded for length (RFC 5322 allows 998 characters): a long
# List-Unsubscribe address must reach mail clients as it is, not as an RFC 2047 encoded word.
POLICY = email.policy.default.clone(max_line_length=998)


def message(hub, to: str, subject: str, body: str, unsubscribe: str | None = None) -> EmailMessage:
    msg = EmailMessage(policy=POLICY)
    msg["From"] = hub.config.smtp_from
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(usegmt=True)
    domain = parseaddr(hub.config.smtp_from)[1].rpartition("@")[2] or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    msg["Auto-Submitted"] = "auto-generated"
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(body)
    return msg


class Mailer:
    """One SMTP connection for the messages of one job run."""

    def __init__(self, hub):
        self.config = hub.config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass  # the messages went out; a rude goodbye changes nothing

    def send(self, msg: EmailMessage) -> None:
        cfg = self.config
        try:
            if self.smtp is None:
                # TLS checks the server's certificate and name (the system's CAs, or SSL_CERT_FILE).
                tls = ssl.create_default_context()
                if cfg.smtp_port == 465:
                    self.smtp = smtplib.SMTP_SSL(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout, context=tls)
                else:
                    self.smtp = smtplib.SMTP(cfg.smtp_host, cfg.smtp_port, timeout=cfg.smtp_timeout)
                    if cfg.smtp_starttls:
                        self.smtp.starttls(context=tls)
                if cfg.smtp_user:
                    self.smtp.login(cfg.smtp_user, cfg.smtp_password or "")
            self.smtp.send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            self.smtp = None
            raise MailError(f"SMTP {cfg.smtp_host}:{cfg.smtp_port} did not take the message: {exc}") from exc


def _record(hub, kind: str, comment_ids, recipient: str) -> None:
    with hub.transaction() as s:
        for cid in comment_ids:
            s.add(SentNotification(kind=kind, comment_id=cid, recipient=recipient, sent_at=utcnow()))


# Triggers ---------------------------------------------------------------------------------------
def comment_checked(hub, session, comment: Comment) -> None:
    """Receiver of signals.comment_checked: a comment still pending after its check is news for moderators."""
    if enabled(hub) and comment.status == "pending":
        enqueue(session, "notify-moderators", {}, key="pending")


def comment_published(hub, session, comment: Comment) -> None:
    """Receiver of signals.comment_published: tell its writer (if they asked) and the writer of its parent."""
    if not enabled(hub):
        return
    if comment.notify:
        enqueue(session, "notify-commenter", {"comment": comment.id, "event": "published"},
                key=f"published:{comment.id}")
    if comment.parent_id:
        enqueue(session, "notify-commenter", {"comment": comment.id, "event": "reply"}, key=f"reply:{comment.id}")


# Moderators ------------------------------------------------------------------------------------
def akismet_holding(hub) -> bool:
    """True while Akismet is enabled but failing: announcements wait for its verdicts."""
    if not hub.akismet.enabled:
        return False
    with hub.sessions() as s:
        stored = state.get(s, "akismet")
    if stored.get("state") not in ("failing", "invalid_key"):
        return False
    last = stored.get("last_error_at")
    if last and utcnow() - dt.datetime.fromisoformat(last) < PROBE_AFTER:
        return True
    # Nothing has asked Akismet for a while: ask it now whether it is back.
    try:
        valid = hub.akismet.verify()
    except AkismetUnavailable as exc:
        with hub.transaction() as s:
            state.put(s, "akismet", state="failing", last_error=str(exc), last_error_at=utcnow().isoformat())
        return True
    with hub.transaction() as s:
        if valid:
            state.put(s, "akismet", state="ok", last_ok=utcnow().isoformat(), last_error=None)
        else:
            state.put(s, "akismet", state="invalid_key", last_error="Akismet rejects the key",
                      last_error_at=utcnow().isoformat())
    return not valid


def _waiting(hub, session, moderator: Moderator, kind: str) -> list[Comment]:
    """Settled pending comments this moderator has not been told about yet (oldest first)."""
    query = select(Comment).where(
        Comment.status == "pending", Comment.akismet.in_(("ham", "unchecked")),
        Comment.created >= utcnow() - LOOKBACK,
        ~Comment.id.in_(select(SentNotification.comment_id).where(
            SentNotification.kind == kind, SentNotification.recipient == recipient_key(hub, moderator.email))),
    )
    return list(session.scalars(restrict(query, hub, moderator).order_by(Comment.created, Comment.id)))


def _pending_total(hub, session, moderator: Moderator) -> int:
    return session.scalar(restrict(select(func.count(Comment.id)).where(Comment.status == "pending"),
                                   hub, moderator)) or 0


def _describe(hub, comment: Comment, moderator: Moderator) -> str:
    excerpt = textwrap.shorten(" ".join(comment.body.split()), 300, placeholder=" …")
    when = comment.created.strftime("%Y-%m-%d %H:%M")
    lines = [_("%(name)s on “%(title)s”, %(time)s UTC", name=comment.author, title=article_title(hub, comment.thread),
               time=when),
             textwrap.indent(textwrap.fill(excerpt, 72), "  ")]
    if comment.is_webmention:
        mention = comment.mention or {}
        lines.insert(1, "  " + _("A webmention (%(type)s) from %(source)s", type=mention.get("type") or "mention",
                                 source=mention.get("source", "")))
    if comment.akismet == "unchecked":
        lines.append("  " + _("Akismet: not checked"))
    if comment.guard_reasons:
        lines.append("  " + _("Held because: %(reasons)s", reasons="; ".join(comment.guard_reasons)))
    base = service_url(hub)
    # One-click links (a page asks before acting); each works once, for 7 days.
    for action, url in email_links.links_for(hub, base, moderator, comment).items():
        lines.append("  " + _(email_links.LINK_ACTIONS[action]) + ": " + url)
    queue = f"{base}/moderate/comments/{comment.id}"
    lines.append("  " + _("Open in the queue: %(link)s", link=queue))
    return "\n".join(lines)


def _moderator_mail(hub, moderator: Moderator, comments: list[Comment], total: int, digest: bool) -> EmailMessage:
    n = len(comments)
    title = article_title(hub, comments[0].thread)
    if n == 1 and not digest:
        if comments[0].is_webmention:
            subject = _("New webmention awaiting moderation on “%(title)s”", title=title)
        else:
            subject = _("New comment awaiting moderation on “%(title)s”", title=title)
    elif digest:
        subject = ngettext("Digest: %(num)d new comment awaiting moderation",
                           "Digest: %(num)d new comments awaiting moderation", n)
    else:
        subject = ngettext("%(num)d new comment awaiting moderation", "%(num)d new comments awaiting moderation", n)
    shown = comments[-MAX_LISTED:]
    if total != n:
        heading = ngettext("%(num)d new comment awaiting moderation (%(total)d pending in all):",
                           "%(num)d new comments awaiting moderation (%(total)d pending in all):", n, total=total)
    else:
        heading = ngettext("%(num)d new comment awaiting moderation:", "%(num)d new comments awaiting moderation:", n)
    parts = [heading, ""]
    parts += [_describe(hub, c, moderator) + "\n" for c in reversed(shown)]
    if n > len(shown):
        parts.append(_("…and %(num)d more.", num=n - len(shown)) + "\n")
    parts.append(_("Each Approve, Spam or Trash link shows the comment and asks before it acts; it works once, "
                   "for 7 days, for you alone."))
    base = service_url(hub)
    parts.append(_("The queue: %(link)s", link=base + "/moderate/"))
    parts.append(_("You get these emails as a Hubbub moderator; choose immediate, digest or off at %(link)s",
                   link=base + "/moderate/account"))
    return message(hub, moderator.email, subject, "\n".join(parts))


def _announce(hub, moderators, kind: str, holding: bool) -> bool:
    """Send each moderator their waiting comments; True if some were held back."""
    held = False
    with Mailer(hub) as mailer:
        for moderator in moderators:
            with hub.sessions() as s:
                comments = _waiting(hub, s, moderator, kind)
                total = _pending_total(hub, s, moderator)
            if holding:
                # Only what has waited HOLD_LIMIT goes out now; the rest when Akismet is back.
                released = [c for c in comments if utcnow() - c.created >= HOLD_LIMIT]
                held = held or len(released) < len(comments)
                comments = released
            if comments:
                mailer.send(_moderator_mail(hub, moderator, comments, total, digest=kind == "digest"))
                _record(hub, kind, [c.id for c in comments], recipient_key(hub, moderator.email))
                log.info("told moderator %s about %d waiting comment(s)", moderator.id, len(comments))
            if kind == "digest":
                with hub.transaction() as s:
                    s.execute(update(Moderator).where(Moderator.id == moderator.id).values(last_digest_at=utcnow()))
    return held


def _moderators(hub, mode: str) -> list[Moderator]:
    with hub.sessions() as s:
        found = list(s.scalars(select(Moderator).where(Moderator.notify == mode, Moderator.disabled.is_(False))
                               .order_by(Moderator.id)))
        s.expunge_all()
    return found


def notify_moderators(hub, payload: dict) -> None:
    if not enabled(hub):
        return
    moderators = _moderators(hub, "immediate")
    if not moderators:
        return
    holding = akismet_holding(hub)
    try:
        held = _announce(hub, moderators, "pending", holding)
    except MailError as exc:
        raise RetryLater(backoff(attempts(hub, "notify-moderators", "pending")), str(exc)) from exc
    if held:
        raise RetryLater(HOLD_RETRY, "held back while Akismet is failing")


def send_digests(hub) -> None:
    """Send every digest that is due now."""
    if not enabled(hub):
        return
    now = utcnow()
    every = dt.timedelta(hours=hub.config.digest_hours)
    due = [m for m in _moderators(hub, "digest") if m.last_digest_at is None or now - m.last_digest_at >= every
           - dt.timedelta(minutes=5)]  # a run a little early is the same round
    if due:
        _announce(hub, due, "digest", akismet_holding(hub))


def digest_job(hub, payload: dict) -> None:
    with hub.transaction() as s:
        schedule_next(s, "notify-digest", DIGEST_EVERY, after_slot=payload.get("slot", 0))
    try:
        send_digests(hub)
    except MailError as exc:
        log.warning("digest not sent (%s); it goes out with the next round", exc)


# Commenters ------------------------------------------------------------------------------------
def _commenter_mail(hub, kind: str, comment: Comment, to_comment: Comment) -> EmailMessage:
    title = article_title(hub, comment.thread)
    link = f"{hub.article_url(comment.thread, absolute=True)}#comment-{comment.id}"
    unsubscribe = unsubscribe_url(hub, to_comment.id)
    if kind == "published":
        subject = _("Your comment on “%(title)s” is published", title=title)
        intro = _("Hello %(name)s,\n\nyour comment on “%(title)s” is now published:\n\n  %(link)s",
                  name=to_comment.author, title=title, link=link)
    else:
        subject = _("%(name)s replied to your comment on “%(title)s”", name=comment.author, title=title)
        excerpt = textwrap.shorten(" ".join(comment.body.split()), 500, placeholder=" …")
        intro = _("Hello %(name)s,\n\n%(replier)s replied to your comment on “%(title)s”:\n\n%(excerpt)s\n\n"
                  "Read and answer it here:\n\n  %(link)s", name=to_comment.author, replier=comment.author,
                  title=title, excerpt=textwrap.indent(textwrap.fill(excerpt, 72), "  "), link=link)
    why = _("You get this email because you ticked “Notify me of replies”.\n"
            "Stop these emails with one click: %(link)s", link=unsubscribe)
    body = f"{intro}\n\n{why}\n"
    return message(hub, to_comment.email, subject, body, unsubscribe=unsubscribe)


def notify_commenter(hub, payload: dict) -> None:
    if not enabled(hub):
        return
    kind = payload["event"]
    with hub.sessions() as s:
        comment = s.get(Comment, payload["comment"])
        if comment is None or comment.status != "published":
            return
        to = comment if kind == "published" else (s.get(Comment, comment.parent_id) if comment.parent_id else None)
        if to is None or not to.notify:
            return
        if kind == "reply" and to.email.strip().lower() == comment.email.strip().lower():
            return  # answering yourself needs no email
        recipient = recipient_key(hub, to.email)
        sent = s.scalar(select(SentNotification.id).where(
            SentNotification.kind == kind, SentNotification.comment_id == comment.id,
            SentNotification.recipient == recipient))
        if sent:
            return
        msg = _commenter_mail(hub, kind, comment, to)
    try:
        with Mailer(hub) as mailer:
            mailer.send(msg)
    except MailError as exc:
        key = f"{kind}:{payload['comment']}"
        raise RetryLater(backoff(attempts(hub, "notify-commenter", key)), str(exc)) from exc
    _record(hub, kind, [payload["comment"]], recipient)
    log.info("sent %s email for comment %s", kind, payload["comment"])
