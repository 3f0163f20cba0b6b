"""Group commit: comments posted at the same time share one commit (one fsync), each still gets its
own answer, and one bad comment in a batch fails alone."""

from __future__ import annotations

import threading

import pytest
from attack_helpers import wait_until
from service_helpers import hub_of, post
from sqlalchemy import event, select

WRITERS = 6


class HeldFirstCommit:
    """Counts the database's commits; the first waits until `queued` more writes wait behind it,
    so they must share the next commit."""

    def __init__(self, hub, queued: int):
        self.hub, self.queued, self.commits = hub, queued, 0
        event.listen(hub.engine, "commit", self._on_commit)

    def _on_commit(self, conn) -> None:
        self.commits += 1
        if self.commits == 1:
            wait_until(lambda: self.hub.group_commit.waiting() >= self.queued, 30,
                       f"{self.queued} comments queued behind the first commit")

    def remove(self) -> None:
        event.remove(self.hub.engine, "commit", self._on_commit)


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
    held = HeldFirstCommit(hub_of(app), queued=WRITERS - 1)
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
    held = HeldFirstCommit(hub_of(app), queued=WRITERS - 1)
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
    held = HeldFirstCommit(hub, queued=2)
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
    event.listen(hub_of(app).engine, "commit", lambda conn: commits.append(1))
    for i in range(n):
        assert post(app.test_client(), slug, body=f"Alone {i}.").status_code == 202
    assert len(commits) == n
