"""Akismet faults under concurrent load, with the in-process job runner live (as `hubbub serve` runs it).

tests/test_service_akismet.py drives each verdict and fault one comment at a time with jobs run by
hand. Here many clients post over real sockets while Akismet refuses, answers 503, answers garbage,
rejects the key and hangs, in turn; then it recovers. Proven: every post is answered at once (a hung
Akismet holds no request), nothing is lost, nothing is published without a verdict (not even a
trusted returning commenter's comment), and after the recovery every comment gets its verdict.
"""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from attack_helpers import approve, fresh_site, hub_of, run_all_jobs, serve_app, wait_until
from service_helpers import akismet_env
from sqlalchemy import select, update

SLUG = "social-media-and-network-marketing"
CLIENTS = 8
RETURNING = "returning@example.org"  # has a published comment: ham would publish at once
SPAMMER = "akismet-guaranteed-spam"  # the stand-in's spam trigger

# A bound on a hang, not a speed test: generous, as the checks queue behind 1 s timeouts on a busy machine.
HANG_BOUND = 90


@pytest.fixture
def live(make_app, akismet, tmp_path):
    """The app with its background runner running, on a real threaded server."""
    site = fresh_site(tmp_path / "site")
    env = akismet_env({"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
                       "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "akismet-secret",
                       "HUBBUB_RATE_LIMIT": "100000/minute"}, akismet)
    # A trusted returning commenter, published before Akismet starts failing.
    setup = make_app(env, run_jobs=False)
    first = setup.test_client().post(f"/api/threads/{SLUG}/comments",
                                     json={"author": "Regular", "email": RETURNING, "body": "My first comment."})
    run_all_jobs(setup)
    approve(setup, [first.get_json()["id"]])
    run_all_jobs(setup)
    hub_of(setup).stop()
    akismet.clear()
    return env, site


def comments(app) -> dict:
    from comments_service.models import Comment

    with hub_of(app).sessions() as s:
        return {c.id: c for c in s.scalars(select(Comment))}


def post_many(base: str, tag: str, per_client: int) -> list[tuple[int, int | None, str]]:
    """CLIENTS clients at once; a third write as the returning commenter, one in eight as a spammer."""
    start = threading.Barrier(CLIENTS)

    def client(n: int):
        out = []
        with httpx.Client(base_url=base, timeout=30) as http:
            start.wait(10)
            for i in range(per_client):
                author = SPAMMER if (n + i) % 8 == 0 else f"{tag} reader {n}"
                email = RETURNING if (n + i) % 3 == 0 else f"reader{n}@example.org"
                body = f"{tag}: comment {i} of client {n}"
                r = http.post(f"/api/threads/{SLUG}/comments", json={"author": author, "email": email, "body": body})
                out.append((r.status_code, r.json().get("id") if r.status_code == 202 else None, body))
        return out

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [x for xs in pool.map(client, range(CLIENTS)) for x in xs]


def make_retries_due(app) -> None:
    """Backoff waits 30 s and more (20 min for a bad key): bring the retries forward."""
    from comments_service.models import Job

    with hub_of(app).transaction() as s:
        s.execute(update(Job).where(Job.locked_until.is_(None), Job.kind == "check")
                  .values(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    hub_of(app).runner.wake()


def test_a_hung_akismet_holds_no_request(make_app, live, akismet):
    env, _ = live
    app = make_app({**env, "HUBBUB_AKISMET_TIMEOUT": "60"}, run_jobs=True)
    akismet.set_mode("hang", hang_seconds=120)
    with serve_app(app) as base:
        first = httpx.post(f"{base}/api/threads/{SLUG}/comments",
                           json={"author": "A", "email": "a@example.org", "body": "Checked first."}, timeout=10)
        assert first.status_code == 202
        akismet.wait_for_requests("comment-check", 1, timeout=10)  # the runner now waits on Akismet
        answers = post_many(base, "while hung", 5)
        # Every answer came while the only check was still hanging: nothing was checked yet.
        assert [a for a in answers if a[0] != 202] == []
        assert all(c.akismet == "unchecked" for c in comments(app).values() if c.email != RETURNING
                   or c.body != "My first comment.")
        assert len(akismet.requests_to("comment-check")) == 1
        akismet.set_mode("ok")  # released: now everything is checked
        wait_until(lambda: all(c.akismet in ("ham", "spam") for c in comments(app).values()), 60,
                   "every comment checked")
    assert len(comments(app)) == 1 + 1 + CLIENTS * 5


def test_faults_under_load_lose_nothing_publish_nothing_then_recover(make_app, live, akismet):
    env, site = live
    app = make_app({**env, "HUBBUB_AKISMET_TIMEOUT": "1"}, run_jobs=True)
    answers = []
    health = {}
    with serve_app(app) as base:
        for mode in ("refuse", "503", "garbage", "invalid_key", "hang"):
            akismet.set_mode(mode, hang_seconds=10)
            before = len(akismet.requests_to("comment-check"))
            # A hang costs the runner the whole timeout per check (1 s here): fewer comments then.
            batch = post_many(base, mode, 1 if mode == "hang" else 3)
            answers += batch
            if mode != "refuse":
                wait_until(lambda before=before: len(akismet.requests_to("comment-check")) > before, HANG_BOUND,
                           f"a check in {mode}")
            if mode != "hang":
                make_retries_due(app)  # the earlier comments meet this fault too (their backoff brought on)
            wait_until(lambda: all(c.akismet != "unchecked" for c in comments(app).values()), HANG_BOUND,
                       f"every comment tried during {mode}")
            health[mode] = httpx.get(f"{base}/api/health", timeout=10).json()["akismet"]["state"]
            during = comments(app).values()
            assert not [c.id for c in during if c.status == "published" and c.body != "My first comment."], mode
            assert {c.akismet for c in during if c.body != "My first comment."} == {"error"}, mode
        assert health == {"refuse": "failing", "503": "failing", "garbage": "failing",
                          "invalid_key": "invalid_key", "hang": "failing"}
        # Recovery.
        akismet.set_mode("ok")
        make_retries_due(app)
        wait_until(lambda: all(c.akismet in ("ham", "spam") for c in comments(app).values()), 60,
                   "every comment checked after the recovery")
        assert httpx.get(f"{base}/api/health", timeout=10).json()["akismet"]["state"] == "ok"
    run_all_jobs(app)  # let the publishes of the trusted commenters' comments finish
    final = comments(app)
    accepted = {cid: body for status, cid, body in answers if status == 202}
    assert len(accepted) == len(answers) == 4 * CLIENTS * 3 + CLIENTS
    assert {cid: final[cid].body for cid in accepted} == accepted  # nothing lost
    for cid in accepted:
        c = final[cid]
        if c.author == SPAMMER:
            assert (c.status, c.akismet) == ("spam", "spam")
        elif c.email == RETURNING:
            assert (c.status, c.akismet) == ("published", "ham")  # published only now, after its verdict
        else:
            assert (c.status, c.akismet) == ("pending", "ham")  # waits for a moderator
    published = sorted(c.id for c in final.values() if c.status == "published")
    shown = [c["id"] for c in app.test_client().get(f"/api/threads/{SLUG}/comments").get_json()["comments"]]
    assert sorted(shown) == published
    checked_ok = {r.form["comment_content"] for r in akismet.requests_to("comment-check") if r.mode == "ok"}
    assert set(accepted.values()) <= checked_ok
    print(f"\nakismet faults: {len(accepted)} comments through refuse/503/garbage/invalid_key/hang, 0 lost, "
          f"{len(published) - 1} published after recovery, {len(akismet.requests_to('comment-check'))} checks")
