"""Redis goes away in queue mode (HUBBUB_QUEUE_URL): the service (`hubbub serve`) and a
`hubbub worker` run as processes on a private redis-server, which is killed and started again.

Comments keep being accepted (their jobs live in the database), health says the queue is
unreachable, the same worker process carries on once Redis is back, and the checks that came due
during the outage run then (the worker's sweep pushes them). And the worker on PostgreSQL outlives
the database stopping under it.
"""

from __future__ import annotations

import contextlib
import subprocess
import time

import httpx
import pytest
from attack_helpers import BIN, fresh_site, hubbub_serve, process_env, stored_field, wait_until
from outage_helpers import PrivatePostgres, PrivateRedis

pytestmark = pytest.mark.slow

SLUG = "social-media-and-network-marketing"


def post(base: str, body: str) -> httpx.Response:
    return httpx.post(f"{base}/api/threads/{SLUG}/comments", timeout=30,
                      json={"author": "Rita", "email": "rita@example.org", "body": body})


def service_env(tmp_path, site, redis, akismet) -> dict:
    return process_env(HUBBUB_SITE_DIR=site, HUBBUB_DATABASE_URL=f"sqlite:///{tmp_path / 'comments.db'}",
                       HUBBUB_INSTANCE_DIR=tmp_path / "instance", HUBBUB_SECRET_KEY="redis-outage",
                       HUBBUB_RATE_LIMIT="100000/minute", HUBBUB_QUEUE_URL=redis.url,
                       HUBBUB_REBUILD_AFTER_PUBLISH="0", PYTHON_AKISMET_API_KEY="test-key",
                       PYTHON_AKISMET_BLOG_URL="http://127.0.0.1:8000/", HUBBUB_AKISMET_ENDPOINT=akismet.url)


@contextlib.contextmanager
def hubbub_worker(env: dict, site, log_path):
    """`hubbub worker` as a process of its own (terminated at the end)."""
    with open(log_path, "ab") as log:
        worker = subprocess.Popen([str(BIN / "hubbub"), "worker"], env=env, cwd=site, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    try:
        yield worker
    finally:
        worker.terminate()
        try:
            worker.wait(10)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)


def test_comments_are_accepted_and_checked_across_a_redis_outage(tmp_path, akismet):
    site = fresh_site(tmp_path / "site")
    with PrivateRedis(tmp_path / "redis.log") as redis:
        env = service_env(tmp_path, site, redis, akismet)
        database_url = env["HUBBUB_DATABASE_URL"]
        worker_log = tmp_path / "worker.log"
        with hubbub_serve(env, site, tmp_path / "serve.log") as server, hubbub_worker(env, site, worker_log) as worker:
            before = [post(server.url, f"Before the outage {n}.") for n in range(5)]
            assert [r.status_code for r in before] == [202] * 5
            wait_until(lambda: set(stored_field(database_url, "akismet").values()) == {"ham"}, 60, "the worker's checks")

            redis.kill()
            during = [post(server.url, f"During the outage {n}.") for n in range(10)]
            assert [r.status_code for r in during] == [202] * 10, [r.text[:200] for r in during]
            health = httpx.get(server.url + "/api/health", timeout=30)
            assert health.status_code == 200
            assert health.json()["queue"]["state"] == "unreachable"
            assert health.json()["status"] == "degraded"
            time.sleep(3)  # the worker meets the outage
            assert worker.poll() is None, worker_log.read_text()[-2000:]
            assert all(stored_field(database_url, "akismet")[r.json()["id"]] == "unchecked" for r in during)

            redis.start()  # an empty Redis on the same port: nothing of the queue survived
            wait_until(lambda: set(stored_field(database_url, "akismet").values()) == {"ham"}, 90,
                       "the checks that came due during the outage")
            assert worker.poll() is None, "the worker died instead of reconnecting"
            assert httpx.get(server.url + "/api/health", timeout=30).json()["queue"]["state"] == "ok"
            assert "unhandled error" not in server.log_text()
            checked = {r.form["comment_content"] for r in akismet.requests_to("comment-check")}
            assert {f"During the outage {n}." for n in range(10)} <= checked


