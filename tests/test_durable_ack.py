"""Durable acknowledgements: a 202 means the comment and its check job are on stable storage.

The real app in a child process (durable_child.py) posts comments from several threads and is cut
with os._exit at one step of a commit: before BEGIN, after the comment's INSERT, before COMMIT,
right after COMMIT (waiters not yet told), before the 202 goes out, and in the COMMIT of a batch
of several comments. Every acknowledged comment must then be stored with its check job, and
nothing half-written may exist. os._exit loses no written data, so a second test watches the
system calls (strace): each commit syncs the write-ahead log, which is what survives a power cut.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from durable_child import DIED, FAULTS, THREADS  # noqa: E402

pytestmark = pytest.mark.slow


def settings(site_dir: Path, database_url: str, tmp_path: Path) -> dict:
    return {"HUBBUB_SITE_DIR": str(site_dir), "HUBBUB_DATABASE_URL": database_url,
            "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "durable-secret",
            "HUBBUB_RATE_LIMIT": "1000000/minute", "HUBBUB_REBUILD_AFTER_PUBLISH": "0"}


def run_child(env: dict, acks: Path, point: str, nth: int, wrap: list[str] | None = None) -> int:
    cmd = [*(wrap or []), sys.executable, str(HERE / "durable_child.py"), json.dumps(env), str(acks), point, str(nth)]
    return subprocess.run(cmd, timeout=300).returncode


def stored(database_url: str) -> tuple[dict[int, str], list[int], list[int]]:
    """(comment id -> body, the comment ids of check jobs, ids of comments with no check job)."""
    from comments_service import db
    from comments_service.models import Comment, Job

    engine = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            comments = dict(conn.execute(select(Comment.id, Comment.body)).all())
            payloads = conn.execute(select(Job.payload).where(Job.kind == "check")).scalars()
            checks = [p["comment"] for p in payloads]
        return comments, checks, sorted(set(comments) - set(checks))
    finally:
        engine.dispose()


# The 1st time cuts the very first commit; the 12th lets several comments commit first.
CUTS = [(point, nth) for point in FAULTS for nth in ((1,) if point == "batched-commit" else (1, 12))]


@pytest.mark.parametrize(("point", "nth"), CUTS)
def test_every_acknowledged_comment_survives_a_cut_at_any_step(site_dir, database_url, tmp_path, point, nth):
    acks_file = tmp_path / "acks.jsonl"
    env = settings(site_dir, database_url, tmp_path)

    assert run_child(env, acks_file, point, nth) == DIED, f"the child never reached {point}"

    acked = [json.loads(line) for line in acks_file.read_text().splitlines()] if acks_file.exists() else []
    cut = json.loads(Path(f"{acks_file}.cut").read_text())  # bodies the cut transaction had inserted
    comments, checks, without_check = stored(database_url)
    for ack in acked:
        assert comments.get(ack["id"]) == ack["body"], f"acknowledged comment {ack['id']} lost ({point})"
    assert without_check == [], f"comments without their check job: {without_check}"
    assert sorted(checks) == sorted(comments), "a check job whose comment is not stored"
    assert len(comments) - len(acked) <= THREADS, "more unacknowledged comments than requests in flight"
    if point in ("after-insert", "before-commit", "batched-commit"):  # cut before COMMIT: all of it is gone
        assert cut, "the cut transaction had inserted no comment"
        assert not set(cut) & set(comments.values()), "the cut transaction left comments behind"
    if point == "batched-commit":
        assert len(cut) >= 2
    if point == "after-commit":  # committed, never answered: stored all the same
        assert cut and set(cut) <= set(comments.values())


def strace_works() -> bool:
    return shutil.which("strace") is not None and subprocess.run(
        ["strace", "-qq", "-o", "/dev/null", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not strace_works(), reason="needs strace, allowed to trace (ptrace)")
def test_each_commit_syncs_the_write_ahead_log(site_dir, sqlite_url, tmp_path):
    """os._exit loses nothing the kernel has; a power cut loses what was not synced. Count the
    fsyncs of the WAL while the child commits: at least one per commit (synchronous=NORMAL
    syncs only at checkpoints)."""
    acks_file = tmp_path / "acks.jsonl"
    trace = tmp_path / "strace.txt"
    env = settings(site_dir, sqlite_url, tmp_path)
    wrap = ["strace", "-f", "-y", "-qq", "-e", "trace=fsync,fdatasync", "-o", str(trace)]

    # The 41st COMMIT: 40 have landed (the migrations ran before the fault was set up).
    assert run_child(env, acks_file, "before-commit", 41, wrap=wrap) == DIED
    wal = Path(sqlite_url.split("///", 1)[1]).name + "-wal>"
    wal_syncs = sum(1 for line in trace.read_text().splitlines() if wal in line and "sync(" in line)
    assert wal_syncs >= 40, f"{wal_syncs} fsyncs of the WAL for 40 commits: a 202 could be lost to a power cut"
