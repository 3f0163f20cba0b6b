"""Group commit: writes that arrive while a commit is in flight share the next one.

A durable answer costs one fsync per commit (SQLite `synchronous=FULL`, PostgreSQL's default
`synchronous_commit`). Request threads hand their work ("what to do inside a transaction") to
`GroupCommit.run` and wait; one of them at a time is the leader: it opens one transaction, runs
every queued piece of work in its own SAVEPOINT (so a piece that raises fails alone and leaves no
trace; a piece alone needs none), commits once and gives each waiter its own result or exception. Whoever runs jobs is woken
after the commit, as `Hub.transaction` does.

One process batches its own threads; processes still take turns at the database (db._WriteGate).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from .jobs import jobs_added
from .outage import database_outage

T = TypeVar("T")


class _Work(Generic[T]):
    def __init__(self, fn: Callable[[Session], T]):
        self.fn = fn
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


class GroupCommit:
    def __init__(self, sessions: sessionmaker[Session], committed: Callable[[], None]):
        self._sessions = sessions
        self._committed = committed  # called after a commit that enqueued jobs
        self._cond = threading.Condition()
        self._queue: list[_Work] = []
        self._leading = False

    def waiting(self) -> int:
        """How many pieces of work wait for the next commit."""
        with self._cond:
            return len(self._queue)

    def run(self, fn: Callable[[Session], T]) -> T:
        """Run fn(session) in a transaction shared with concurrent callers; return once it is committed."""
        work = _Work(fn)
        with self._cond:
            self._queue.append(work)
            while self._leading and not work.done:
                self._cond.wait()
            if work.done:  # a leader committed it (or failed it) meanwhile
                return work.outcome()
            self._leading = True
        try:
            self._commit_batch()
        finally:
            with self._cond:
                self._leading = False
                self._cond.notify_all()
        return work.outcome()

    def _take_queue(self) -> list[_Work]:
        with self._cond:
            batch, self._queue = self._queue, []
        return batch

    def _commit_batch(self) -> None:
        batch: list[_Work] = []
        try:
            with self._sessions() as session:
                with session.begin():
                    session.connection()  # BEGIN: may wait for other writers, while more work queues up
                    batch = self._take_queue()
                    alone = len(batch) == 1  # nobody to protect: no savepoint, a failure rolls back all
                    for work in batch:
                        try:
                            with contextlib.nullcontext() if alone else session.begin_nested():
                                work.result = work.fn(session)
                        except Exception as exc:
                            if database_outage(exc):
                                raise  # the connection is gone: the whole batch fails with it (503 each)
                            work.error = exc  # this piece's fault: only its savepoint is rolled back
                    if alone and batch[0].error is not None:
                        raise batch[0].error
                wake = jobs_added(session)
        except BaseException as exc:  # the transaction failed: nothing of the batch is stored
            batch = batch or self._take_queue()
            for work in batch:
                work.error = work.error or exc
            if not isinstance(exc, Exception):
                raise  # KeyboardInterrupt and the like still stop the leader
        else:
            if wake:
                self._committed()
        finally:
            with self._cond:
                for work in batch:
                    work.done = True
