"""Helpers for the webmention tests: an app that may fetch 127.0.0.1, sending, reading state."""

from __future__ import annotations

from pathlib import Path

from service_helpers import hub_of
from sqlalchemy import select

FIXTURES = Path(__file__).parent / "data" / "webmention"


def target_of(app, slug: str) -> str:
    """The article's public address, as other sites link it."""
    return hub_of(app).threads.get(slug)["absolute_url"]


def send(client, source: str, target: str, **headers):
    return client.post("/api/webmention", data={"source": source, "target": target},
                       headers={"User-Agent": "Bridgy (https://brid.gy/about)", **headers})


def received(app, source: str):
    """The stored webmention of `source` (and its comment, or None)."""
    from comments_service.models import Comment
    from comments_service.webmention.models import Webmention

    with hub_of(app).sessions() as s:
        wm = s.scalar(select(Webmention).where(Webmention.source == source))
        comment = s.get(Comment, wm.comment_id) if wm is not None and wm.comment_id else None
        return wm, comment


def fixture(name: str, **values) -> str:
    text = (FIXTURES / name).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text
