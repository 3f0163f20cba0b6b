"""`hubbub export`: every comment, with every field, as one JSON document.

For backups you can read, and for moving between SQLite and PostgreSQL (`hubbub import hubbub`
reads it back). The format is versioned:

    {"format": "hubbub-comments", "version": 1, "exported": "<UTC ISO 8601>",
     "database": "sqlite" | "postgresql", "count": N,
     "erased_emails": [{"digest", "erased"}, ...],
     "comments": [{<column>: <value>, ...}, ...]}

Each comment object has one member per column of the `comments` table, named as the column
(`id`, `thread`, `parent_id`, `author`, `email`, `url`, `body`, `html`, `created`, `updated`,
`published_at`, `remote_addr`, `user_agent`, `referrer`, `status`, `akismet`, `guard_reasons`,
`check_attempts`, `check_due`, `notify`, `source`, `import_key`, and any column added later);
times are UTC ISO 8601 strings or null. Comments are in id order. `erased_emails` (optional when
read) lists `hubbub privacy erase`'s keyed digests, so that the erasures hold in a database made
from the file. The file holds email and IP addresses: keep it as private as the database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from sqlalchemy import func, select

from .models import Comment, ErasedEmail, utcnow

FORMAT = "hubbub-comments"
VERSION = 1


def columns() -> list[str]:
    return [column.key for column in Comment.__table__.columns]


def comment_record(comment: Comment) -> dict:
    """All of a comment's fields as JSON-ready values."""
    record = {}
    for name in columns():
        value = getattr(comment, name)
        record[name] = value.isoformat() if isinstance(value, dt.datetime) else value
    return record


def erased_records(session) -> list[dict]:
    """The erasures (keyed digests, never addresses): a database made from the export keeps them."""
    rows = session.execute(select(ErasedEmail.digest, ErasedEmail.erased).order_by(ErasedEmail.erased,
                                                                                    ErasedEmail.digest))
    return [{"digest": digest, "erased": erased.isoformat()} for digest, erased in rows]


def iter_comments(session, where=None, batch: int = 500) -> Iterator[Comment]:
    """Comments in id order, a batch at a time (an export of a big database stays small in memory)."""
    last = 0
    while True:
        query = select(Comment).where(Comment.id > last).order_by(Comment.id).limit(batch)
        if where is not None:
            query = query.where(where)
        rows = list(session.scalars(query))
        if not rows:
            return
        yield from rows
        last = rows[-1].id
        session.expunge_all()


def write_export(hub, out: IO[str]) -> int:
    """Write the whole export to `out`; returns the number of comments."""
    with hub.sessions() as s:  # a read session: writers carry on while a long export runs
        if hub.engine.dialect.name == "postgresql":  # one snapshot throughout, as SQLite's read has
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        total = s.scalar(select(func.count(Comment.id)))
        header = {"format": FORMAT, "version": VERSION, "exported": utcnow().isoformat(),
                  "database": hub.engine.dialect.name, "count": total, "erased_emails": erased_records(s)}
        head = json.dumps(header, ensure_ascii=False, indent=1)
        out.write(head[:-2] + ',\n "comments": [')
        count = 0
        for comment in iter_comments(s):
            out.write(("\n  " if count == 0 else ",\n  ") + json.dumps(comment_record(comment), ensure_ascii=False))
            count += 1
        out.write("\n ]\n}\n")
    return count


def export_to(hub, dest: str | None) -> tuple[int, str]:
    """Export to a file (written atomically, readable by its owner only) or to stdout ("-" or None)."""
    if dest in (None, "-"):
        return write_export(hub, sys.stdout), "standard output"
    path = Path(dest)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            count = write_export(hub, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return count, str(path)
