"""The database goes away while readers post, then comes back.

PostgreSQL: a private cluster is stopped for a few seconds under a load of posting clients, with the
real service (`hubbub serve`, in-process jobs) as a server process. Every answer is a 202 or a 503
with Retry-After, never a 500; every comment answered 202 is in the database afterwards; a reader
without JavaScript gets the reply form back with what they typed; health goes down, then ok; the
job thread survives and runs what came due.

SQLite: the database's directory turns read-only, or its disk fills up: 503, not 500, and
202 again once it is writable.
"""

from __future__ import annotations

import contextlib
import threading
import time

import httpx
import pytest
from attack_helpers import fresh_site, hubbub_serve, process_env, store, stored_field, wait_until
from moderation_helpers import fast_password_hashing, logged_in
from outage_helpers import PrivatePostgres, fill, read_only, small_tmpfs
from service_helpers import GOOD, comments, hub_of
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

pytestmark = pytest.mark.slow

SLUG = "social-media-and-network-marketing"
CLIENTS = 6
TYPED = "My carefully typed reply, with <angle brackets> & an ampersand."


class Load:
    """Clients posting comments as fast as they get answers; every answer is kept."""

    def __init__(self, base: str):
        self.base = base
        self.answers: list[tuple[int, dict, str]] = []  # (status, headers, body)
        self.sent: dict[int, str] = {}  # id -> body, for every 202
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(CLIENTS)]

    def _client(self, n: int) -> None:
        i = 0
        with httpx.Client(base_url=self.base, timeout=30) as http:
            while not self.stop.is_set():
                body = f"Outage comment {i} of client {n}."
                i += 1
                r = http.post(f"/api/threads/{SLUG}/comments",
                              json={"author": f"C{n}", "email": f"c{n}@example.org", "body": body})
                with self.lock:
                    self.answers.append((r.status_code, dict(r.headers), r.text))
                    if r.status_code == 202:
                        self.sent[r.json()["id"]] = body
                if r.status_code == 503:
                    time.sleep(0.05)  # a real client would wait Retry-After; the test only needs no spin

    def count(self, status: int) -> int:
        with self.lock:
            return sum(1 for s, _, _ in self.answers if s == status)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(40)


def health(base: str) -> tuple[int, dict]:
    r = httpx.get(base + "/api/health", timeout=30)
    return r.status_code, r.json()


@pytest.fixture(scope="module")
def pg_outage(tmp_path_factory):
    """The PostgreSQL outage scenario, run once; the tests below look at what happened."""
    tmp = tmp_path_factory.mktemp("pg-outage")
    site = fresh_site(tmp / "site")
    with PrivatePostgres() as pg:
        env = process_env(HUBBUB_SITE_DIR=site, HUBBUB_DATABASE_URL=pg.url, HUBBUB_INSTANCE_DIR=tmp / "instance",
                          HUBBUB_SECRET_KEY="outage-secret", HUBBUB_RATE_LIMIT="100000/minute",
                          HUBBUB_REBUILD_AFTER_PUBLISH="0")
        seen: dict = {}
        with hubbub_serve(env, site, tmp / "serve.log") as server:
            with Load(server.url) as load:
                wait_until(lambda: load.count(202) >= 40, 60, "40 comments accepted before the outage")
                pg.stop()
                wait_until(lambda: load.count(503) >= 20, 60, "503 answers while the database is down")
                seen["health_down"] = health(server.url)
                seen["form"] = httpx.post(f"{server.url}/api/threads/{SLUG}/comments",
                                          data={**GOOD, "body": TYPED}, timeout=30)
                time.sleep(3)  # down for a few seconds under load
                pg.start()
                wait_until(lambda: health(server.url)[0] == 200, 60, "health ok after the restart")
                seen["health_up"] = health(server.url)
                back = load.count(202)
                wait_until(lambda: load.count(202) >= back + 40, 60, "40 comments accepted after the restart")
            # The job thread survived the outage: every check, due before, during or after it, runs.
            wait_until(lambda: not due_checks(pg.url), 90, "every check job to run")
            seen["stored"] = stored_field(pg.url, "body")
        seen["log"] = server.log_text()
        seen["load"] = load
        yield seen


def due_checks(url: str) -> int:
    from comments_service.models import Job

    engine, sessions = store(url)
    try:
        with sessions() as s:
            return s.scalar(select(func.count(Job.id)).where(Job.kind == "check"))
    finally:
        engine.dispose()


def test_every_answer_is_202_or_503_with_retry_after(pg_outage):
    load = pg_outage["load"]
    statuses = {s for s, _, _ in load.answers}
    print(f"\npg outage: {load.count(202)} accepted, {load.count(503)} asked to retry of {len(load.answers)}")
    assert statuses <= {202, 503}, sorted(statuses)
    assert load.count(503) >= 20
    for status, headers, text in load.answers:
        if status == 503:
            assert int(headers["retry-after"]) > 0
            assert "unavailable" in httpx.Response(503, text=text).json()["error"]
    assert "unhandled error" not in pg_outage["log"]


