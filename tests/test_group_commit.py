"""Group commit: comments posted at the same time share one commit (one fsync), each still gets its
own answer, and one bad comment in a batch fails alone."""

from __future__ import annotations

import threading

import pytest
from attack_helpers import wait_until
from service_helpers import hub_of, post
from sqlalchemy import event, select

WRITERS = 6


def comment_commits(engine, on_commit):
    """Call on_commit(conn) at each commit of a transaction that inserted comments (the rate
    limiter's counts are write transactions of their own). Returns what removes the listeners."""

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.info["inserts_comments"] = False

    @event.listens_for(engine, "after_cursor_execute")
    def _insert(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO COMMENTS"):
            conn.info["inserts_comments"] = True

    @event.listens_for(engine, "commit")
    def _commit(conn):
        if conn.info.get("inserts_comments"):
            on_commit(conn)

    def stop() -> None:
        for name, fn in (("begin", _begin), ("after_cursor_execute", _insert), ("commit", _commit)):
            event.remove(engine, name, fn)
    return stop


class HeldFirstCommit:
    """Counts the commits of comments; the first waits until `queued` more writes wait behind it,
    so they must share the next commit."""

    def __init__(self, app, queued: int):
        # On SQLite the rate limiter's counts wait for the write lock the held commit keeps: the
        # others would queue there instead of behind the commit. Limits are not on trial here.
        app.extensions["hubbub_limiter"].enabled = False
        hub = hub_of(app)
        self.hub, self.queued, self.commits = hub, queued, 0
        self.remove = comment_commits(hub.engine, self._on_commit)

    def _on_commit(self, conn) -> None:
        self.commits += 1
        if self.commits == 1:
            wait_until(lambda: self.hub.group_commit.waiting() >= self.queued, 30,
                       f"{self.queued} comments queued behind the first commit")


def post_all(app, slug: str, bodies: list[dict], held: HeldFirstCommit) -> list:
    answers: list = [None] * len(bodies)

    def send(i: int) -> None:
        answers[i] = post(app.test_client(), slug, **bodies[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    threads[0].start()  # the first leads the first commit, which waits for the others
    wait_until(lambda: held.commits == 1, 30, "the first commit")
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join(60)
    return answers


def stored(app) -> dict[int, tuple[str, bool]]:
    """comment id -> (body, whether its check job exists)."""
    from comments_service.models import Comment, Job

    with hub_of(app).sessions() as s:
        checks = {j.payload["comment"] for j in s.scalars(select(Job).where(Job.kind == "check"))}
        return {c.id: (c.body, c.id in checks) for c in s.scalars(select(Comment))}


def test_concurrent_comments_share_commits_and_get_their_own_ids(make_app, service_env, slug):
    app = make_app(service_env)
    held = HeldFirstCommit(app, queued=WRITERS - 1)
    try:
        answers = post_all(app, slug, [{"body": f"Comment number {i}."} for i in range(WRITERS)], held)
    finally:
        held.remove()

    assert [a.status_code for a in answers] == [202] * WRITERS
    assert held.commits == 2, f"{WRITERS} comments took {held.commits} commits: they did not share"
    rows = stored(app)
    ids = [a.get_json()["id"] for a in answers]
    assert len(set(ids)) == WRITERS
    for i, comment_id in enumerate(ids):
        assert rows[comment_id] == (f"Comment number {i}.", True), "an answer names another comment"


def test_a_bad_comment_in_a_batch_fails_alone(make_app, service_env, slug):
    app = make_app(service_env)
    pending = post(app.test_client(), slug).get_json()["id"]  # not published: no replies yet
    held = HeldFirstCommit(app, queued=WRITERS - 1)
    bodies = [{"body": f"Comment number {i}."} for i in range(WRITERS)]
    bodies[3] = {"body": "A reply to a comment nobody can see.", "parent": pending}
    try:
        answers = post_all(app, slug, bodies, held)
    finally:
        held.remove()

    assert held.commits == 2, "the bad comment was not in the batch"
    assert answers[3].status_code == 400
    assert "parent" in answers[3].get_json()["fields"]
    good = [a for i, a in enumerate(answers) if i != 3]
    assert [a.status_code for a in good] == [202] * (WRITERS - 1)
    rows = stored(app)
    assert sorted(rows) == sorted([pending] + [a.get_json()["id"] for a in good])
    assert all(has_check for _, has_check in rows.values())


def test_a_failure_after_writing_rolls_back_only_that_comment(make_app, service_env):
    """Work that has written rows and then fails leaves none of them; the batch's others commit."""
    from comments_service.models import Comment, utcnow

    app = make_app(service_env)
    hub = hub_of(app)
    held = HeldFirstCommit(app, queued=2)
    outcome: dict = {}

    def writes(body: str, fail: bool):
        def work(s):
            s.add(Comment(thread="t", author="A", email="a@example.org", body=body, html=body, created=utcnow(),
                          status="pending", akismet="unchecked"))
            s.flush()
            if fail:
                raise RuntimeError("failed after writing")
            return body
        return work

    def run(name: str, fail: bool) -> None:
        try:
            outcome[name] = hub.group_commit.run(writes(name, fail))
        except RuntimeError as exc:
            outcome[name] = exc

    threads = [threading.Thread(target=run, args=(name, name == "bad")) for name in ("first", "good", "bad")]
    try:
        threads[0].start()
        wait_until(lambda: held.commits == 1, 30, "the first commit")
        for t in threads[1:]:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        held.remove()

    assert held.commits == 2
    assert outcome["first"] == "first" and outcome["good"] == "good"
    assert isinstance(outcome["bad"], RuntimeError)
    assert sorted(body for body, _ in stored(app).values()) == ["first", "good"]


def test_a_database_outage_in_a_batch_fails_the_whole_batch_as_an_outage(make_app, service_env):
    """The connection lost under one piece takes the batch's transaction with it: every piece gets
    that outage (a 503 to retry), none a stray error of the broken transaction, and nothing is stored."""
    from sqlalchemy.exc import OperationalError

    from comments_service.models import Comment, utcnow
    from comments_service.outage import database_outage

    app = make_app(service_env)
    hub = hub_of(app)
    held = HeldFirstCommit(app, queued=3)
    outcome: dict = {}

    def work_for(name: str):
        def work(s):
            if name == "lost":
                raise OperationalError("INSERT ...", {}, Exception("server closed the connection unexpectedly"))
            s.add(Comment(thread="t", author="A", email="a@example.org", body=name, html=name, created=utcnow(),
                          status="pending", akismet="unchecked"))
            s.flush()
            return name
        return work

    def run(name: str) -> None:
        try:
            outcome[name] = hub.group_commit.run(work_for(name))
        except Exception as exc:  # noqa: BLE001 - what each caller gets is the point
            outcome[name] = exc

    names = ("first", "before", "lost", "after")
    threads = [threading.Thread(target=run, args=(name,)) for name in names]
    try:
        threads[0].start()
        wait_until(lambda: held.commits == 1, 30, "the first commit")
        for queued, t in enumerate(threads[1:], start=1):  # one by one: the batch runs them in this order
            t.start()
            wait_until(lambda queued=queued: hub.group_commit.waiting() >= queued, 30, "queued in order")
        for t in threads:
            t.join(60)
    finally:
        held.remove()

    assert outcome["first"] == "first"
    for name in ("before", "lost", "after"):
        assert isinstance(outcome[name], Exception) and database_outage(outcome[name]), f"{name}: {outcome[name]!r}"
    assert sorted(body for body, _ in stored(app).values()) == ["first"]


def test_a_failure_alone_in_its_commit_leaves_nothing(make_app, service_env):
    """Work alone in its transaction runs without a savepoint: its failure rolls back everything."""
    from comments_service.models import Comment, utcnow

    app = make_app(service_env)

    def work(s):
        s.add(Comment(thread="t", author="A", email="a@example.org", body="b", html="b", created=utcnow(),
                      status="pending", akismet="unchecked"))
        s.flush()
        raise RuntimeError("failed after writing")

    with pytest.raises(RuntimeError, match="failed after writing"):
        hub_of(app).group_commit.run(work)
    assert stored(app) == {}
    assert hub_of(app).group_commit.run(lambda s: "still works") == "still works"


@pytest.mark.parametrize("n", [1, 3])
def test_sequential_comments_each_commit_once(make_app, service_env, slug, n):
    """Without company a comment is committed at once, by itself."""
    app = make_app(service_env)
    commits = []
    comment_commits(hub_of(app).engine, lambda conn: commits.append(1))
    for i in range(n):
        assert post(app.test_client(), slug, body=f"Alone {i}.").status_code == 202
    assert len(commits) == n
