"""When a thread stops taking comments: the one rule the build and the comment service share.

A post closes its comments with `Comments: closed` in its metadata (`Comments: open` keeps it open
whatever its age), or by age: COMMENTS_CLOSE_AFTER_DAYS after the post's date (unset or 0 = never),
as WordPress's "close comments on posts older than ... days".

The build decides with its own date (`build_date()`: SOURCE_DATE_EPOCH when set, as reproducible
builds do, else now) and records the result and the closing time of each thread in the manifest;
the service applies the closing time again with the current date, because a static page cannot
close itself while the site is not rebuilt. Everything here is a pure function of (metadata, post
date, build date, setting), so an incremental build can tell when a page's state changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

META_VALUES = ("open", "closed")


class ClosingError(ValueError):
    """A `Comments:` value or COMMENTS_CLOSE_AFTER_DAYS that means nothing; the message says what to write."""


@dataclass(frozen=True)
class ThreadClosing:
    closed: bool  # closed at the build date
    closes_at: datetime | None  # when age closes it (aware UTC), or None when age never will

    def manifest_fields(self) -> dict:
        return {"comments_closed": self.closed,
                "closes_at": self.closes_at.isoformat() if self.closes_at else None}


def build_date() -> datetime:
    """The date a build decides with: SOURCE_DATE_EPOCH (seconds since 1970, UTC) if set, else now."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return datetime.now(UTC)
    try:
        return datetime.fromtimestamp(int(raw), UTC)
    except (ValueError, OverflowError, OSError):
        raise ClosingError(f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds since 1970: "
                           "unset it, or give e.g. 1767225600") from None


def meta_value(raw, where: str) -> str:
    """A post's `Comments:` metadata as "open", "closed" or "" (not given)."""
    value = str(raw or "").strip().lower()
    if value and value not in META_VALUES:
        raise ClosingError(f"{where}: 'Comments: {raw}' is not understood; write 'Comments: closed' "
                           "or 'Comments: open', or leave the line out")
    return value


def close_after_days(raw) -> int | None:
    """COMMENTS_CLOSE_AFTER_DAYS as a positive number of days, or None for never."""
    if raw in (None, "", 0, False):
        return None
    if isinstance(raw, bool) or not isinstance(raw, int) or raw < 0:
        raise ClosingError(f"COMMENTS_CLOSE_AFTER_DAYS = {raw!r} is not a number of days: "
                           "use e.g. 30, or None to keep comments open whatever a post's age")
    return raw


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def thread_closing(meta: str, post_date: datetime | None, built: datetime, days: int | None) -> ThreadClosing:
    """Whether a thread is closed at `built`, and when age closes it."""
    if meta == "closed":
        return ThreadClosing(True, None)
    if meta == "open" or days is None or post_date is None:
        return ThreadClosing(False, None)
    closes_at = _utc(post_date) + timedelta(days=days)
    return ThreadClosing(_utc(built) >= closes_at, closes_at)


def closed_now(entry: dict, now: datetime) -> bool:
    """Whether a thread of the manifest is closed at `now` (the build's verdict, or its age since)."""
    if entry.get("comments_closed"):
        return True
    closes_at = entry.get("closes_at")
    return bool(closes_at) and _utc(now) >= _utc(datetime.fromisoformat(closes_at))
