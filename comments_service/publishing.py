"""The `publish` job: write a thread's published comments into the site, fast and atomically.

The database says what is published; comments_service.publish turns that into the thread file,
the article's comment section, counts and feeds in output/ (the same as a full build would).
"""

from __future__ import annotations

from sqlalchemy import select

from .jobs import handler
from .models import Comment


def published_comments(session, thread: str) -> list[Comment]:
    """A thread's published comments in thread order."""
    return list(session.scalars(
        select(Comment).where(Comment.thread == thread, Comment.status == "published")
        .order_by(Comment.created, Comment.id)
    ))


@handler("publish")
def publish_thread_job(hub, payload: dict) -> None:
    from .identity import author_key, site_salt
    from .publish import publish_thread

    slug = payload["thread"]
    salt = site_salt(hub.config.site_dir)
    with hub.sessions() as s:
        records = [
            {**c.public_dict(), "author_key": author_key(c.email, salt)}
            for c in published_comments(s, slug)
        ]
    publish_thread(hub.config.site_dir, hub.config.output_dir, slug, records)