def test_a_worker_started_while_redis_is_down_waits_for_it(tmp_path, akismet):
    site = fresh_site(tmp_path / "site")
    redis = PrivateRedis(tmp_path / "redis.log")  # not started yet
    env = service_env(tmp_path, site, redis, akismet)
    worker_log = tmp_path / "worker.log"
    with hubbub_serve(env, site, tmp_path / "serve.log") as server, hubbub_worker(env, site, worker_log) as worker:
        ids = [post(server.url, f"Queued while Redis is down {n}.").json()["id"] for n in range(3)]
        wait_until(lambda: "Redis unavailable" in worker_log.read_text(), 30, "the worker to meet the outage")
        assert worker.poll() is None, worker_log.read_text()[-2000:]
        with redis:
            wait_until(lambda: all(stored_field(env["HUBBUB_DATABASE_URL"], "akismet")[i] == "ham" for i in ids), 90,
                       "the checks, once Redis is there")
            assert worker.poll() is None


def test_the_worker_survives_a_postgresql_outage(tmp_path, akismet):
    """Queue mode on PostgreSQL: the database stops while checks are queued and running; the same
    worker process runs every check once it is back."""
    site = fresh_site(tmp_path / "site")
    with PrivatePostgres() as pg, PrivateRedis(tmp_path / "redis.log") as redis:
        env = {**service_env(tmp_path, site, redis, akismet), "HUBBUB_DATABASE_URL": pg.url}
        worker_log = tmp_path / "worker.log"
        with hubbub_serve(env, site, tmp_path / "serve.log") as server, hubbub_worker(env, site, worker_log) as worker:
            ids = [post(server.url, f"Before the stop {n}.").json()["id"] for n in range(3)]
            wait_until(lambda: all(stored_field(pg.url, "akismet").get(i) == "ham" for i in ids), 60, "the first checks")
            akismet.latency = 2.0  # a check is at Akismet when the database stops
            ids += [post(server.url, f"Checked across the stop {n}.").json()["id"] for n in range(3)]
            akismet.wait_for_requests("comment-check", 4, timeout=30)
            pg.stop()
            time.sleep(3)
            assert worker.poll() is None, worker_log.read_text()[-2000:]
            akismet.latency = 0.0
            pg.start()
            ids += [post(server.url, f"After the restart {n}.").json()["id"] for n in range(3)]
            wait_until(lambda: all(stored_field(pg.url, "akismet").get(i) == "ham" for i in ids), 120, "every check")
            assert worker.poll() is None, "the worker died with the database"


def test_a_worker_needs_the_site_project_and_keeps_the_redis_password_to_itself(tmp_path, akismet):
    """A worker publishes comments: where there is no site project (a web host holding only
    output/) it would write pages no build keeps, so it refuses to start. Its log never shows the
    queue's password."""
    redis = PrivateRedis(tmp_path / "redis.log")  # not started: the worker only has to say where it waits
    site = fresh_site(tmp_path / "site")
    env = {**service_env(tmp_path, site, redis, akismet),
           "HUBBUB_QUEUE_URL": redis.url.replace("redis://", "redis://:hunter2@", 1)}
    web = tmp_path / "web"
    (web / "output").mkdir(parents=True)
    refused = subprocess.run([str(BIN / "hubbub"), "worker", "--burst"], env={**env, "HUBBUB_SITE_DIR": str(web)},
                             cwd=web, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "holds no site project (pelicanconf.py)" in refused.stderr, refused.stderr
    assert not (web / "content").exists() and "hunter2" not in refused.stdout + refused.stderr
    log = tmp_path / "worker.log"
    with hubbub_worker(env, site, log):
        wait_until(lambda: "on redis://:***@" in log.read_text(), 30, "the worker to say where it waits")
    assert "hunter2" not in log.read_text()


def test_health_says_when_no_worker_runs_the_jobs(tmp_path, akismet):
    """A dead worker loses nothing (jobs wait in the database), but monitoring must hear of it."""
    site = fresh_site(tmp_path / "site")
    with PrivateRedis(tmp_path / "redis.log") as redis:
        env = {**service_env(tmp_path, site, redis, akismet), "HUBBUB_QUEUE_STALLED_AFTER": "1"}
        with hubbub_serve(env, site, tmp_path / "serve.log") as server:
            assert httpx.get(server.url + "/api/health", timeout=30).json()["queue"]["state"] == "ok"
            post(server.url, "Waiting for a worker.")  # no `hubbub worker` runs
            wait_until(lambda: httpx.get(server.url + "/api/health", timeout=30).json()["queue"]["state"] == "stalled",
                       30, "health to notice")
            health = httpx.get(server.url + "/api/health", timeout=30).json()
            assert health["status"] == "degraded" and "hubbub worker" in health["queue"]["message"]
            with hubbub_worker(env, site, tmp_path / "worker.log"):
                wait_until(lambda: httpx.get(server.url + "/api/health", timeout=30).json()["queue"]["state"] == "ok",
                           60, "the worker to catch up")
