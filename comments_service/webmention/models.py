"""Webmention tables: what other sites sent us, and what we sent them.

A received webmention (one row per source and target) holds the request and its verification;
once verified, what it says is a Comment of kind "webmention" (comment_id), which moderation,
publishing, notifications and retention treat like any other comment.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..models import Base, UTCDateTime, utcnow

# Verification states of a received webmention (the status URL reports them).
QUEUED, VERIFIED, REJECTED, REMOVED = "queued", "verified", "rejected", "removed"
MAX_URL = 2000


def pair_key(a: str, b: str) -> str:
    """A fixed-size unique key for a pair of long URLs (an index on two 2000-character columns is not)."""
    return hashlib.sha256(f"{a}\n{b}".encode()).hexdigest()


def mention_key(source: str, thread: str) -> str:
    """A received mention's key: one per source page and article, however the sender wrote the
    target's address (with or without a trailing slash, say). Mentions received before this was
    the key have pair_key(source, target)."""
    return pair_key(source, f"thread:{thread}")


class Webmention(Base):
    """A webmention another site sent: `source` says something about our article `target`."""

    __tablename__ = "webmentions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # mention_key(source, thread)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # names the public status URL
    source: Mapped[str] = mapped_column(String(MAX_URL))
    target: Mapped[str] = mapped_column(String(MAX_URL))
    thread: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=QUEUED)
    reason: Mapped[str] = mapped_column(Text, default="")  # why rejected or removed, or the last fault
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"), unique=True)
    remote_addr: Mapped[str | None] = mapped_column(String(45))  # the sender's; erased after the retention period
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # fetches of the source for this request
    received: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)  # the latest request
    checked: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # the latest verification
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_webmentions_status_received", "status", "received"),)


class SentWebmention(Base):
    """A link from one of our posts to another site, and what we last told that site about it."""

    __tablename__ = "sent_webmentions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)  # pair_key(thread, target)
    thread: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(MAX_URL))  # the post's public address
    target: Mapped[str] = mapped_column(String(MAX_URL))
    linked: Mapped[bool] = mapped_column(Boolean, default=True)  # False once the post no longer links it
    # The post's content digest (the build's manifest) the target was last told about; the digest
    # the send job is asked to announce.
    sent_digest: Mapped[str | None] = mapped_column(String(64))
    wanted_digest: Mapped[str | None] = mapped_column(String(64))
    # baseline (there before sending began), queued, sent, no-endpoint, failed
    status: Mapped[str] = mapped_column(String(16), default="queued")
    endpoint: Mapped[str] = mapped_column(String(MAX_URL), default="")
    response: Mapped[str] = mapped_column(Text, default="")  # the endpoint's answer, or the fault
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (Index("ix_sent_webmentions_thread", "thread"),)
