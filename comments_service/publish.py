"""Publish: approved comments go into the static site, through jobs.

- `request_publish(session, thread)`: what moderation, the check and the importers call.
- `publish` (one per thread, coalesced): the thread's published comments from the database go to
  hubbub.core.publisher, which writes the thread file and patches output/ in place (the same
  bytes a full build writes). One publisher at a time: a PostgreSQL advisory lock across hosts,
  the publisher's file lock within one.
- A publish never takes off the site comments its database cannot account for (`foreign_comments`:
  the service started on another database than the one that published the thread file); it waits
  and says so on /api/health until they are imported.
- `rebuild` (debounced): an incremental `hubbub build` shortly after publishing
  (HUBBUB_REBUILD_AFTER_PUBLISH), for what only a build derives from comments (an author's profile
  stats, accolades and latest comments), and when a change could not be applied in place.
- `deploy` (coalesced): the optional HUBBUB_DEPLOY_COMMAND after each publish; failures retry.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select, text

from hubbub.core.identity import author_key, site_salt
from hubbub.core.words import count, plural

from . import service_state as state
from .jobs import RetryLater, enqueue
from .models import Comment, utcnow

log = logging.getLogger(__name__)

PUBLISH_LOCK_ID = 727275


def request_publish(session, thread: str, delay: float = 0.05) -> None:
    """Publish a thread soon; a burst of changes to one thread coalesces into one publish."""
    enqueue(session, "publish", {"thread": thread}, key=thread, delay=delay)


def published_comments(session, thread: str) -> list[Comment]:
    """A thread's published comments in thread order."""
    return list(session.scalars(
        select(Comment).where(Comment.thread == thread, Comment.status == "published")
        .order_by(Comment.created, Comment.id)
    ))


def thread_records(session, thread: str, salt: bytes) -> list[dict]:
    """Thread-file records: what the public may see, plus the salted author key."""
    return [{**c.public_dict(), "author_key": author_key(c.identity(), salt)}
            for c in published_comments(session, thread)]


def _highest_id_issued(session) -> int:
    """The highest comment id this database ever handed out (ids are never reused, so a comment
    deleted since had one no higher)."""
    highest = session.scalar(select(func.max(Comment.id))) or 0
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        issued = session.scalar(text("SELECT seq FROM sqlite_sequence WHERE name = 'comments'"))
    elif dialect == "postgresql":
        issued = session.scalar(text("SELECT pg_sequence_last_value(pg_get_serial_sequence('comments', 'id')::regclass)"))
    else:
        issued = None
    return max(highest, issued or 0)


def _second(value) -> str:
    from hubbub.core.threadfile import iso_utc

    return iso_utc(value if value.tzinfo else value.replace(tzinfo=dt.UTC))


def foreign_comments(session, slug: str, on_file: list, salt: bytes | None) -> list:
    """The comments of a thread file (hubbub.core.threadfile.Comment) this database cannot account
    for: neither its own (the id in this thread, written at that time; a webmention by id alone, as
    its time is the mention's), nor moved to another id by an import (a comment of this thread
    written at that time by the same writer: their salted author key), nor published here and
    deleted since (no row, an id it handed out). Rewriting the file from this database would take
    them off the site."""
    if not on_file:
        return []
    rows = {r.id: r for r in session.execute(
        select(Comment.id, Comment.thread, Comment.kind, Comment.created)
        .where(Comment.id.in_([c.id for c in on_file])))}
    written_here = {(_second(created), author_key(email, salt) if salt else "") for created, email in session.execute(
        select(Comment.created, Comment.email).where(Comment.thread == slug, Comment.kind == "comment"))}
    issued = None
    foreign = []
    for c in on_file:
        row = rows.get(c.id)
        if row is not None and row.thread == slug and (row.kind == "webmention" or _second(row.created) == _second(c.created)):
            continue
        if c.kind == "comment" and (_second(c.created), c.author_key if salt else "") in written_here:
            continue
        if row is None:
            issued = _highest_id_issued(session) if issued is None else issued
            if c.id <= issued:
                continue
        foreign.append(c)
    return foreign


def _foreign_message(path: Path, foreign: list) -> str:
    ids = ", ".join(str(c.id) for c in foreign[:10]) + (", ..." if len(foreign) > 10 else "")
    return (f"{path} holds {count(len(foreign), 'published comment')} ({plural(len(foreign), 'id')} {ids}) that "
            "this comment database does not have (a new database, or an older backup?): publishing would take "
            "them off the site, so it waits. Import them from the database that published them (`hubbub export "
            "FILE` there, `hubbub import hubbub FILE` here), or move the file away to drop them for good.")


@contextlib.contextmanager
def _one_publisher(hub):
    """Serialise publishers of every host sharing a PostgreSQL database (SQLite is one host).

    A busy lock does not block a worker behind a stuck publisher: the job retries shortly.
    """
    if hub.engine.dialect.name != "postgresql":
        yield
        return
    with hub.engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:id)"), {"id": PUBLISH_LOCK_ID}).scalar():
            raise RetryLater(0.2, "another process is publishing")
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": PUBLISH_LOCK_ID})
            conn.commit()


