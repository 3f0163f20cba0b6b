"""Read the published comments that the comment service writes to content/comments/<slug>.json.

The profiles need only a few facts per comment (who, when, which key, the sanitised HTML), so they
read the thread files themselves through `read_threads` rather than depend on the order in which
the comments plugin runs. A missing directory or file means no comments; a file with the wrong
shape stops the build with a message that names the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path


class ThreadFileError(ValueError):
    """A thread file cannot be used; the message names the file and what is wrong."""


@dataclass(frozen=True)
class PublishedComment:
    id: int
    author: str
    url: str
    html: str
    created: datetime  # aware, UTC
    author_key: str


def _created(value, where: str) -> datetime:
    if not isinstance(value, str):
        raise ThreadFileError(f"{where}: 'created' must be an ISO 8601 time string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ThreadFileError(f"{where}: 'created' is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise ThreadFileError(f"{where}: 'created' needs a UTC offset, e.g. 2026-11-23T10:00:00+00:00")
    return parsed.astimezone(timezone.utc)


def _comment(item, where: str) -> PublishedComment:
    if not isinstance(item, dict):
        raise ThreadFileError(f"{where} must be an object")
    cid = item.get("id")
    if not isinstance(cid, int) or isinstance(cid, bool):
        raise ThreadFileError(f"{where}: 'id' must be an integer")
    for key in ("author", "html"):
        if not isinstance(item.get(key), str):
            raise ThreadFileError(f"{where}: '{key}' must be a string")
    for key in ("url", "author_key"):
        if not isinstance(item.get(key) or "", str):
            raise ThreadFileError(f"{where}: '{key}' must be a string")
    return PublishedComment(
        id=cid,
        author=item["author"],
        url=item.get("url") or "",
        html=item["html"],
        created=_created(item.get("created"), where),
        author_key=item.get("author_key") or "",
    )


def read_thread_file(path: Path) -> list[PublishedComment]:
    try:
        data = json.loads(path.read_bytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ThreadFileError(f"{path}: not valid JSON ({exc}); fix or remove the file") from exc
    if not isinstance(data, dict) or not isinstance(data.get("comments"), list):
        raise ThreadFileError(f"{path}: expected an object with 'thread' and a 'comments' list")
    if data.get("thread", path.stem) != path.stem:
        raise ThreadFileError(f"{path}: 'thread' is {data.get('thread')!r} but the file is named for {path.stem!r}")
    return [_comment(item, f"{path}: comment #{n}") for n, item in enumerate(data["comments"], 1)]


def read_threads(comments_dir: Path, slugs) -> dict[str, list[PublishedComment]]:
    """Published comments of the given article slugs that have a thread file (others have none)."""
    try:
        names = set(os.listdir(comments_dir))
    except FileNotFoundError:
        return {}
    threads = {}
    for slug in slugs:
        if f"{slug}.json" in names:
            threads[slug] = read_thread_file(Path(comments_dir) / f"{slug}.json")
    return threads