def test_every_comment_answered_202_is_stored(pg_outage):
    stored, sent = pg_outage["stored"], pg_outage["load"].sent
    lost = {cid: body for cid, body in sent.items() if stored.get(cid) != body}
    assert lost == {}
    # A 503 may hide a commit whose answer was cut off, never the other way round.
    assert len(stored) >= len(sent)


def test_health_goes_down_then_ok(pg_outage):
    code, body = pg_outage["health_down"]
    assert code == 503
    assert body["database"]["state"] == "down" and body["status"] == "error"
    code, body = pg_outage["health_up"]
    assert code == 200 and body["database"]["state"] == "ok"


def test_the_reply_form_keeps_what_the_reader_typed(pg_outage):
    r = pg_outage["form"]
    assert r.status_code == 503 and int(r.headers["retry-after"]) > 0
    assert "text/html" in r.headers["content-type"]
    assert "could not be stored yet" in r.text
    assert "My carefully typed reply, with &lt;angle brackets&gt; &amp; an ampersand." in r.text
    assert 'value="Ada Reader"' in r.text and 'value="ada@example.org"' in r.text


def test_a_service_started_while_postgresql_is_down_waits_for_it(tmp_path):
    """A restart during an outage (a deploy, a crash) must not leave the service down after the
    database returns: it starts, serves the static site, answers 503 where it needs the database,
    and once PostgreSQL is there brings the schema up to date, takes comments and runs their jobs."""
    site = fresh_site(tmp_path / "site")
    with PrivatePostgres() as pg:
        pg.stop()  # a new cluster with an empty database: the schema is made only after the restart
        env = process_env(HUBBUB_SITE_DIR=site, HUBBUB_DATABASE_URL=pg.url, HUBBUB_INSTANCE_DIR=tmp_path / "instance",
                          HUBBUB_SECRET_KEY="outage-secret", HUBBUB_REBUILD_AFTER_PUBLISH="0")
        server = hubbub_serve(env, site, tmp_path / "serve.log")
        try:
            server.start(ready_status=503)
            code, body = health(server.url)
            assert code == 503 and body["database"]["state"] == "down", body
            assert "Connection refused" in body["database"]["error"]
            # What needs no database keeps working: the static site, its published comments, the API's description.
            assert httpx.get(f"{server.url}/posts/{SLUG}/", timeout=30).status_code == 200
            assert httpx.get(f"{server.url}/api/threads/{SLUG}/comments", timeout=30).status_code == 200
            assert httpx.get(f"{server.url}/api/openapi.json", timeout=30).status_code == 200
            assert httpx.get(f"{server.url}/api/nothing-here", timeout=30).status_code == 404
            r = httpx.post(f"{server.url}/api/threads/{SLUG}/comments", json={**GOOD, "body": "Too early."}, timeout=30)
            assert r.status_code == 503 and int(r.headers["retry-after"]) > 0 and "unavailable" in r.json()["error"]
            r = httpx.post(f"{server.url}/api/threads/{SLUG}/comments", data={**GOOD, "body": TYPED}, timeout=30)
            assert r.status_code == 503 and "could not be stored yet" in r.text
            assert "&lt;angle brackets&gt;" in r.text
            assert httpx.get(f"{server.url}/moderate/login", timeout=30).status_code == 503

            pg.start()
            wait_until(lambda: health(server.url)[0] == 200, 60, "health ok once PostgreSQL is up")
            r = httpx.post(f"{server.url}/api/threads/{SLUG}/comments", json={**GOOD, "body": "Just in time."},
                           timeout=30)
            assert r.status_code == 202, r.text
            wait_until(lambda: not due_checks(pg.url), 60, "the comment's check job to run")
            assert stored_field(pg.url, "body") == {r.json()["id"]: "Just in time."}
        finally:
            server.stop()
        log = server.log_text()
    assert "the comment database cannot be reached" in log
    assert "unhandled error" not in log and "Traceback" not in log


# SQLite ----------------------------------------------------------------------------------------------
def sqlite_env(site_dir, db_dir, tmp_path) -> dict:
    return {"HUBBUB_SITE_DIR": str(site_dir), "HUBBUB_DATABASE_URL": f"sqlite:///{db_dir / 'comments.db'}",
            "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "test-secret",
            "HUBBUB_RATE_LIMIT": "1000/minute"}


def post_json(client, body: str):
    return client.post(f"/api/threads/{SLUG}/comments", json={**GOOD, "body": body})


