"""Put imported comments into the comment database: all of them in one transaction, once.

Each comment carries an import_key naming its origin (e.g. "wordpress:<site>:<comment id>").
Keys already in the database are skipped, so importing the same file twice adds nothing, and a
failure part-way rolls the whole batch back. Threads that gain published comments get a publish
job in the same transaction; the caller then runs those jobs so the thread files exist at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm.attributes import flag_modified

from ..models import Comment, Job
from ..privacy import erased_addresses
from ..publish import request_publish
from .plan import ImportedComment

CHUNK = 500


@dataclass
class StoreReport:
    added: Counter = field(default_factory=Counter)  # status → count
    already: int = 0
    orphans: int = 0  # replies whose parent was not in the file
    erased: int = 0  # comments of people `hubbub privacy erase` erased: left out
    threads_to_publish: list[str] = field(default_factory=list)


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def existing_keys(session, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(keys):
        rows = session.execute(select(Comment.import_key, Comment.id).where(Comment.import_key.in_(chunk)))
        found.update((key, cid) for key, cid in rows)
    return found


def store_comments(hub, comments: list[ImportedComment], progress=None) -> StoreReport:
    """Add the comments not yet imported, link replies to parents, and ask for publishing."""
    report = StoreReport()
    with hub.transaction() as s:
        known = existing_keys(s, [c.key for c in comments])
        erased = erased_addresses(hub, s, [c.email for c in comments])
        new: list[tuple[ImportedComment, Comment]] = []
        for item in comments:
            if progress is not None:
                progress.update(1)
            if item.key in known:
                report.already += 1
                continue
            if item.email in erased and item.created <= erased[item.email]:
                report.erased += 1
                continue
            row = Comment(
                thread=item.thread, author=item.author, email=item.email, url=item.url, body=item.body,
                html=item.html, created=item.created, updated=item.created, remote_addr=item.remote_addr,
                user_agent=item.user_agent[:500], referrer=item.referrer[:500], status=item.status,
                akismet=item.akismet, guard_reasons=[], check_attempts=0, notify=False, source="import",
                import_key=item.key, published_at=item.created if item.status == "published" else None,
            )
            s.add(row)
            new.append((item, row))
            report.added[item.status] += 1
        s.flush()
        ids = {**known, **{item.key: row.id for item, row in new}}
        for item, row in new:
            if item.parent_key is None:
                continue
            parent = ids.get(item.parent_key)
            if parent is None:
                report.orphans += 1
            row.parent_id = parent
            flag_modified(row, "updated")  # linking a reply is not an edit: keep its original time
        threads = sorted({row.thread for _item, row in new if row.status == "published"})
        for thread in threads:
            request_publish(s, thread, delay=0)
        report.threads_to_publish = threads
    return report


def publish_now(hub, threads: list[str]) -> tuple[int, int]:
    """Run the publish jobs of these threads here and now; (done, left to the background runner)."""
    if not threads:
        return 0, 0
    with hub.sessions() as s:
        job_ids = [jid for chunk in _chunks(threads)
                   for jid in s.scalars(select(Job.id).where(Job.kind == "publish", Job.key.in_(chunk)))]
    for job_id in job_ids:
        hub.runner.run_job(job_id)  # False if a running service claimed it first: it publishes then
    with hub.sessions() as s:
        left = sum(s.scalar(select(Job.id).where(Job.kind == "publish", Job.key == t)) is not None for t in threads)
    return len(threads) - left, left
