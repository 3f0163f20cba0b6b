"""Load: 16 clients post 50 comments each, all at once, against the service as `hubbub serve` runs it
and under gunicorn with 4 workers (SQLite, and PostgreSQL where it answers), with Akismet checks
running in the background meanwhile (the local stand-in).

Every 202 answer must be a stored comment with what was sent, no answer may be a 5xx, every comment
gets exactly one Akismet check, and the server's own output holds no traceback, email or client
address (clients come through a trusted proxy with addresses of their own).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from attack_helpers import fresh_site, gunicorn, hubbub_serve, pg_database, process_env, store, wait_until

pytestmark = pytest.mark.slow

CLIENTS = 16
PER_CLIENT = 50
SLUGS = ["social-media-and-network-marketing", "email-lists-are-built-on-permission",
         "what-a-router-teaches-us-about-networking", "working-the-room-at-a-business-breakfast"]
FIGURES: dict[str, dict] = {}


def email_of(client: int) -> str:
    return f"load-client-{client:02d}@example.org"


def address_of(client: int) -> str:
    return f"203.0.113.{100 + client}"


def run_load(base: str) -> list[dict]:
    """CLIENTS threads, released together, each posting PER_CLIENT comments in turn."""
    start = threading.Barrier(CLIENTS)

    def client(n: int) -> list[dict]:
        results = []
        with httpx.Client(base_url=base, timeout=60) as http:
            start.wait(30)
            for i in range(PER_CLIENT):
                body = f"Load comment {i} of client {n}."
                sent = {"client": n, "i": i, "body": body, "slug": SLUGS[(n + i) % len(SLUGS)]}
                try:
                    r = http.post(f"/api/threads/{sent['slug']}/comments",
                                  json={"author": f"Client {n}", "email": email_of(n), "body": body},
                                  headers={"X-Forwarded-For": address_of(n), "User-Agent": f"load/{n}"})
                    sent.update(status=r.status_code, answer=r.json() if r.status_code < 500 else r.text[:300])
                except httpx.HTTPError as exc:
                    sent.update(status=None, answer=f"{type(exc).__name__}: {exc}")
                results.append(sent)
        return results

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [r for rs in pool.map(client, range(CLIENTS)) for r in rs]


def stored_comments(database_url: str) -> dict[int, tuple]:
    from sqlalchemy import select

    from comments_service.models import Comment

    engine, sessions = store(database_url)
    try:
        with sessions() as s:
            return {c.id: (c.thread, c.body, c.email, c.remote_addr, c.akismet)
                    for c in s.scalars(select(Comment))}
    finally:
        engine.dispose()


def check_run(name: str, server, results: list[dict], database_url: str, akismet) -> None:
    accepted = [r for r in results if r["status"] == 202]
    failed = [r for r in results if r["status"] != 202]
    # Every check that is due runs, once each (several runners under gunicorn claim each job once).
    wait_until(lambda: len(akismet.requests_to("comment-check")) >= len(accepted), 60,
               f"{len(accepted)} Akismet checks")
    stored = wait_until(lambda: (s := stored_comments(database_url)) and
                        all(v[4] == "ham" for v in s.values()) and s, 30, "every verdict stored")
    log = server.log_text()
    lost = [r for r in accepted if stored.get(r["answer"]["id"], (None, None))[:2] != (r["slug"], r["body"])]
    checked = [r.form["comment_content"] for r in akismet.requests_to("comment-check")]
    FIGURES[name] = {"requests": len(results), "accepted": len(accepted), "stored": len(stored), "lost": len(lost),
                     "5xx or errors": len(failed), "checks": len(checked)}
    print(f"\n{name}: {FIGURES[name]}")
    assert failed == [], failed[:5]
    assert len(accepted) == CLIENTS * PER_CLIENT
    assert lost == [], lost[:5]
    assert len({r["answer"]["id"] for r in accepted}) == len(accepted)  # no id given twice
    assert len(stored) == len(accepted)  # nothing stored that was not answered 202
    for r in accepted:
        _, _, email, address, _ = stored[r["answer"]["id"]]
        assert (email, address) == (email_of(r["client"]), address_of(r["client"]))
    assert sorted(checked) == sorted(r["body"] for r in accepted)  # each checked exactly once
    assert "Traceback" not in log and " 500 " not in log, log[-2000:]
    leaks = [x for n in range(CLIENTS) for x in (email_of(n), address_of(n)) if x in log]
    assert leaks == [], leaks[:5]


def service_env(tmp_path, database_url: str, akismet) -> tuple:
    site = fresh_site(tmp_path / "site")
    env = process_env(HUBBUB_SITE_DIR=site, HUBBUB_DATABASE_URL=database_url, HUBBUB_INSTANCE_DIR=tmp_path / "inst",
                      HUBBUB_SECRET_KEY="load-secret", HUBBUB_RATE_LIMIT="100000/minute",
                      HUBBUB_TRUSTED_PROXIES="127.0.0.1", PYTHON_AKISMET_API_KEY="test-key",
                      PYTHON_AKISMET_BLOG_URL="http://127.0.0.1:8000/", HUBBUB_AKISMET_ENDPOINT=akismet.url,
                      HUBBUB_AKISMET_TIMEOUT="10")
    return site, env


def test_load_on_hubbub_serve(tmp_path, akismet):
    database_url = f"sqlite:///{tmp_path / 'comments.db'}"
    site, env = service_env(tmp_path, database_url, akismet)
    with hubbub_serve(env, site, tmp_path / "serve.log") as server:
        results = run_load(server.url)
        check_run("hubbub serve (SQLite)", server, results, database_url, akismet)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_load_under_gunicorn_with_four_workers(tmp_path, akismet, database):
    with pg_database() if database == "postgresql" else _sqlite(tmp_path) as database_url:
        site, env = service_env(tmp_path, database_url, akismet)
        with gunicorn(env, site, tmp_path / "gunicorn.log", workers=4) as server:
            results = run_load(server.url)
            check_run(f"gunicorn -w 4 ({database})", server, results, database_url, akismet)


class _sqlite:
    def __init__(self, tmp_path):
        self.url = f"sqlite:///{tmp_path / 'comments.db'}"

    def __enter__(self):
        return self.url

    def __exit__(self, *exc):
        return False
