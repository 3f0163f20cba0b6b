"""Background jobs: durable across restarts, run once with many runners, the Redis queue."""

from __future__ import annotations

import threading

import pytest
from conftest import REDIS_UP
from service_helpers import akismet_env, comment, hub_of, post


def test_a_restart_picks_up_every_check_that_was_due(make_app, service_env, akismet, slug):
    env = akismet_env(service_env, akismet)
    first = make_app(env)
    ids = [post(first.test_client(), slug, body=f"n{n}").json["id"] for n in range(5)]
    hub_of(first).stop()  # "crash": no job has run
    assert akismet.requests_to("comment-check") == []
    second = make_app(env)
    # At least: the minute's webmention scan comes due too when the test crosses a minute.
    assert hub_of(second).runner.run_due() >= 5
    assert len(akismet.requests_to("comment-check")) == 5
    assert all(comment(second, i).akismet == "ham" for i in ids)


def test_each_job_runs_once_with_many_runners(make_app, service_env, akismet, slug):
    from comments_service.jobs import JobRunner
    from comments_service.journey import JOB_KINDS

    env = akismet_env(service_env, akismet)
    app = make_app(env)
    client = app.test_client()
    ids = [post(client, slug, body=f"n{n}").json["id"] for n in range(20)]
    runners = [JobRunner(hub_of(app), JOB_KINDS, name=f"r{n}") for n in range(4)]
    threads = [threading.Thread(target=r.run_due) for r in runners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    checked = [r.form["comment_content"] for r in akismet.requests_to("comment-check")]
    assert sorted(checked) == sorted(f"n{n}" for n in range(20))
    assert all(comment(app, i).akismet == "ham" for i in ids)


def test_in_process_runner_checks_in_the_background(make_app, service_env, akismet, slug):
    app = make_app(akismet_env(service_env, akismet), run_jobs=True)
    cid = post(app.test_client(), slug).json["id"]
    akismet.wait_for_requests("comment-check", 1, timeout=10)
    for _ in range(100):
        if comment(app, cid).akismet == "ham":
            break
        threading.Event().wait(0.05)
    assert comment(app, cid).akismet == "ham"


def test_coalesced_jobs_run_once_more_when_asked_again_while_running(make_app, service_env, slug, monkeypatch):
    from comments_service import jobs
    from comments_service.journey import JOB_KINDS

    app = make_app(service_env)
    hub = hub_of(app)
    calls = []

    def run(h, payload):
        calls.append(payload["n"])
        if len(calls) == 1:  # a second request arrives while the first run is under way
            with h.transaction() as s:
                jobs.enqueue(s, "test-coalesce", {"n": 2}, key="k")

    monkeypatch.setitem(JOB_KINDS, "test-coalesce", run)

    with hub.transaction() as s:
        for n in (0, 1):
            jobs.enqueue(s, "test-coalesce", {"n": n}, key="k")
    hub.runner.run_due()
    assert calls == [1, 2]


@pytest.mark.skipif(not REDIS_UP, reason="Redis is not answering on 127.0.0.1:6379")
def test_redis_queue_runs_checks_in_a_worker(make_app, service_env, akismet, slug):
    from redis import Redis
    from rq import SimpleWorker

    from comments_service import jobs

    db = 9
    Redis.from_url(f"redis://127.0.0.1:6379/{db}").flushdb()
    env = {**akismet_env(service_env, akismet), "HUBBUB_QUEUE_URL": f"redis://127.0.0.1:6379/{db}"}
    app = make_app(env, run_jobs=True)
    hub = hub_of(app)
    assert not hub.run_jobs_here  # Redis mode: the service process only enqueues
    ids = [post(app.test_client(), slug, body=f"r{n}").json["id"] for n in range(3)]
    assert len(hub.waker.queue) >= 3
    assert akismet.requests_to("comment-check") == []
    jobs._worker_hub = hub
    try:
        SimpleWorker([hub.waker.queue], connection=hub.waker.redis).work(burst=True)
    finally:
        jobs._worker_hub = None
    assert all(comment(app, i).akismet == "ham" for i in ids)
    assert len(akismet.requests_to("comment-check")) == 3
    assert app.test_client().get("/api/health").json["queue"] == {"mode": "redis", "due_jobs": 0, "state": "ok"}
