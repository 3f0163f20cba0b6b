"""Helpers for tests of the comment service."""

from __future__ import annotations

from sqlalchemy import select

GOOD = {"author": "Ada Reader", "email": "ada@example.org", "url": "https://ada.example.org",
        "body": "Great post about **networking**."}


def hub_of(app):
    return app.extensions["hubbub"]


def comment(app, comment_id: int):
    from comments_service.models import Comment

    with hub_of(app).sessions() as s:
        return s.get(Comment, comment_id)


def comments(app, **where):
    from comments_service.models import Comment

    with hub_of(app).sessions() as s:
        query = select(Comment).order_by(Comment.id)
        for name, value in where.items():
            query = query.where(getattr(Comment, name) == value)
        return list(s.scalars(query))


def post(client, slug: str, **fields):
    return client.post(f"/api/threads/{slug}/comments", json={**GOOD, **fields},
                       headers={"User-Agent": "pytest-browser/1.0", "Referer": "http://127.0.0.1:8000/"})


def run_jobs(app) -> int:
    return hub_of(app).runner.run_due()


def set_status(app, comment_id: int, status: str) -> None:
    from comments_service.check import request_publish
    from comments_service.models import Comment, utcnow

    with hub_of(app).sessions() as s, s.begin():
        c = s.get(Comment, comment_id)
        c.status = status
        c.published_at = utcnow() if status == "published" else None
        request_publish(s, c.thread)


def akismet_env(service_env: dict, server, key: str = "test-key") -> dict:
    return {**service_env, "PYTHON_AKISMET_API_KEY": key, "PYTHON_AKISMET_BLOG_URL": "http://127.0.0.1:8000/",
            "HUBBUB_AKISMET_ENDPOINT": server.url, "HUBBUB_AKISMET_TIMEOUT": "1"}
