"""`hubbub import hubbub FILE.json`: read back what `hubbub export` wrote.

Into an empty database (a restore, or a move between SQLite and PostgreSQL) every comment keeps
its id and every field. Into a database that already has comments it merges: a comment already
there (same id, thread and time, or the same import_key) is skipped, so importing twice adds
nothing, and an export made before `hubbub privacy erase` does not bring back the person's name
on their anonymised comments (the email is not compared: erasing cleared it). A comment whose id
is taken by a different comment gets a new id, and an import_key
("hubbub:<thread>:<created>:<old id>") so that it too is found the next time. Comments of people
erased since (the database's or the file's erasures) are left out.
All comments go in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select, text
from sqlalchemy.orm.attributes import flag_modified

from ..check import GIVE_UP_AFTER, request_check
from ..export import FORMAT, VERSION, columns
from ..models import STATUSES, VERDICTS, Comment, ErasedEmail, utcnow
from ..privacy import erased_addresses
from ..publish import request_publish
from .plan import ImportFailed
from .store import _chunks, existing_keys

TIME_FIELDS = {"created", "updated", "published_at", "check_due"}
REQUIRED = {"id": int, "thread": str, "author": str, "email": str, "body": str, "html": str,
            "created": str, "status": str}


@dataclass
class JsonImportReport:
    added: dict = field(default_factory=dict)  # status → count
    already: int = 0
    renumbered: int = 0
    orphans: int = 0
    erased: int = 0  # comments of people erased since the export: left out
    threads_to_publish: list[str] = field(default_factory=list)
    checks: int = 0


def _time(value, where: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ImportFailed(f"{where}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise ImportFailed(f"{where}: {value!r} has no UTC offset (expected e.g. 2026-11-23T10:00:00+00:00)")
    return parsed.astimezone(dt.UTC)


def read_export(path: Path) -> tuple[list[dict], list[str], list[tuple[str, dt.datetime]]]:
    """The comments of an export file, checked: (records with parsed times, ignored field names,
    the erasures it carries as (digest, time))."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportFailed(f"{path} is not JSON ({exc}): give the file `hubbub export` wrote") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ImportFailed(f"{path} is not a Hubbub export: it has no \"format\": \"{FORMAT}\"")
    if data.get("version") != VERSION:
        raise ImportFailed(f"{path} is export format version {data.get('version')!r}; this Hubbub reads "
                           f"version {VERSION}: upgrade Hubbub to import it")
    items = data.get("comments")
    if not isinstance(items, list):
        raise ImportFailed(f"{path}: \"comments\" must be a list")
    known = set(columns())
    ignored: set[str] = set()
    records, seen = [], set()
    for n, item in enumerate(items, 1):
        where = f"{path}: comment #{n}"
        if not isinstance(item, dict):
            raise ImportFailed(f"{where} is not an object")
        for name, kind in REQUIRED.items():
            if not isinstance(item.get(name), kind) or isinstance(item.get(name), bool):
                raise ImportFailed(f"{where}: field {name!r} is missing or not a {kind.__name__}")
        where = f"{path}: comment id {item['id']}"
        if item["id"] in seen:
            raise ImportFailed(f"{where} appears twice")
        seen.add(item["id"])
        if item["status"] not in STATUSES:
            raise ImportFailed(f"{where}: status {item['status']!r} is not one of {', '.join(STATUSES)}")
        if item.get("akismet", "unchecked") not in VERDICTS:
            raise ImportFailed(f"{where}: akismet {item['akismet']!r} is not one of {', '.join(VERDICTS)}")
        parent = item.get("parent_id")
        if parent is not None and (not isinstance(parent, int) or isinstance(parent, bool)):
            raise ImportFailed(f"{where}: parent_id must be an integer or null")
        record = {k: v for k, v in item.items() if k in known}
        ignored |= set(item) - known
        for name in TIME_FIELDS & set(record):
            record[name] = _time(record[name], f"{where}, field {name!r}")
        records.append(record)
    return records, sorted(ignored), _erasures(data.get("erased_emails") or [], path)


_DIGEST = re.compile(r"[0-9a-f]{64}")


def _erasures(items, path: Path) -> list[tuple[str, dt.datetime]]:
    if not isinstance(items, list):
        raise ImportFailed(f"{path}: \"erased_emails\" must be a list")
    found = []
    for n, item in enumerate(items, 1):
        digest = item.get("digest") if isinstance(item, dict) else None
        if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
            raise ImportFailed(f"{path}: erased_emails #{n} has no digest (64 hex digits)")
        when = _time(item.get("erased"), f"{path}: erased_emails #{n}")
        if when is None:
            raise ImportFailed(f"{path}: erased_emails #{n} has no time (\"erased\")")
        found.append((digest, when))
    return found


