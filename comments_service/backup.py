"""`hubbub backup DEST`: a consistent copy of the live SQLite comment database.

Copying the file with `cp` while the service writes can catch it half-way (and misses what is
still in the -wal file). SQLite's online backup API copies a single consistent snapshot instead,
while the service keeps running: in WAL mode readers never block writers. The copy is checked
(PRAGMA integrity_check), made self-contained (no -wal file), readable by its owner only, and
renamed into place only when complete. PostgreSQL has its own tool for this: pg_dump.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup could not be made; the message says why and what to do instead."""


@dataclass
class BackupResult:
    path: Path
    size: int
    comments: int


def sqlite_path(database_url: str) -> Path:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise BackupError(
            f"the comment database is {url.get_backend_name()} ({url.render_as_string(hide_password=True)}): "
            "back it up with pg_dump, e.g. `pg_dump --format=custom --file=hubbub.dump DBNAME` "
            "(restore with pg_restore), or use `hubbub export FILE.json` for the comments alone"
        )
    if not url.database or url.database == ":memory:":
        raise BackupError("the comment database is in memory: there is nothing on disk to back up")
    return Path(url.database)


def destination(dest: Path | str, suffix: str = ".db", now: dt.datetime | None = None) -> Path:
    """A directory, or a path ending in a slash (made if missing), gets a dated file name inside it;
    anything else is the file to write."""
    if Path(dest).is_dir() or str(dest).endswith(("/", os.sep)):
        stamp = (now or dt.datetime.now(dt.UTC)).strftime("%Y%m%d-%H%M%S")
        return Path(dest) / f"hubbub-{stamp}{suffix}"
    return Path(dest)


def published_dirs(config) -> list[tuple[str, Path]]:
    """Where a file reaches readers: the site's output, published as it is, and its content
    directory (Pelican's PATH), whose static files the next build copies there."""
    from hubbub.build import BuildError, load_settings

    try:
        content = Path(load_settings(config.site_dir)["PATH"])
    except BuildError:  # settings that do not load: the usual place
        content = config.site_dir / "content"
    return [("output", Path(config.output_dir)), ("content", content)]


def refuse_public(target: Path, published: list[tuple[str, Path]]) -> None:
    """Backups and exports hold email and IP addresses: never where the site is published from."""
    for what, directory in published:
        if target.resolve().is_relative_to(directory.resolve()):
            how = "which is published as it is" if what == "output" else "whose files the next build may publish"
            raise BackupError(f"{target} is inside the site's {what} {directory}, {how}, and the file holds "
                              "email and IP addresses: write it outside, e.g. ~/hubbub-backups/")


def backup_sqlite(database_url: str, dest: Path | str, published: list[tuple[str, Path]] = ()) -> BackupResult:
    source = sqlite_path(database_url)
    if not source.is_file():
        raise BackupError(f"there is no database at {source}: check HUBBUB_DATABASE_URL (or start the service once)")
    target = destination(dest)
    refuse_public(target, published)
    if target.resolve() == source.resolve():
        raise BackupError(f"{target} is the live database itself: back it up to another file")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    src = sqlite3.connect(str(source), timeout=30)
    try:
        dst = sqlite3.connect(str(tmp))
        try:
            src.backup(dst)  # all pages in one step: one snapshot, whatever writers do meanwhile
            dst.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
            status = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if status != "ok":
                raise BackupError(f"the copy failed its integrity check ({status}); the live database was not changed")
            try:
                comments = dst.execute("SELECT COUNT(*) FROM comments").fetchone()[0]
            except sqlite3.OperationalError:
                comments = 0  # a database the service has not set up yet
        finally:
            dst.close()
        os.chmod(tmp, 0o600)  # it holds email and IP addresses
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        raise BackupError(f"backing up {source} failed: {exc}") from exc
    finally:
        src.close()
        Path(tmp).unlink(missing_ok=True)
    return BackupResult(target, target.stat().st_size, comments)
