"""Durable background jobs.

A job is a row in the `jobs` table, inserted in the same transaction as the change that needs it
(so a committed comment always has its check). Any process may run due jobs: a job is claimed by a
conditional UPDATE with a lease, so each runs once even with many workers. Failures are retried
with backoff. How jobs are woken differs, never what they do:
- in-process (default): a thread in each service process runs due jobs, woken at once on commit;
- Redis (`HUBBUB_QUEUE_URL=redis://...`): commits push job ids to an RQ queue that `hubbub worker`
  processes run; a sweeper re-pushes anything due that was missed (a crash, Redis briefly down).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
from collections.abc import Callable

from sqlalchemy import Row, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .db import unsynced_transaction
from .i18n import speaking
from .models import Job, insert_row, utcnow
from .outage import database_outage, describe

log = logging.getLogger(__name__)

Handler = Callable[["object", dict], None]  # fn(hub, payload); the table is journey.JOB_KINDS

LEASE = dt.timedelta(minutes=5)  # longer than any job may take; a crashed claimer's job runs again after it
MAX_ATTEMPTS = 25
RQ_QUEUE_NAME = "hubbub"


class RetryLater(Exception):
    """Raised by a handler that should run again after `delay` seconds (a fault, or a slow-down).

    With delay None the job backs off by its own attempt count.
    """

    def __init__(self, delay: float | None, reason: str):
        super().__init__(reason)
        self.delay = delay


def backoff(attempts: int, first: float = 30.0, cap: float = 3600.0) -> float:
    """30 s, 1 min, 2 min, 4 min ... capped: the first retry is soon, later ones spread out."""
    return min(cap, first * (2 ** max(0, attempts - 1)))


def enqueue(session: Session, kind: str, payload: dict | None = None, *, key: str | None = None,
            delay: float = 0.0) -> None:
    """Add a job to the caller's transaction. Jobs with a key coalesce with a waiting one.

    Whoever runs jobs is woken when the transaction commits (Hub.transaction)."""
    from .journey import JOB_KINDS  # the table names the handlers, which enqueue jobs themselves

    if kind not in JOB_KINDS:
        raise ValueError(f"no handler for job kind {kind!r}: add it to journey.JOB_KINDS")
    due = utcnow() + dt.timedelta(seconds=delay)
    if key is None:
        insert_row(session, Job, {"kind": kind, "payload": payload or {}, "due_at": due})
    else:
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(Job).values(kind=kind, key=key, payload=payload or {}, due_at=due, attempts=0,
                                  generation=0, created=utcnow())
        # Asked again while waiting or running: run (once more) no later than this request wants.
        stmt = stmt.on_conflict_do_update(
            index_elements=["kind", "key"],
            set_={"generation": Job.generation + 1, "payload": stmt.excluded.payload,
                  "due_at": _least(dialect, Job.due_at, stmt.excluded.due_at)},
        )
        session.execute(stmt)
    session.info[_JOBS_ADDED] = True


_JOBS_ADDED = "hubbub_jobs_added"


def jobs_added(session: Session) -> bool:
    """Whether jobs were enqueued in this session since the last call (the flag is cleared)."""
    return bool(session.info.pop(_JOBS_ADDED, False))


def _least(dialect: str, a, b):
    from sqlalchemy import func

    return func.least(a, b) if dialect == "postgresql" else func.min(a, b)


# Every job is claimed and then deleted: Core statements built once, run on a connection without
# an ORM session. (The ORM's UPDATE, built anew each time and evaluated against the session, and
# the SELECT of the job after it, cost half of a comment's check.)
_jobs = Job.__table__
_now = bindparam("now")
_CLAIM = (
    update(_jobs)
    .where(_jobs.c.id == bindparam("job_id"), _jobs.c.due_at <= _now,
           or_(_jobs.c.locked_until.is_(None), _jobs.c.locked_until < _now))
    .values(locked_by=bindparam("runner"), locked_until=bindparam("lease_end"), attempts=_jobs.c.attempts + 1)
    .returning(_jobs.c.id, _jobs.c.kind, _jobs.c.payload, _jobs.c.attempts, _jobs.c.generation)
)
_DELETE = delete(_jobs).where(_jobs.c.id == bindparam("job_id"))
# Asked for again while it ran (a coalesced job's generation moved on): kept, to run once more.
_DELETE_UNLESS_ASKED_AGAIN = _DELETE.where(_jobs.c.generation == bindparam("generation"))


class JobRunner:
    """Claims and runs due jobs for one process."""

    def __init__(self, hub, kinds: dict[str, Handler], name: str | None = None):
        self.hub = hub
        self.kinds = kinds
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{id(self) % 10000}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Jobs that ran while the database went away, with how to settle them once it is back.
        self._unsettled: dict[int, Callable[[], None]] = {}

    # Claiming and running -------------------------------------------------------------------
    def _claim(self, job_id: int) -> Row | None:
        """Lease the job to this runner: its id, kind, payload, attempts and generation, or None."""
        now = utcnow()
        # No wait for the disk: a claim lost to a power cut only lets the job run again, as a
        # crashed runner's does; the job's own commits, which wait, carry the claim with them.
        with unsynced_transaction(self.hub.engine) as conn:
            return conn.execute(_CLAIM, {"job_id": job_id, "now": now, "runner": self.name,
                                         "lease_end": now + LEASE}).first()

    def due_ids(self, limit: int = 20) -> list[int]:
        now = utcnow()
        with self.hub.sessions() as s:
            return list(s.scalars(
                select(Job.id).where(Job.due_at <= now,
                                     or_(Job.locked_until.is_(None), Job.locked_until < now))
                .order_by(Job.due_at, Job.id).limit(limit)
            ))

    def run_job(self, job_id: int) -> bool:
        """Claim and run one job; False if another process has it or it is not due."""
        job = self._claim(job_id)
        if job is None:
            return False
        fn = self.kinds.get(job.kind)
        try:
            if fn is None:
                raise RuntimeError(f"no handler for job kind {job.kind!r} in this process")
            with speaking(self.hub):  # emails and messages in the site's language
                fn(self.hub, job.payload)
        except RetryLater as exc:
            delay = exc.delay if exc.delay is not None else backoff(job.attempts, first=10.0, cap=600.0)
            reason = str(exc)  # (the name exc is gone after this block; the lambda may run later)
            self._settle(job, lambda: self._reschedule(job, delay, reason))
        except Exception as exc:  # a handler bug or fault must not stop the runner
            if job.attempts >= MAX_ATTEMPTS and not database_outage(exc):
                log.error("job %s %s failed %d times, dropping it: %s", job.id, job.kind, job.attempts, exc)
                self._settle(job, lambda: self._finish(job, force=True))
            else:
                if database_outage(exc):
                    log.warning("job %s %s: database unavailable (%s), will retry", job.id, job.kind, describe(exc))
                else:
                    log.exception("job %s %s failed (attempt %d), will retry", job.id, job.kind, job.attempts)
                reason = f"{type(exc).__name__}: {exc}"
                self._settle(job, lambda: self._reschedule(job, backoff(job.attempts, first=5.0), reason))
        else:
            self._settle(job, lambda: self._finish(job))
        return True

    def _settle(self, job: Row, action: Callable[[], None]) -> None:
        """Finish or reschedule a job that ran. When the database is away, remember how, and do it
        when it is back (settle_pending): a finished job must not run again when its lease runs
        out, and a failed one should not wait out the whole lease."""
        try:
            action()
        except Exception as exc:
            if not database_outage(exc):
                raise
            self._unsettled[job.id] = action
            raise

    def settle_pending(self) -> None:
        """Settle the jobs that ran while the database was away (raises while it still is)."""
        for job_id, action in list(self._unsettled.items()):
            action()
            del self._unsettled[job_id]

    def _finish(self, job: Row, force: bool = False) -> None:
        with self.hub.engine.begin() as conn:
            params = {"job_id": job.id, "generation": job.generation}
            if conn.execute(_DELETE if force else _DELETE_UNLESS_ASKED_AGAIN, params).rowcount == 0:
                # Asked for again while it ran: release it so it runs once more.
                conn.execute(update(Job).where(Job.id == job.id)
                             .values(locked_by=None, locked_until=None, attempts=0))
                self.hub.jobs_committed()

    def _reschedule(self, job: Row, delay: float, reason: str) -> None:
        with self.hub.transaction() as s:
            s.execute(update(Job).where(Job.id == job.id).values(
                locked_by=None, locked_until=None, last_error=reason[:2000],
                due_at=utcnow() + dt.timedelta(seconds=delay)))
        self.hub.jobs_committed(delay)

    def run_due(self, limit: int = 50) -> int:
        """Run every job that is due now (tests and the CLI call this directly)."""
        self.settle_pending()
        ran = 0
        while ran < limit:
            ids = self.due_ids(min(20, limit - ran))
            if not ids:
                break
            progressed = False
            for job_id in ids:
                if self.run_job(job_id):
                    ran += 1
                    progressed = True
            if not progressed:
                break
        return ran

    def next_due_in(self) -> float | None:
        with self.hub.sessions() as s:
            due = s.scalar(select(Job.due_at).where(Job.locked_until.is_(None)).order_by(Job.due_at).limit(1))
        return None if due is None else max(0.0, (due - utcnow()).total_seconds())

    # The in-process loop ----------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def release_orphans(self) -> int:
        """Free the leases of runners on this host whose process is gone (a crash, SIGKILL),
        so their jobs run now rather than when the lease runs out."""
        host = socket.gethostname()
        freed = 0
        with self.hub.transaction() as s:
            rows = s.execute(select(Job.id, Job.locked_by).where(Job.locked_by.like(f"{host}:%"))).all()
            for job_id, owner in rows:
                try:
                    pid = int(owner.split(":")[1])
                except (IndexError, ValueError):
                    continue
                if pid != os.getpid() and not _process_alive(pid):
                    freed += s.execute(update(Job).where(Job.id == job_id, Job.locked_by == owner)
                                       .values(locked_by=None, locked_until=None)).rowcount
        if freed:
            log.warning("released %d job(s) held by processes that are gone", freed)
        return freed

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="hubbub-jobs", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def _loop(self) -> None:
        failures = 0
        released = False
        while not self._stop.is_set():
            try:
                if not released:  # first of all, once the database is there
                    self.hub.database_ready()
                    self.release_orphans()
                    released = True
                self.run_due()
                wait = self.next_due_in()
                failures = 0
            except Exception as exc:  # the database may be away for a while; keep the loop alive
                failures += 1
                pause = backoff(failures, first=0.5, cap=15.0)
                if database_outage(exc):
                    log.warning("background jobs: database unavailable (%s); retrying in %.1f s", describe(exc), pause)
                else:
                    log.exception("background job loop error; retrying in %.1f s", pause)
                self._stop.wait(pause)
                continue
            # Other processes' commits are not signalled here: poll at least every second.
            self._wake.wait(timeout=1.0 if wait is None else min(max(wait, 0.05), 1.0))
            self._wake.clear()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but someone else's
        return True
    return True


# Redis/RQ ------------------------------------------------------------------------------------
_worker_hub = None  # set by `hubbub worker` before RQ runs jobs in this process


def rq_run(job_id: int) -> bool:
    """The function RQ calls: run our job by id in the worker's hub."""
    if _worker_hub is None:
        raise RuntimeError("rq_run called outside `hubbub worker`")
    return _worker_hub.runner.run_job(job_id)


class RedisWaker:
    """Pushes due job ids to RQ after commits; the DB claim keeps each run unique."""

    def __init__(self, hub, url: str):
        from redis import Redis
        from rq import Queue

        self.hub = hub
        self.redis = Redis.from_url(url)
        self.queue = Queue(RQ_QUEUE_NAME, connection=self.redis)

    def push_due(self) -> int:
        pushed = 0
        for job_id in self.hub.runner.due_ids(limit=500):
            # A marker keeps a job that is already queued from being queued again and again.
            if self.redis.set(f"hubbub:pushed:{job_id}", 1, nx=True, ex=30):
                self.queue.enqueue(rq_run, job_id, result_ttl=60, failure_ttl=3600)
                pushed += 1
        return pushed

    def ping(self) -> bool:
        try:
            return bool(self.redis.ping())
        except Exception:  # reported in the health answer, not raised
            return False
