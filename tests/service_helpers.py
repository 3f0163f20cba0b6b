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


PERIODIC = ("retention", "notify-digest", "webmention-scan")


def run_jobs(app, within: float = 0.5) -> int:
    """Run every job due within `within` seconds (publishes wait a moment to coalesce);
    retries further off and periodic jobs keep their time."""
    import datetime as dt

    from sqlalchemy import update

    from comments_service.models import Job, utcnow

    ran = 0
    for _ in range(20):
        with hub_of(app).transaction() as s:
            s.execute(update(Job).where(Job.due_at <= utcnow() + dt.timedelta(seconds=within),
                                        Job.locked_until.is_(None), Job.kind.not_in(PERIODIC))
                      .values(due_at=utcnow()))
        done = hub_of(app).runner.run_due()
        if not done:
            return ran
        ran += done
    raise AssertionError("jobs keep coming: a job is re-queueing itself at once")


def set_status(app, comment_id: int, status: str) -> None:
    from comments_service.check import request_publish
    from comments_service.models import Comment, utcnow

    with hub_of(app).transaction() as s:
        c = s.get(Comment, comment_id)
        c.status = status
        c.published_at = utcnow() if status == "published" else None
        request_publish(s, c.thread)


def akismet_env(service_env: dict, server, key: str = "test-key") -> dict:
    return {**service_env, "PYTHON_AKISMET_API_KEY": key, "PYTHON_AKISMET_BLOG_URL": "http://127.0.0.1:8000/",
            "HUBBUB_AKISMET_ENDPOINT": server.url, "HUBBUB_AKISMET_TIMEOUT": "1"}
