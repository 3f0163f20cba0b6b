"""Engine and sessions; SQLite gets WAL, synchronous commits, foreign keys and a busy timeout;
migrations on start (or, when the database cannot be reached yet, as soon as it can: Schema)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


class _WriteGate:
    """One writer at a time across the threads and processes using one SQLite file.

    SQLite allows one writer; losers of a BEGIN IMMEDIATE race sleep in its busy handler in
    steps of up to 100 ms, which is what made the slowest requests slow. Queueing on a thread
    lock and an flock instead wakes the next writer the moment the last one commits.
    """

    def __init__(self, path: str):
        self._thread_lock = threading.Lock()
        self._fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)  # flock needs no write access

    def acquire(self) -> None:
        self._thread_lock.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._thread_lock.release()


def _gated_connection_class(gate: _WriteGate):
    class GatedConnection(sqlite3.Connection):
        """Releases the write gate when its transaction ends, however it ends."""

        holds_gate = False

        def _release_gate(self) -> None:
            if self.holds_gate:
                self.holds_gate = False
                gate.release()

        def commit(self):
            try:
                super().commit()
            finally:
                self._release_gate()

        def rollback(self):
            try:
                super().rollback()
            finally:
                self._release_gate()

        def close(self):
            try:
                super().close()
            finally:
                self._release_gate()

    return GatedConnection


def _create_private(path: str) -> None:
    """A new database file readable by its owner only, as backups and exports are: it holds email
    and IP addresses and password hashes (SQLite gives its -wal and -shm files the same mode). An
    existing file is left as it is; one that cannot be made is SQLite's to report."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        pass


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        connect_args = {"timeout": 30, "check_same_thread": False}
        gate = None
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(path)
            gate = _WriteGate(path + ".writelock")
            connect_args["factory"] = _gated_connection_class(gate)
        # Room for every thread that may hold a connection at once (requests, each waiting on the
        # write gate, and the job thread): past the pool's size, a connection is opened and closed
        # again per use, which costs ten times what a rate-limit take does.
        engine = create_engine(url, connect_args=connect_args, pool_size=12)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # FULL: every commit is on stable storage before it returns (NORMAL may lose the last
            # commits to a power cut), so a 202 is a promise; group_commit.py shares the fsyncs.
            cur.execute("PRAGMA synchronous=FULL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # These statements go to the driver itself: every write transaction begins here (two
            # per comment), and SQLAlchemy's execution of a statement costs more than SQLite's.
            # (Its errors reach the caller unwrapped: sqlite3's own, which outage.py knows.)
            read_only = bool(conn.get_execution_options().get(_READ_ONLY))
            info = conn.connection.info
            dbapi_conn = conn.connection.dbapi_connection
            if info.get(_READ_ONLY, False) != read_only:  # a pooled connection serves both kinds
                dbapi_conn.execute(f"PRAGMA query_only={int(read_only)}")
                info[_READ_ONLY] = read_only
            if read_only:
                # WAL readers see a snapshot and never wait for writers, nor writers for them.
                dbapi_conn.execute("BEGIN")
                return
            # IMMEDIATE takes the write lock up front: no lock upgrades, so no deadlock errors.
            if gate is not None and not dbapi_conn.holds_gate:
                gate.acquire()
                dbapi_conn.holds_gate = True
            try:
                dbapi_conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                if gate is not None:
                    dbapi_conn._release_gate()
                raise

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


@contextlib.contextmanager
def unsynced_transaction(engine: Engine):
    """A write transaction that does not wait for the disk, for data a power cut may lose at no
    cost (rate-limit counts): atomic and crash-safe like any other, only its fsync is skipped.
    The next synchronous commit carries it to stable storage."""
    with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            with conn.begin():
                conn.execute(text("SET LOCAL synchronous_commit = off"))
                yield conn
            return
        # SQLite refuses to change this inside a transaction: set it around one. WAL with NORMAL
        # stays consistent; only the fsync at commit is left out.
        raw = conn.connection.dbapi_connection
        raw.execute("PRAGMA synchronous=NORMAL")
        try:
            with conn.begin():
                yield conn
        finally:
            raw.execute("PRAGMA synchronous=FULL")


_READ_ONLY = "hubbub_read_only"


def read_only(engine: Engine) -> Engine:
    """The same engine and pool for reading: its transactions refuse to write (PRAGMA query_only on
    SQLite, a READ ONLY transaction on PostgreSQL) and, on SQLite, never queue on the write gate."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(postgresql_readonly=True)
    return engine.execution_options(**{_READ_ONLY: True})


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


@contextlib.contextmanager
def _migration_lock(engine: Engine, lock_dir: Path):
    """Only one process migrates at a time: several gunicorn workers start together."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(727274)"))
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(727274)"))
                conn.commit()
    else:
        lock_dir.mkdir(parents=True, exist_ok=True)
        with open(lock_dir / "migrate.lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """(the database's schema revision, or None before the first migration; the newest this
    version of Hubbub has)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def known_revision(engine: Engine, revision: str) -> bool:
    """Whether this version of Hubbub has `revision` (False: a newer Hubbub migrated the database)."""
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config(engine)).get_revision(revision) is not None
    except CommandError:
        return False


