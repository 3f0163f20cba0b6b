"""Helpers for the moderation tests: accounts, logging in with CSRF tokens, many comments fast."""

from __future__ import annotations

import datetime as dt
import re

from service_helpers import hub_of, run_jobs

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')


def add_moderator(app, email: str = "mod@example.org", role: str = "admin", password: str = PASSWORD, **kw):
    from comments_service.moderation.auth import create_moderator

    with hub_of(app).transaction() as s:
        return create_moderator(s, email, password, role, **kw).id


def make_token(app, email: str = "mod@example.org", name: str = "test") -> tuple[int, str]:
    from comments_service.moderation.auth import create_token, find_moderator

    with hub_of(app).transaction() as s:
        row, token = create_token(s, find_moderator(s, email), name)
        return row.id, token


def csrf_token(client, path: str = "/moderate/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def login(client, email: str = "mod@example.org", password: str = PASSWORD, expect: int = 303):
    token = csrf_token(client)
    r = client.post("/moderate/login", data={"email": email, "password": password, "csrf_token": token})
    assert r.status_code == expect, r.get_data(as_text=True)[:500]
    return r


def logged_in(app, email: str = "mod@example.org", role: str = "admin", **kw):
    """A test client with a logged-in moderator (created here)."""
    add_moderator(app, email, role, **kw)
    client = app.test_client()
    login(client, email)
    return client


def insert_comments(app, n: int, thread: str, status: str = "pending", start: dt.datetime | None = None,
                    step: dt.timedelta = dt.timedelta(minutes=1), **fields) -> list[int]:
    """n comments straight into the database (oldest first), much faster than posting them."""
    from comments_service.models import Comment, utcnow

    start = start or utcnow() - step * n
    rows = []
    for i in range(n):
        values = {"author": f"Reader {i}", "email": f"reader{i}@example.org", "url": "", "body": f"Comment number {i}",
                  "html": f"<p>Comment number {i}</p>", "remote_addr": "192.0.2.1", "user_agent": "test",
                  "referrer": "", "akismet": "ham", "guard_reasons": [], **fields}
        rows.append(Comment(thread=thread, status=status, created=start + step * i,
                            published_at=start + step * i if status == "published" else None, **values))
    with hub_of(app).transaction() as s:
        s.add_all(rows)
        s.flush()
        return [c.id for c in rows]


def audit(app, comment_id: int) -> list:
    from sqlalchemy import select

    from comments_service.moderation.models import AuditEntry

    with hub_of(app).sessions() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.comment_id == comment_id).order_by(AuditEntry.id)))


def run_soon_jobs(app, within: float = 5.0) -> int:
    return run_jobs(app, within)


def queued(app, kind: str) -> list:
    """Keys of the waiting jobs of one kind."""
    from sqlalchemy import select

    from comments_service.models import Job

    with hub_of(app).sessions() as s:
        return list(s.scalars(select(Job.key).where(Job.kind == kind).order_by(Job.id)))


def published_ids(app, slug: str) -> list[int]:
    """Comment ids in the thread file, wherever the publisher keeps thread files."""
    import json

    from hubbub.core.publisher import comments_dir_for

    hub = hub_of(app)
    path = comments_dir_for(hub.config.site_dir, hub.config.output_dir) / f"{slug}.json"
    return [c["id"] for c in json.loads(path.read_text())["comments"]] if path.exists() else []


def fast_password_hashing(monkeypatch) -> None:
    """argon2id with its smallest cost: the same code paths, a fraction of the time per test."""
    from argon2 import PasswordHasher

    from comments_service.moderation import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
