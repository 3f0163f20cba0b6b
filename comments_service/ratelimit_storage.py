"""Rate limits in the service's own database: one count for every process, without Redis.

A `limits` storage (scheme "hubbub-db://", the engine passed as a storage option) for the
moving-window strategy: each request a limit lets through is a row (models.RateLimitHit) until it
leaves the window. Taking an entry is one short write transaction that counts the key's hits in
the window and adds the new one, serialised per key: PostgreSQL by a transaction-scoped advisory
lock on the key, SQLite by its single writer (every transaction begins IMMEDIATE, db.py). So
workers racing for the last slot never both get it. A taker drops its key's hits that left the
window; the retention job deletes the rest (`purge_expired`).
"""

from __future__ import annotations

import hashlib
import time

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from .db import unsynced_transaction
from .models import RateLimitHit as Hit

SCHEME = "hubbub-db"
KEY_LENGTH = Hit.key.type.length
# Two-number advisory locks: a key space apart from the one-number locks of db.py and publish.py.
LOCK_SPACE = 7275


def _row_key(key: str) -> str:
    # Keys carry an account's email (up to 254 characters): a digest keeps long ones within the column.
    if len(key) <= KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _lock(conn: Connection, key: str) -> None:
    """Hold the key until the transaction ends (SQLite: the write lock BEGIN IMMEDIATE took does)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:space, hashtext(:key))"), {"space": LOCK_SPACE, "key": key})


class DatabaseStorage(Storage, MovingWindowSupport):
    """Moving windows kept in the comment database (only the moving-window strategy is supported)."""

    STORAGE_SCHEME = [SCHEME]
    clock = staticmethod(time.time)  # tests move time forward by replacing it

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, engine: Engine, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    # Moving window --------------------------------------------------------------------------------
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        key = _row_key(key)
        with unsynced_transaction(self.engine) as conn:  # a count lost to a power cut lets one more through
            _lock(conn, key)
            taken = conn.scalar(select(func.count()).where(Hit.key == key, Hit.at > now - expiry))
            if taken + amount > limit:
                return False
            conn.execute(delete(Hit).where(Hit.key == key, Hit.at <= now - expiry))
            conn.execute(insert(Hit), [{"key": key, "at": now, "expires": now + expiry}] * amount)
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(when the oldest hit in the window was let through, how many are in it)."""
        now = self.clock()
        with self.engine.connect() as conn:
            taken, oldest = conn.execute(select(func.count(), func.min(Hit.at))
                                         .where(Hit.key == _row_key(key), Hit.at > now - expiry)).one()
        return (oldest if taken else now), taken

    # The rest of the Storage interface ---------------------------------------------------------------
    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise NotImplementedError("hubbub-db:// keeps moving windows: use RATELIMIT_STRATEGY 'moving-window'")

    def get(self, key: str) -> int:
        raise NotImplementedError("hubbub-db:// keeps moving windows: use RATELIMIT_STRATEGY 'moving-window'")

    def get_expiry(self, key: str) -> float:
        raise NotImplementedError("hubbub-db:// keeps moving windows: use RATELIMIT_STRATEGY 'moving-window'")

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.scalar(select(1))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(delete(Hit)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(Hit).where(Hit.key == _row_key(key)))


def purge_expired(session, now: float | None = None) -> int:
    """Delete the hits that have left their window; returns how many."""
    now = time.time() if now is None else now
    return session.execute(delete(Hit).where(Hit.expires <= now)).rowcount


def retention(hub, now=None) -> dict:
    """signals.retention_due receiver: hits that no longer count go."""
    with hub.transaction() as s:
        return {"rate_limit_hits_deleted": purge_expired(s, now.timestamp() if now else None)}
