"""Telling a database outage from a bug, and remembering the last one a request met.

An outage (the server stopped or unreachable, a connection cut, SQLite read-only or out of disk)
is answered 503 with Retry-After and nothing half-done: the transaction rolled back, so the
reader may simply send again. A bug in a query (an integrity or programming error) stays a 500.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import exc as sa

from .db import SchemaPending
from .i18n import N_

RETRY_AFTER = 30  # seconds: a restarted database server is usually back within that
# Translated where it is shown: _(MESSAGE, seconds=RETRY_AFTER).
MESSAGE = N_("The comment database is unavailable for a moment: send it again in %(seconds)s seconds.")

# Errors that say something about the query, not about the database being there.
_BUGS = (sa.IntegrityError, sa.ProgrammingError, sa.DataError, sa.NotSupportedError)
# sa.TimeoutError: no pooled connection came free in time, which a 503 with Retry-After fits too.
_OUTAGES = (SchemaPending, sa.DBAPIError, sa.DisconnectionError, sa.TimeoutError, sqlite3.OperationalError, sqlite3.InterfaceError)
try:
    import psycopg

    _OUTAGES += (psycopg.OperationalError, psycopg.InterfaceError)
except ImportError:  # PostgreSQL support not installed
    pass


def database_outage(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception that caused it, means the database cannot be used now."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, _BUGS):
            return False
        if isinstance(exc, _OUTAGES):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def describe(exc: BaseException) -> str:
    """One line for logs and the health answer (the driver's message, without the SQL)."""
    if isinstance(exc, SchemaPending) and exc.__cause__ is not None:
        exc = exc.__cause__
    orig = getattr(exc, "orig", None) or exc
    lines = str(orig).strip().splitlines()
    return f"{type(orig).__name__}: {lines[0] if lines else ''}"[:300]


class LastOutage:
    """The last outage a request of this process met, until a write is seen to work again.

    Reads may work while writes fail (SQLite read-only or out of disk): /api/health then tries a
    small write itself rather than reporting a database that takes no comments as ok."""

    def __init__(self):
        self.error: str | None = None
        self.since: str | None = None

    def note(self, exc: BaseException) -> None:
        from .models import utcnow

        if self.error is None:
            self.since = utcnow().isoformat(timespec="seconds")
        self.error = describe(exc)

    def clear(self) -> None:
        self.error = self.since = None
