"""What builds keep between runs, in <site>/cache/hubbub/build.sqlite. It is a cache: deleting it
only costs time, and `hubbub build --full` ignores it.

- reader: what Pelican's reader (Markdown) returned for a source file, by the file's bytes and
  the settings reading depends on. Shared by every configuration (development and --publish).
- content: per configuration, each source's content object as it was right after it was read
  (pickled with the site's settings and shared context left out), and the source's stamp. An
  unchanged source is not read again: its object is unpickled, or reused in memory by
  `hubbub serve --reload`.
- caches: small named caches plugins keep (e.g. the words of each post for Similar posts).
"""

from __future__ import annotations

import contextlib
import io
import logging
import pickle
import sqlite3
import time
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS reader (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS content (config TEXT NOT NULL, path TEXT NOT NULL, stamp TEXT NOT NULL,
                                    value BLOB NOT NULL, PRIMARY KEY (config, path));
CREATE TABLE IF NOT EXISTS caches (name TEXT PRIMARY KEY, value BLOB NOT NULL);
"""
VERSION = "2"
# How long a build waits for another build of the same site (another process) to finish with the
# cache: as long as a cold build of a large site may take.
WAIT_SECONDS = 1800


class _Pickler(pickle.Pickler):
    """Leaves out the objects every content object shares (settings, the site context)."""

    def __init__(self, file, shared: dict[int, str]):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.shared = shared

    def persistent_id(self, obj):
        return self.shared.get(id(obj))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, shared: dict[str, object]):
        super().__init__(file)
        self.shared = shared

    def persistent_load(self, pid):
        return self.shared[pid]


def dumps(obj, shared: dict[str, object]) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, {id(value): name for name, value in shared.items()}).dump(obj)
    return buffer.getvalue()


def loads(data: bytes, shared: dict[str, object]):
    return _Unpickler(io.BytesIO(data), shared).load()


class Store:
    def __init__(self, cache_dir: Path):
        cache_dir.mkdir(parents=True, exist_ok=True)
        self.path = cache_dir / "build.sqlite"
        self.db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        try:
            db.executescript(SCHEMA)
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError:  # damaged: a cache, so start again
            db.close()
            self.path.unlink(missing_ok=True)
            return self._open()
        if str(version) != VERSION:
            db.executescript("DELETE FROM reader; DELETE FROM content; DELETE FROM caches;")
            db.execute(f"PRAGMA user_version = {VERSION}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = NORMAL")  # a cache: losing the last write costs a re-read
        return db

    def close(self) -> None:
        self.db.close()

    @contextlib.contextmanager
    def batch(self):
        """One write transaction, its lock taken up front. A deferred one would fail half-way with
        "database is locked" when another build of the site (`hubbub build` while `serve --reload`
        runs) committed after this one first read; this way the later build waits its turn."""
        deadline = time.monotonic() + WAIT_SECONDS
        said = False
        # Short waits in a loop rather than one long one inside SQLite: Ctrl-C stops a waiting build.
        self.db.execute("PRAGMA busy_timeout = 200")
        while True:
            try:
                self.db.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
                if not said:
                    log.warning("another build of this site is using %s: waiting for it to finish", self.path)
                    said = True
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # reader outputs ----------------------------------------------------------------------------
    def reader_get(self, key: str) -> bytes | None:
        row = self.db.execute("SELECT value FROM reader WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def reader_put(self, key: str, value: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO reader (key, value) VALUES (?, ?)", (key, value))

    # content objects -----------------------------------------------------------------------------
    def contents(self, config: str) -> dict[str, tuple[str, bytes]]:
        rows = self.db.execute("SELECT path, stamp, value FROM content WHERE config = ?", (config,))
        return {path: (stamp, value) for path, stamp, value in rows}

    def put_content(self, config: str, path: str, stamp: str, value: bytes) -> None:
        self.db.execute("INSERT OR REPLACE INTO content (config, path, stamp, value) VALUES (?, ?, ?, ?)",
                        (config, path, stamp, value))

    def forget_contents(self, config: str, paths) -> None:
        self.db.executemany("DELETE FROM content WHERE config = ? AND path = ?", [(config, p) for p in paths])

    def keep_configs(self, current: str, keep: int = 3) -> None:
        """Forget the objects of all but the `keep` configurations used last (with development and
        --publish builds, two are in use; a change of settings or code makes a new one)."""
        recent = [c for c in (self.cache_get("configurations") or []) if c != current][: keep - 1]
        self.cache_put("configurations", [current, *recent])
        marks = ",".join("?" * (len(recent) + 1))
        self.db.execute(f"DELETE FROM content WHERE config NOT IN ({marks})", (current, *recent))

    # plugin caches -------------------------------------------------------------------------------
    def cache_get(self, name: str):
        row = self.db.execute("SELECT value FROM caches WHERE name = ?", (name,)).fetchone()
        return pickle.loads(row[0]) if row else None

    def cache_put(self, name: str, value) -> None:
        self.db.execute("INSERT OR REPLACE INTO caches (name, value) VALUES (?, ?)",
                        (name, pickle.dumps(value, pickle.HIGHEST_PROTOCOL)))
