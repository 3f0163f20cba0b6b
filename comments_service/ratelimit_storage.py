"""Rate limits in the service's own database: one count for every process, without Redis.

A `limits` storage (scheme "hubbub-db://", the engine passed as a storage option) for the
moving-window strategy: each request a limit lets through is a row (models.RateLimitHit) until it
leaves the window. Taking an entry is one short write transaction that counts the key's hits in
the window and adds the new one, serialised per key: PostgreSQL by a transaction-scoped advisory
lock on the key, SQLite by its single writer (every transaction begins IMMEDIATE, db.py). So
workers racing for the last slot never both get it. A taker drops its key's hits that left the
window; the retention job deletes the rest (`purge_expired`).

flask-limiter asks for the window of the limit it just took (for the response's headers, and
Retry-After) right after taking it: the taking thread answers that from what its take saw, as
long as none of it has left the window since, instead of counting again.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import threading
import time

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import delete, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from .db import unsynced_transaction
from .models import RateLimitHit as Hit

SCHEME = "hubbub-db"
KEY_LENGTH = Hit.key.type.length
# Two-number advisory locks: a key space apart from the one-number locks of db.py and publish.py.
LOCK_SPACE = 7275
# A take runs on every POST: its statements go straight to the driver's cursor, since SQLAlchemy's
# execution of each cost several times what the database does for it. `:name` parameters, which
# sqlite3 takes as they are; psycopg's spelling is made once below.
_TABLE = Hit.__tablename__
_IN_WINDOW = f'SELECT count(*), min(at) FROM {_TABLE} WHERE "key" = :key AND at > :since'
_LEFT_WINDOW = f'DELETE FROM {_TABLE} WHERE "key" = :key AND at <= :since'
_ADD = f'INSERT INTO {_TABLE} ("key", at, expires) VALUES (:key, :at, :expires)'
_SQL = {"sqlite": {sql: sql for sql in (_IN_WINDOW, _LEFT_WINDOW, _ADD)}}
_SQL["postgresql"] = {sql: re.sub(r":(\w+)", r"%(\1)s", sql) for sql in _SQL["sqlite"]}
# How long what a take saw may answer its thread's next question about that window (seconds).
SEEN_FOR = 1.0


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
        self._local = threading.local()

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    def _seen(self) -> dict[tuple[str, int], tuple[float, float, int]]:
        """This thread's last takes: (row key, expiry) -> (when, oldest hit in the window, hits)."""
        seen = getattr(self._local, "seen", None)
        if seen is None or len(seen) > 16:  # a few limits per request; older ones are stale anyway
            seen = self._local.seen = {}
        return seen

    # Moving window --------------------------------------------------------------------------------
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        key = _row_key(key)
        since = now - expiry
        with unsynced_transaction(self.engine) as conn:  # a count lost to a power cut lets one more through
            _lock(conn, key)
            sql = _SQL[conn.dialect.name]
            with contextlib.closing(conn.connection.driver_connection.cursor()) as cursor:
                cursor.execute(sql[_IN_WINDOW], {"key": key, "since": since})
                taken, oldest = cursor.fetchone()
                allowed = taken + amount <= limit
                if allowed:
                    cursor.execute(sql[_LEFT_WINDOW], {"key": key, "since": since})
                    cursor.executemany(sql[_ADD], [{"key": key, "at": now, "expires": now + expiry}] * amount)
                    oldest = oldest if taken else now
                    taken += amount
        self._seen()[(key, expiry)] = (now, oldest, taken)
        return allowed

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(when the oldest hit in the window was let through, how many are in it)."""
        now = self.clock()
        key = _row_key(key)
        seen = self._seen().pop((key, expiry), None)
        if seen is not None:
            at, oldest, taken = seen
            if now - at < SEEN_FOR and taken and oldest > now - expiry:
                return oldest, taken
        with self.engine.connect() as conn:
            taken, oldest = conn.exec_driver_sql(_SQL[conn.dialect.name][_IN_WINDOW],
                                                 {"key": key, "since": now - expiry}).one()
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
        self._seen().clear()
        with self.engine.begin() as conn:
            return conn.execute(delete(Hit)).rowcount

    def clear(self, key: str) -> None:
        self._seen().clear()
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