def assert_unavailable(r) -> None:
    from comments_service.outage import RETRY_AFTER

    assert r.status_code == 503, (r.status_code, r.get_data(as_text=True)[:300])
    # The outage's own wait, which an error's text gives too (not the rate limit's window).
    assert r.headers["Retry-After"] == str(RETRY_AFTER)
    if r.is_json and isinstance(r.json.get("error"), str):
        assert f"{RETRY_AFTER} seconds" in r.json["error"]


def test_sqlite_read_only_is_503_then_202(make_app, site_dir, tmp_path, monkeypatch):
    fast_password_hashing(monkeypatch)
    db_dir = tmp_path / "db"
    db_dir.mkdir()
    app = make_app(sqlite_env(site_dir, db_dir, tmp_path))
    client = app.test_client()
    moderator = logged_in(app)
    assert post_json(client, "Before.").status_code == 202
    hub_of(app).engine.dispose()  # the pool's files would keep the directory from going read-only
    with read_only(db_dir):
        r = post_json(client, "While read-only.")
        assert_unavailable(r)
        assert r.is_json and "unavailable" in r.json["error"]
        page = client.post(f"/api/threads/{SLUG}/comments", data={**GOOD, "body": TYPED})
        assert_unavailable(page)
        assert "&lt;angle brackets&gt; &amp; an ampersand." in page.get_data(as_text=True)
        mod = moderator.get("/moderate/")
        assert_unavailable(mod)
        assert "The database is unavailable" in mod.get_data(as_text=True)
        health = client.get("/api/health")
        assert_unavailable(health)
        assert health.json["database"]["state"] == "down"
    hub_of(app).engine.dispose()  # connections opened on the read-only mount
    assert post_json(client, "After.").status_code == 202
    assert client.get("/api/health").status_code == 200
    assert [c.body for c in comments(app)] == ["Before.", "After."]
    assert moderator.get("/moderate/").status_code == 200


def test_sqlite_on_a_full_disk_is_503_then_202(make_app, site_dir, tmp_path):
    db_dir = tmp_path / "db"
    with small_tmpfs(db_dir, "4m"):
        app = make_app(sqlite_env(site_dir, db_dir, tmp_path))
        client = app.test_client()
        assert post_json(client, "Before.").status_code == 202
        filler = fill(db_dir)
        answers = [post_json(client, f"Disk full {n}: " + "x" * 5000) for n in range(20)]
        assert {r.status_code for r in answers} <= {202, 503}
        assert 503 in {r.status_code for r in answers}
        for r in answers:
            if r.status_code == 503:
                assert_unavailable(r)
        accepted = [r.json["id"] for r in answers if r.status_code == 202]
        # Reads still work, writes do not: health tries a write rather than saying ok.
        health = client.get("/api/health")
        assert_unavailable(health)
        assert health.json["database"]["state"] == "failing"
        assert "full" in health.json["database"]["error"]
        filler.unlink()
        assert client.get("/api/health").json["database"]["state"] == "ok"
        assert post_json(client, "After.").status_code == 202
        with hub_of(app).sessions() as s:
            from comments_service.models import Comment

            stored = set(s.scalars(select(Comment.id)))
            assert s.scalar(select(func.count(Comment.id))) == len(accepted) + 2
        assert set(accepted) <= stored
        hub_of(app).stop()  # close the database before the tmpfs goes


def test_a_job_that_ran_while_the_database_went_away_is_settled_when_it_returns(make_app, site_dir, tmp_path,
                                                                                monkeypatch):
    """The job's work was done, but marking it done failed: it is marked done once the database is
    back, rather than running again when its lease runs out (or, failed, waiting out the lease)."""
    from comments_service import jobs
    from comments_service.journey import JOB_KINDS
    from comments_service.models import Job
    from comments_service.outage import database_outage

    db_dir = tmp_path / "db"
    db_dir.mkdir()
    app = make_app(sqlite_env(site_dir, db_dir, tmp_path))
    hub = hub_of(app)
    runs = []
    outage = contextlib.ExitStack()

    def job(h, payload):
        runs.append(payload["n"])
        h.engine.dispose()
        outage.enter_context(read_only(db_dir))  # the database goes away as the job ends

    monkeypatch.setitem(JOB_KINDS, "test-outage", job)
    with hub.transaction() as s:
        jobs.enqueue(s, "test-outage", {"n": 1})
    with pytest.raises(OperationalError) as raised:
        hub.runner.run_due()
    assert database_outage(raised.value)
    with pytest.raises(OperationalError):
        hub.runner.run_due()  # still away: nothing runs, nothing is lost
    outage.close()
    hub.engine.dispose()
    assert hub.runner.run_due() == 0  # settles the job without running it again
    assert runs == [1]
    with hub.sessions() as s:
        assert s.scalar(select(func.count(Job.id)).where(Job.kind == "test-outage")) == 0