def _fallback_key(record: dict) -> str:
    return f"hubbub:{record['thread']}:{record['created'].isoformat()}:{record['id']}"[:200]


def keep_erasures(session, erasures) -> None:
    """An export's erasures that this database does not have yet: they hold here too."""
    if not erasures:
        return
    known = set(session.scalars(select(ErasedEmail.digest)))
    session.add_all([ErasedEmail(digest=d, erased=t) for d, t in erasures if d not in known])
    session.flush()


class _DryRun(Exception):
    """Rolls a dry run's transaction back once its report is made."""


def import_records(hub, records: list[dict], erasures=(), dry_run: bool = False) -> JsonImportReport:
    """Add the records that are not there yet; with dry_run, work out the same report and roll it all
    back (PostgreSQL's id sequence alone moves on: ids are never handed out twice anyway)."""
    report = JsonImportReport()
    try:
        with hub.transaction() as s:
            _import(hub, s, records, erasures, report)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    return report


def _import(hub, s, records: list[dict], erasures, report: JsonImportReport) -> None:
    keep_erasures(s, erasures)
    ids = [r["id"] for r in records]
    taken: dict[int, tuple] = {}
    for chunk in _chunks(ids):
        for cid, thread, created in s.execute(
                select(Comment.id, Comment.thread, Comment.created).where(Comment.id.in_(chunk))):
            taken[cid] = (thread, created)
    keys = existing_keys(s, [r["import_key"] for r in records if r.get("import_key")]
                         + [_fallback_key(r) for r in records if r["id"] in taken])
    new_id: dict[int, int] = {}
    kept_ids: list[tuple[dict, Comment]] = []  # inserted with their own id
    renumbered: list[tuple[dict, Comment]] = []  # their id is taken: the database gives one
    erased = erased_addresses(hub, s, [r["email"] for r in records])
    for record in records:
        old = record["id"]
        if record.get("import_key") in keys:
            new_id[old] = keys[record["import_key"]]
            report.already += 1
            continue
        if taken.get(old) == (record["thread"], record["created"]):
            new_id[old] = old
            report.already += 1
            continue
        key = record.get("import_key") or _fallback_key(record)
        if old in taken and key in keys:
            new_id[old] = keys[key]
            report.already += 1
            continue
        if record["email"] in erased and record["created"] <= erased[record["email"]]:
            report.erased += 1
            continue
        fields = {k: v for k, v in record.items() if k not in ("id", "parent_id")}
        if old not in taken:
            kept_ids.append((record, Comment(id=old, **fields)))
            continue
        renumbered.append((record, Comment(**{**fields, "import_key": key})))
    # Explicit ids first, then move the id sequence past them, then the renumbered ones:
    # otherwise a generated id could take an id that an explicit one needs.
    s.add_all([row for _r, row in kept_ids])
    s.flush()
    if kept_ids and hub.engine.dialect.name == "postgresql":
        # Never backwards: an id handed out before (a comment deleted since) is not handed out again.
        s.execute(text("SELECT setval(pg_get_serial_sequence('comments', 'id'), GREATEST("
                       "(SELECT MAX(id) FROM comments), "
                       "pg_sequence_last_value(pg_get_serial_sequence('comments', 'id')::regclass), 1))"))
    s.add_all([row for _r, row in renumbered])
    s.flush()
    added = kept_ids + renumbered
    report.renumbered = len(renumbered)
    for _record, row in added:
        report.added[row.status] = report.added.get(row.status, 0) + 1
    new_id.update({record["id"]: row.id for record, row in added})
    for record, row in added:
        parent = record.get("parent_id")
        if parent is None:
            continue
        row.parent_id = new_id.get(parent, parent if parent in taken else None)
        flag_modified(row, "updated")  # keep the exported time: setting the parent is not an edit
        if row.parent_id is None:
            report.orphans += 1
    threads = sorted({row.thread for _r, row in added if row.status == "published"})
    for thread in threads:
        request_publish(s, thread, delay=0)
    report.threads_to_publish = threads
    # A check that was waiting (a retry, or not yet run) must not be lost in the move.
    now = utcnow()
    for _record, row in added:
        if row.status == "pending" and (row.check_due is not None or (
                row.akismet == "unchecked" and row.source != "import" and now - row.created < GIVE_UP_AFTER)):
            request_check(s, row)
            report.checks += 1


def count_comments(hub) -> int:
    with hub.sessions() as s:
        return s.scalar(select(func.count(Comment.id)))
