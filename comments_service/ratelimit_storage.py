"""Rate-limit windows in the service's own database: one count for every process, without Redis.

A `limits` storage (scheme "hubbub-db://", engine passed as a storage option) for the moving-window
strategy. Each limit and key has a row (models.RateLimitWindow) with the times of its newest
accepted requests. Taking an entry is one short write transaction that first locks the row:
an upsert that PostgreSQL serialises on the row and SQLite on its single writer (BEGIN IMMEDIATE,
db.py), so workers racing for the last slot never both get it. The retention job deletes windows
nobody used within their period (`purge_expired`).
"""

from __future__ import annotations

import hashlib
import time

from limits.storage import MovingWindowSupport, Storage
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from .models import RateLimitWindow

SCHEME = "hubbub-db"
KEY_LENGTH = RateLimitWindow.key.type.length


def _row_key(key: str) -> str:
    # Keys carry an account's email (up to 254 characters): a digest keeps long ones within the column.
    if len(key) <= KEY_LENGTH:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def _load(hits: str | None) -> list[float]:
    return [float(t) for t in (hits or "").split()]


def _dump(hits: list[float]) -> str:
    return " ".join(f"{t:.3f}" for t in hits)


def _insert(engine: Engine):
    if engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


class DatabaseStorage(Storage, MovingWindowSupport):
    """Moving windows kept in the comment database (only the moving-window strategy is supported)."""

    STORAGE_SCHEME = [SCHEME]
    clock = staticmethod(time.time)  # tests move time forward by replacing it

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, *, engine: Engine, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.engine = engine
        self._insert = _insert(engine)

    @property
    def base_exceptions(self) -> type[Exception]:
        return SQLAlchemyError

    # Moving window --------------------------------------------------------------------------------
    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        if amount > limit:
            return False
        now = self.clock()
        row_key = _row_key(key)
        with self.engine.begin() as conn:
            # A no-op update on conflict: it locks the row (or creates it) and returns its hits.
            locked = (self._insert(RateLimitWindow).values(key=row_key, hits="", expires=now)
                      .on_conflict_do_update(index_elements=[RateLimitWindow.key],
                                             set_={"expires": RateLimitWindow.expires})
                      .returning(RateLimitWindow.hits))
            live = [t for t in _load(conn.scalar(locked)) if t > now - expiry]
            if len(live) + amount > limit:
                return False
            kept = ([now] * amount + live)[:limit]
            conn.execute(update(RateLimitWindow).where(RateLimitWindow.key == row_key)
                         .values(hits=_dump(kept), expires=now + expiry))
        return True

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """(when the oldest entry in the window was taken, how many are in it)."""
        now = self.clock()
        with self.engine.connect() as conn:
            hits = conn.scalar(select(RateLimitWindow.hits).where(RateLimitWindow.key == _row_key(key)))
        live = [t for t in _load(hits) if t > now - expiry][:limit]
        return (live[-1] if live else now), len(live)

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
            return conn.execute(delete(RateLimitWindow)).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(RateLimitWindow).where(RateLimitWindow.key == _row_key(key)))


def purge_expired(session, now: float | None = None) -> int:
    """Delete the windows whose newest entry has left its period; returns how many."""
    now = time.time() if now is None else now
    return session.execute(delete(RateLimitWindow).where(RateLimitWindow.expires <= now)).rowcount


def retention(hub, now=None) -> dict:
    """signals.retention_due receiver: windows nobody has used within their period go."""
    with hub.transaction() as s:
        return {"rate_limit_windows_deleted": purge_expired(s, now.timestamp() if now else None)}
