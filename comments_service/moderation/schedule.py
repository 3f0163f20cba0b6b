"""Helpers for moderation's background jobs: periodic runs and retry counts.

A periodic job is a chain of one-off jobs, one per time slot (key "<kind>@<slot>"): every process
start and every run asks for the next slot, and asking twice for one slot coalesces into one job.
A run that fails is retried by the job runner; the chain goes on regardless.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from ..jobs import enqueue
from ..models import Job


def schedule_next(session, kind: str, every: float, after_slot: int = 0, now: float | None = None) -> None:
    """Ask for `kind` at the start of the next slot of `every` seconds (always after `after_slot`)."""
    now = time.time() if now is None else now
    slot = max(int(now // every) + 1, after_slot + 1)
    enqueue(session, kind, {"slot": slot}, key=f"{kind}@{slot}", delay=max(0.0, slot * every - now))


def attempts(hub, kind: str, key: str) -> int:
    """How many times the job (kind, key) has been tried, this run included."""
    with hub.sessions() as s:
        return s.scalar(select(Job.attempts).where(Job.kind == kind, Job.key == key)) or 1
