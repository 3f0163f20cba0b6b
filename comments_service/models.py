"""The comment database's tables. Times are stored as UTC and always returned timezone-aware."""

from __future__ import annotations

import datetime as dt
import functools
import json

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    insert,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

STATUSES = ("pending", "published", "rejected", "spam")
VERDICTS = ("ham", "spam", "discard", "unchecked", "error")
# A comment is written in the reply form (or imported); a webmention is another site's post that
# replies to, likes, reposts, bookmarks or mentions an article (comments_service/webmention/).
KINDS = ("comment", "webmention")
# Ids are INTEGER columns (32 bits in PostgreSQL; SQLite raises OverflowError past 64): a bigger
# number from a request names no row, and must not reach the database.
MAX_ID = 2**31 - 1


def row_id(raw) -> int | None:
    """An id taken from a request (text or number): the int when a row could have it, else None."""
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if 0 < value <= MAX_ID else None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator):
    """Naive UTC in the database (SQLite has no time zones), aware UTC in Python."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: use an aware UTC datetime")
        return value.astimezone(dt.UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        return None if value is None else value.replace(tzinfo=dt.UTC)


class JSONText(TypeDecorator):
    """JSON kept as text, the same on SQLite and PostgreSQL."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else json.dumps(value, sort_keys=True)

    def process_result_value(self, value, dialect):
        return None if value is None else json.loads(value)


class Base(DeclarativeBase):
    pass


def insert_row(session, model: type[Base], row: dict) -> int:
    """INSERT one row of `model` (its column defaults apply) without the ORM's unit of work, which
    costs more than the rest of storing a comment; the id of the new row. The hot path only:
    the session does not know the row, so build an object from `row` if one is wanted."""
    # The values as parameters, not in the statement: one statement, built once, compiled once.
    # On the session's connection: the ORM's execute adds nothing to a plain INSERT but its cost.
    return session.connection().execute(_insert(model.__table__), row).inserted_primary_key[0]


@functools.cache
def _insert(table):
    return insert(table)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    thread: Mapped[str] = mapped_column(String(200))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="SET NULL"))
    author: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    url: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(Text)  # Markdown as written
    html: Mapped[str] = mapped_column(Text)  # sanitised once, at write time
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    remote_addr: Mapped[str | None] = mapped_column(String(45))  # erased after the retention period
    user_agent: Mapped[str] = mapped_column(String(500), default="")
    referrer: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    akismet: Mapped[str] = mapped_column(String(16), default="unchecked")
    guard_reasons: Mapped[list] = mapped_column(JSONText, default=list)
    check_attempts: Mapped[int] = mapped_column(Integer, default=0)
    check_due: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    notify: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16), default="web")  # form, api, import
    # Where an imported comment came from (e.g. "wordpress:<site>:<id>"): importing twice adds nothing.
    import_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="comment", server_default="comment")
    # A webmention's facts: {"type", "source", "target", "url", "photo", "published"} (webmention/mention.py).
    mention: Mapped[dict | None] = mapped_column(JSONText)
    # SHA-256 of the commenter's edit token (edit.py): the token itself is shown once, in the 202.
    edit_token_hash: Mapped[str | None] = mapped_column(String(64))
    # While a commenter's edit of a published comment awaits its check, the site keeps showing
    # this, the HTML it had; None otherwise.
    published_html: Mapped[str | None] = mapped_column(Text)

    parent: Mapped[Comment | None] = relationship(remote_side=[id])

    __table_args__ = (
        Index("ix_comments_status_created", "status", "created"),
        Index("ix_comments_thread_status", "thread", "status"),
        Index("ix_comments_email", "email"),
        # Writers are matched by email whatever its case (a returning commenter, unsubscribing):
        # without it every check read the whole table.
        Index("ix_comments_email_lower", text("lower(email)")),
        # An id is never handed out twice, also after the newest comment is deleted: the audit log,
        # sent notifications, used email links and subscriptions keep comment ids (PostgreSQL's
        # sequences never reuse one).
        {"sqlite_autoincrement": True},
    )

    @property
    def is_webmention(self) -> bool:
        return self.kind == "webmention"

    def identity(self) -> str:
        """What tells one writer from another: the email, or for a webmention its author's site."""
        if self.is_webmention:
            return self.email or self.url or self.author
        return self.email

    def public_dict(self) -> dict:
        """What the public may see: never the email or the client address.

        A webmention adds its type, the link to where it was written and its author's photo, and
        carries the time it was written there (the thread file's format, hubbub/core/threadfile.py).
        """
        public = {
            "id": self.id,
            "parent": self.parent_id,
            "author": self.author,
            "url": self.url,
            "html": self.html if self.published_html is None else self.published_html,
            "created": self.created.isoformat(),
        }
        if self.is_webmention:
            mention = self.mention or {}
            public.update(kind="webmention", type=mention.get("type") or "mention",
                          source=mention.get("url") or mention.get("source") or "", photo=mention.get("photo") or "")
            if mention.get("published"):
                public["created"] = mention["published"]
        return public


class Job(Base):
    """A durable background job. Committed with the change that caused it (an outbox)."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # Jobs with the same (kind, key) coalesce: a burst of approvals on one thread is one publish.
    key: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSONText, default=dict)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped when a coalesced job is asked for again while it runs, so that it runs once more.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_jobs_kind_key"),
        Index("ix_jobs_due", "due_at"),
    )


class ServiceState(Base):
    """Small shared facts every process must agree on (Akismet key state, last errors)."""

    __tablename__ = "service_state"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict] = mapped_column(JSONText, default=dict)
    updated: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)



class ErasedEmail(Base):
    """An address `hubbub privacy erase` erased, as a keyed digest (the site salt's HMAC, as in
    hubbub.core.identity.author_key): not the address, but enough that no import (an export made
    before the erasure, a WordPress file) brings the person's comments back."""

    __tablename__ = "erased_emails"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    erased: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RateLimitHit(Base):
    """A request a rate limit let through, kept while it is inside the limit's moving window.

    `key` names the limit and who it counts (an address or an account); `expires` is when the hit
    leaves the window. Kept by ratelimit_storage.py, only when HUBBUB_QUEUE_URL (Redis) is unset.
    """

    __tablename__ = "rate_limit_hits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255))
    at: Mapped[float] = mapped_column(Float)  # Unix time
    expires: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        Index("ix_rate_limit_hits_key_at", "key", "at"),
        Index("ix_rate_limit_hits_expires", "expires"),
    )