def migrate(engine: Engine, lock_dir: Path) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with _migration_lock(engine, lock_dir), engine.connect() as conn:
        cfg = alembic_config(engine)
        current = MigrationContext.configure(conn).get_current_revision()
        conn.rollback()  # the pragma below only takes effect outside a transaction
        if current == ScriptDirectory.from_config(cfg).get_current_head():
            return
        sqlite = conn.dialect.name == "sqlite"
        # SQLite's procedure for a schema change: foreign keys off (a migration that rebuilds a table
        # drops the old one, which would set what refers to it to NULL), checked before the commit.
        # The pragma only takes effect outside a transaction.
        raw = conn.connection.dbapi_connection if sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                # Rows already dangling (deleted by hand with foreign keys off) are not the migration's
                # doing and must not keep the service from starting: only new ones fail it.
                before = {r[:3] for r in conn.exec_driver_sql("PRAGMA foreign_key_check")} if raw is not None else set()
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                if raw is not None:
                    broken = sorted({r[:3] for r in conn.exec_driver_sql("PRAGMA foreign_key_check")} - before)
                    if broken:
                        raise RuntimeError(f"the migration left rows that refer to missing ones: {broken[:5]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


class SchemaPending(Exception):
    """The schema is not up to date because the database could not be reached (an outage)."""


class Schema:
    """The schema brought to the newest revision once the database can be reached.

    A service started while its database is down still starts, serves the static site and answers
    503 where it needs the database; whatever needs it calls `ensure()`, which migrates on the
    first call that reaches the database (a failed try is not repeated within RETRY_EVERY seconds).
    """

    RETRY_EVERY = 1.0

    def __init__(self, engine: Engine, lock_dir: Path):
        self.engine, self.lock_dir = engine, lock_dir
        self.ready = threading.Event()
        self._lock = threading.Lock()
        self._failed: tuple[float, BaseException] | None = None  # (when, why) of the last try

    def ensure(self) -> None:
        """Migrate unless done; raises SchemaPending (caused by the database's error) while down."""
        if self.ready.is_set():
            return
        with self._lock:
            if self.ready.is_set():
                return
            if self._failed is not None and time.monotonic() - self._failed[0] < self.RETRY_EVERY:
                raise SchemaPending(str(self._failed[1])) from self._failed[1]
            try:
                migrate(self.engine, self.lock_dir)
            except Exception as exc:
                from .outage import database_outage

                if database_outage(exc):  # a bug (a schema from a newer Hubbub) is tried each time
                    self._failed = (time.monotonic(), exc)
                raise
            self._failed = None
            self.ready.set()
