"""Moderation tables: moderators, API tokens, the audit log, the record of emails sent, readers'
thread subscriptions, and the moderation-email links already used.

Audit entries and sent-email records name a comment by id without a foreign key: they outlive
the comment (a deleted comment's history is still the history of a decision).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..models import Base, JSONText, UTCDateTime, utcnow

ROLES = ("admin", "moderator")
NOTIFY_MODES = ("immediate", "digest", "off")


class Moderator(Base):
    __tablename__ = "moderators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="moderator")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # An author who moderates only the comments on their own posts (their author slug).
    author_slug: Mapped[str | None] = mapped_column(String(200))
    notify: Mapped[str] = mapped_column(String(16), default="immediate")
    last_digest_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_login: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="moderator", cascade="all, delete-orphan")

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def limited_to_author(self) -> str | None:
        """The author slug this moderator is limited to, or None for every post."""
        return None if self.is_admin else (self.author_slug or None)


class ApiToken(Base):
    """A bearer token for the moderation API; only the SHA-256 of the token is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    moderator_id: Mapped[int] = mapped_column(ForeignKey("moderators.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # the first characters, to recognise a token in lists
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    moderator: Mapped[Moderator] = relationship(back_populates="tokens")


class AuditEntry(Base):
    """One moderation action: who did what to which comment, when, from which status to which."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(Integer)
    moderator: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    detail: Mapped[dict] = mapped_column(JSONText, default=dict)

    __table_args__ = (
        Index("ix_audit_log_comment", "comment_id", "at"),
        Index("ix_audit_log_at", "at"),
    )


class SentNotification(Base):
    """An email that went out, so that retries and re-runs never send it twice.

    `recipient` is a hash of the address, not the address: this table needs only to recognise it.
    """

    __tablename__ = "sent_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # pending, published, reply
    comment_id: Mapped[int] = mapped_column(Integer)
    recipient: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("kind", "comment_id", "recipient", name="uq_sent_notifications"),
        Index("ix_sent_notifications_sent_at", "sent_at"),
    )


class Subscription(Base):
    """A reader who asked for an email on every new comment of one thread (double opt-in).

    Nothing but the one confirmation email goes to the address until `confirmed_at` is set.
    """

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))  # normalised: trimmed, lower-case
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The comment whose form asked for it: its check must pass before the confirmation goes out.
    comment_id: Mapped[int | None] = mapped_column(Integer)
    confirm_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("thread", "email", name="uq_subscriptions_thread_email"),
        Index("ix_subscriptions_email", "email"),
    )


class EmailLinkUse(Base):
    """A moderation-email link that was acted on: each link (and its siblings for the same comment
    in the same email) works once."""

    __tablename__ = "email_link_uses"

    nonce: Mapped[str] = mapped_column(String(32), primary_key=True)
    comment_id: Mapped[int] = mapped_column(Integer)
    moderator: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(16))
    used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_email_link_uses_used_at", "used_at"),)