def publish_thread_job(hub, payload: dict) -> None:
    from hubbub.core.atomic import storage_fault
    from hubbub.core.publisher import comments_dir_for, publish_thread
    from hubbub.core.threadfile import ThreadFileError, read_thread, thread_path

    slug = payload["thread"]
    with _one_publisher(hub):
        try:
            salt = site_salt(hub.config.site_dir)  # written on the first publish
            comments_dir = comments_dir_for(hub.config.site_dir, hub.config.output_dir)
            try:
                on_file = read_thread(comments_dir, slug).comments
            except ThreadFileError as exc:
                log.warning("thread %s: %s; it is written again from the database", slug, exc)
                on_file = []
            with hub.sessions() as s:
                records = thread_records(s, slug, salt)
                foreign = foreign_comments(s, slug, on_file, salt)
                was_failing = state.get(s, "publish").get("state", "ok") != "ok"
            if foreign:
                message = _foreign_message(thread_path(comments_dir, slug), foreign)
                log.error("publishing thread %s waits: %s", slug, message)
                _record_failure(hub, message)
                raise RetryLater(None, message)
            result = publish_thread(hub.config.site_dir, hub.config.output_dir, slug, records)
        except OSError as exc:
            if not storage_fault(exc):
                raise
            # Every file is replaced atomically, so the site shows the old thread whole; the
            # comments are safe in the database and go out when this retry finds space.
            log.error("publishing thread %s failed, will retry: %s", slug, exc)
            _record_failure(hub, f"{type(exc).__name__}: {exc}")
            raise RetryLater(None, str(exc)) from exc
    with hub.transaction() as s:
        if was_failing:
            state.put(s, "publish", state="ok", last_ok=utcnow().isoformat(), last_error=None)
        if result.needs_full_build:
            log.warning("thread %s: %s; a full rebuild follows", slug, "; ".join(result.problems))
            enqueue(s, "rebuild", {}, key="site", delay=hub.config.rebuild_delay)
        elif hub.config.rebuild_after_publish:
            # Profile stats and accolades come from comments too; the fast path leaves them as they
            # were. An incremental build (a burst of approvals books one) rewrites just those pages.
            enqueue(s, "rebuild", {}, key="site", delay=hub.config.rebuild_after_publish)
        if hub.config.deploy_command:
            enqueue(s, "deploy", {}, key="site", delay=1.0)


def _record_failure(hub, error: str) -> None:
    """Tell /api/health; best effort, as the database may share the full disk."""
    try:
        with hub.transaction() as s:
            state.put(s, "publish", state="failing", last_error=error[:500], last_error_at=utcnow().isoformat())
    except Exception as exc:  # the retry is what matters, and it is scheduled whatever happens here
        log.warning("could not record the publishing failure: %s", exc)


def _built_for_publishing(hub) -> bool:
    """Whether output/ was built with publishconf.py. `hubbub build` records it; after a plain
    `pelican` run, the site's address tells: publishconf.py's, or another."""
    site = hub.threads.site()
    if site.get("publish") is not None:
        return bool(site["publish"])
    from hubbub.build import load_settings

    root, built_for = Path(hub.config.site_dir), (site.get("siteurl") or "").rstrip("/")
    if not built_for or not (root / "publishconf.py").is_file():
        return False
    return load_settings(root, True).get("SITEURL", "").rstrip("/") == built_for


def rebuild_job(hub, payload: dict) -> None:
    """An incremental build in a child process, so a broken plugin cannot take the service down.

    It uses the settings of the build that made output/: a production site rebuilds with --publish.
    """
    from hubbub.core.publisher import republish_threads, stale_threads

    command = [sys.executable, "-m", "hubbub", "build", "--output", str(hub.config.output_dir)]
    if _built_for_publishing(hub):
        command.append("--publish")
    done = subprocess.run(command, cwd=hub.config.site_dir, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        error = f"hubbub build failed: {done.stderr.strip()[-1000:]}"
        _record_failure(hub, error)  # /api/health says so until a build works (the job is retried)
        raise RuntimeError(error)
    with hub.transaction() as s:
        if state.get(s, "publish").get("state", "ok") != "ok":
            state.put(s, "publish", state="ok", last_ok=utcnow().isoformat(), last_error=None)
    # Comments approved while the build ran are in their thread files but maybe not on the pages.
    stale = stale_threads(hub.config.site_dir, hub.config.output_dir)
    if stale:
        republish_threads(hub.config.site_dir, hub.config.output_dir, stale)
    if hub.config.deploy_command:
        with hub.transaction() as s:
            enqueue(s, "deploy", {}, key="site", delay=1.0)


def deploy_job(hub, payload: dict) -> None:
    from hubbub.core.deploy import DeployError, run_deploy

    try:
        run_deploy(hub.config.deploy_command, hub.config.site_dir, hub.config.output_dir)
    except DeployError as exc:
        log.error("deploy command failed, will retry: %s", exc)
        raise RetryLater(None, str(exc)) from exc
