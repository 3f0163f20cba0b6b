"""Reads never block writers: read sessions take no write lock (and cannot write).

A long `hubbub export` is held open half-way through its rows while comments keep being posted:
every POST is accepted while the export is still reading, and the export is one snapshot. The
other way round, the moderation queue, its API and the health answer are served while a writer
holds its transaction open.
"""

from __future__ import annotations

import io
import threading

import pytest
from moderation_helpers import fast_password_hashing, insert_comments, logged_in, make_token
from service_helpers import comments, hub_of, post
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from comments_service.export import write_export
from comments_service.models import Comment

ROWS = 1200  # more than two of the export's batches
POSTS = 5
SAFETY = 10  # seconds: only so that a broken lock fails the test instead of hanging it


class PausingOutput(io.StringIO):
    """Where the export writes: after `pause_after` comments it says so and waits to be let go."""

    def __init__(self, pause_after: int):
        super().__init__()
        self.pause_after, self.rows = pause_after, 0
        self.paused, self.resume = threading.Event(), threading.Event()

    def write(self, text: str) -> int:
        if text.startswith((",\n  ", "\n  {")):
            self.rows += 1
            if self.rows == self.pause_after:
                self.paused.set()
                assert self.resume.wait(SAFETY), "the test never let the export finish"
        return super().write(text)


def test_posts_are_accepted_while_a_long_export_reads(service_env, make_app, slug):
    app = make_app(service_env)
    insert_comments(app, ROWS, slug, status="published")
    out = PausingOutput(pause_after=ROWS // 2)
    exported: list[int] = []
    exporter = threading.Thread(target=lambda: exported.append(write_export(hub_of(app), out)))
    exporter.start()
    try:
        assert out.paused.wait(SAFETY), "the export did not get half-way"
        accepted: list[int] = []

        def post_some():
            client = app.test_client()
            accepted.extend(post(client, slug, body=f"Posted during the export {i}").status_code for i in range(POSTS))

        poster = threading.Thread(target=post_some)
        poster.start()
        poster.join(SAFETY)
        # Every POST went through while the export's read was still open mid-way.
        assert not poster.is_alive(), "a POST waited for the export: a read holds the write lock"
        assert accepted == [202] * POSTS
        assert exporter.is_alive() and not out.resume.is_set()
    finally:
        out.resume.set()
        exporter.join(SAFETY)
    # The export is one snapshot: the rows that were there when it began, none posted during it.
    assert exported == [ROWS]
    assert out.getvalue().count('"thread"') == ROWS
    assert len(comments(app)) == ROWS + POSTS


def test_a_read_session_that_writes_fails_loudly(service_env, make_app, slug):
    app = make_app(service_env)
    hub = hub_of(app)
    with hub.sessions() as s:
        s.add(Comment(thread=slug, author="Sneaky", email="s@example.org", body="x", html="<p>x</p>"))
        with pytest.raises(DBAPIError, match="(?i)read-?only"):
            s.flush()
    with hub.sessions() as s:
        assert s.scalar(select(func.count(Comment.id))) == 0
    # The pooled connection the read used writes again in a write transaction.
    insert_comments(app, 2, slug)
    with hub.sessions() as s:
        assert s.scalar(select(func.count(Comment.id))) == 2


def test_the_queue_and_its_api_are_served_while_a_writer_holds_its_transaction(service_env, make_app, slug,
                                                                             monkeypatch):
    fast_password_hashing(monkeypatch)
    app = make_app(service_env)
    hub = hub_of(app)
    browser = logged_in(app)
    _, token = make_token(app)
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/moderation/comments", headers=auth).status_code == 200  # notes the token's use
    ids = insert_comments(app, 3, slug)
    writing, release = threading.Event(), threading.Event()

    def writer():
        with hub.transaction() as s:
            s.add(Comment(thread=slug, author="Slow", email="w@example.org", body="w", html="<p>w</p>"))
            s.flush()
            writing.set()
            assert release.wait(SAFETY)

    holder = threading.Thread(target=writer)
    holder.start()
    answers: dict = {}

    def read():
        listed = api.get("/api/moderation/comments?status=pending", headers=auth)
        answers["api"] = (listed.status_code, sorted(c["id"] for c in listed.get_json()["comments"]))
        answers["queue"] = browser.get("/moderate/").status_code
        answers["health"] = api.get("/api/health").status_code

    try:
        assert writing.wait(SAFETY)
        reader = threading.Thread(target=read)
        reader.start()
        reader.join(SAFETY)
        assert not reader.is_alive(), "a read waited for the writer"
    finally:
        release.set()
        holder.join(SAFETY)
    # The writer's uncommitted comment is not seen; the committed ones are.
    assert answers == {"api": (200, sorted(ids)), "queue": 200, "health": 200}
