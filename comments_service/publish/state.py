"""What the publisher remembers between publishes (<output>/.hubbub/state.json).

    {"version": 1,
     "threads": {slug: {"count": int, "digest": sha256 of the thread file as last rendered}},
     "recent": [comment entries of the whole site, newest first, at most `keep`],
     "floor": null, or [created, id] of the oldest entry when older comments were left out}

`recent` is always a prefix of all published comments ordered newest first: every comment newer
than `floor` is in it. Replacing one thread's entries keeps that true as long as its older
entries are cut at the floor; when too few remain, the list is rebuilt from the thread files.
"""

from __future__ import annotations

from typing import Iterable

from .threadfile import Comment, iso_utc

VERSION = 1


def recent_entry(slug: str, c: Comment) -> dict:
    return {
        "thread": slug,
        "id": c.id,
        "parent": c.parent,
        "author": c.author,
        "url": c.url,
        "html": c.html,
        "created": iso_utc(c.created),
    }


def _key(entry: dict) -> tuple[str, int]:
    # ISO strings in one form (UTC, +00:00, seconds) sort in time order.
    return (entry["created"], entry["id"])


def keep_for(max_items: int | None) -> int:
    """How many recent comments to remember: twice what the feed shows, so removals rarely
    force a rescan."""
    return 2 * (max_items or 50)


def initial_recent(entries: Iterable[dict], keep: int) -> tuple[list[dict], list | None]:
    ordered = sorted(entries, key=_key, reverse=True)
    if len(ordered) <= keep:
        return ordered, None
    ordered = ordered[:keep]
    return ordered, list(_key(ordered[-1]))


def replace_thread(
    recent: list[dict], floor: list | None, slug: str, entries: list[dict], keep: int
) -> tuple[list[dict], list | None]:
    merged = [e for e in recent if e["thread"] != slug] + list(entries)
    if floor is not None:
        cut = tuple(floor)
        merged = [e for e in merged if _key(e) >= cut]
    merged.sort(key=_key, reverse=True)
    if len(merged) > keep:
        merged = merged[:keep]
        floor = list(_key(merged[-1]))
    return merged, floor


def needs_rescan(recent: list[dict], floor: list | None, shown: int | None) -> bool:
    """True when comments older than the floor may belong in the feed."""
    return floor is not None and len(recent) < (shown or 50)


def new_state(threads: dict, recent: list[dict], floor: list | None) -> dict:
    return {"version": VERSION, "threads": threads, "recent": recent, "floor": floor}
