"""What the publisher remembers between publishes, in <output>/.hubbub/. Small on purpose: a
publish must not read or write anything whose size grows with the site.

threads.json (written by each full build) and published.jsonl (one line appended per publish,
removed by the next build) say, per thread, which thread file output/ shows and which inputs its
feeds were made from:
    {"version": 1, "threads": {slug: {"digest": sha256 of the thread file, "feed_key": ...}}}
    {"thread": slug, "digest": ..., "feed_key": ...}          (one per line)

recent.json holds the newest comments of the whole site, what the site-wide comment feed shows:
    {"version": 1, "recent": [entries, newest first, at most `keep`],
     "floor": null, or [created, id] of the oldest entry when older comments were left out}
`recent` is always a prefix of all published comments ordered newest first: every comment newer
than `floor` is in it. Replacing one thread's entries keeps that true as long as its older
entries are cut at the floor; when too few remain, the list is rebuilt from the thread files.
"""

from __future__ import annotations

import contextlib
import errno
import heapq
import json
import os
from collections.abc import Iterable
from pathlib import Path

from .atomic import atomic_write, fsync_dir
from .manifest import HUBBUB_DIR, dump_json
from .threadfile import Comment, iso_utc

VERSION = 1
THREADS_NAME = "threads.json"
JOURNAL_NAME = "published.jsonl"
RECENT_NAME = "recent.json"


def _path(output_dir: Path, name: str) -> Path:
    return Path(output_dir) / HUBBUB_DIR / name


def _load(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_bytes())
    except (FileNotFoundError, ValueError):
        return None  # missing or damaged: rebuilt from the thread files, or by the next build
    return data if isinstance(data, dict) and data.get("version") == VERSION else None


# ---- per-thread state --------------------------------------------------------------------------


def thread_states(output_dir: Path) -> dict[str, dict]:
    """slug → {"digest", "feed_key"}: the last build's record updated by every publish since."""
    states = dict((_load(_path(output_dir, THREADS_NAME)) or {}).get("threads", {}))
    try:
        lines = _path(output_dir, JOURNAL_NAME).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            continue  # a line cut short by a crash: that publish is redone by stale_threads
        if isinstance(entry, dict) and "thread" in entry:
            states[entry["thread"]] = {"digest": entry.get("digest", ""), "feed_key": entry.get("feed_key")}
    return states


def write_thread_states(output_dir: Path, states: dict[str, dict]) -> None:
    """The build's record; it replaces the journal of publishes made before it."""
    atomic_write(_path(output_dir, THREADS_NAME), dump_json({"version": VERSION, "threads": states}), fsync=False)
    _path(output_dir, JOURNAL_NAME).unlink(missing_ok=True)


def record_published(output_dir: Path, states: dict[str, dict], durable: bool = True) -> None:
    """Append one journal line per published thread (O(1) in the size of the site)."""
    path = _path(output_dir, JOURNAL_NAME)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps({"thread": slug, **state}, sort_keys=True) + "\n" for slug, state in states.items())
    data = text.encode("utf-8")
    with open(path, "ab", buffering=0) as fh:
        start = fh.tell()
        try:
            if fh.write(data) != len(data):
                raise OSError(errno.ENOSPC, "short write", str(path))
            if durable:
                os.fsync(fh.fileno())
        except OSError:
            # A line cut short (a full disk) would swallow the next one appended: take it back.
            with contextlib.suppress(OSError):
                os.truncate(path, start)
            raise
    if durable:
        fsync_dir(path.parent)


# ---- the site's most recent comments --------------------------------------------------------------


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
    """How many recent comments a build remembers: twice what the feed shows (the publisher reads
    every thread file again when a removal leaves fewer, as a build would have remembered more)."""
    return 2 * (max_items or 50)


def initial_recent(entries: Iterable[dict], keep: int) -> tuple[list[dict], list | None]:
    ordered = sorted(entries, key=_key, reverse=True)
    if len(ordered) <= keep:
        return ordered, None
    ordered = ordered[:keep]
    return ordered, list(_key(ordered[-1]))


def newest_comments(threads: dict[str, list[Comment]], keep: int) -> tuple[list[dict], list | None]:
    """initial_recent over every thread, without building an entry for each of the site's comments."""
    total = sum(len(comments) for comments in threads.values())
    newest = heapq.nlargest(
        keep, ((c.created, c.id, slug, c) for slug, comments in threads.items() for c in comments),
        key=lambda item: (item[0], item[1]),
    )
    recent = [recent_entry(slug, c) for _, _, slug, c in newest]
    floor = list(_key(recent[-1])) if total > keep else None
    return recent, floor


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


def needs_rescan(recent: list[dict], floor: list | None, keep: int) -> bool:
    """True when comments older than the floor may belong in what is remembered: a build
    remembers the `keep` newest (and the feed shows them all when it has no limit)."""
    return floor is not None and len(recent) < keep


def load_recent(output_dir: Path) -> tuple[list[dict], list | None] | None:
    data = _load(_path(output_dir, RECENT_NAME))
    if data is None:
        return None
    return data.get("recent", []), data.get("floor")


def write_recent(output_dir: Path, recent: list[dict], floor: list | None) -> None:
    atomic_write(_path(output_dir, RECENT_NAME), dump_json({"version": VERSION, "recent": recent, "floor": floor}),
                 fsync=False)
