"""The build's manifest (<output>/.hubbub/manifest.json): where everything is, for the publisher.

manifest.json is written by every full build (plugins/comments.py) and only read afterwards:
    {"version": 1, "generated", "build_date" (the date closed threads were judged by),
     "site": {"siteurl", "feed_domain", "sitename", "lang", "comments_url", "relative_urls",
              "publish" (built with publishconf.py; null when `pelican` built it), "content_path", "comments_dir", "output_path",
              "templates": {"paths", "jinja_environment", "section", "count"},
              "comments": {"max_depth", "date_format", "timezone", "close_after_days"},
              "feeds": {"all_atom", "all_rss", "thread_atom", "thread_rss", "max_items"},
              "context": {...the build's JSON-safe settings, for rendering templates...}},
     "threads": {slug: {"url", "absolute_url", "title", "date", "lang", "save_as", "author", "author_slug",
                        "count_pages": [output-relative pages showing this thread's count],
                        "feeds": {"atom", "rss"},
                        "links": [the content's links to other sites], "content_digest": str,
                        "comments_closed": closed at the build date,
                        "closes_at": ISO time age closes it, or null (core/closing.py),
                        "posting": {the fixed part of the article's JSON-LD (core/structured_data.py)}}},
     "pages": {output-relative page: the SITEURL it was rendered with}}

The manifest changes only with a full build; what changes with each publish is in state.py.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import atomic_write

MANIFEST_VERSION = 1
HUBBUB_DIR = ".hubbub"
MANIFEST_NAME = "manifest.json"
LOCK_NAME = "publish.lock"


class ManifestError(Exception):
    """The manifest is missing or unreadable: the site needs a full build (`hubbub build`)."""


def manifest_path(output_dir: Path) -> Path:
    return Path(output_dir) / HUBBUB_DIR / MANIFEST_NAME


def lock_path(output_dir: Path) -> Path:
    return Path(output_dir) / HUBBUB_DIR / LOCK_NAME


def dump_json(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n").encode("utf-8")


def write_json(path: Path, data: Any, fsync: bool = True) -> None:
    atomic_write(path, dump_json(data), fsync=fsync)


@dataclass
class _Cached:
    stamp: tuple[int, int, int]
    data: dict


_cache: dict[str, _Cached] = {}


def _stamp(path: Path) -> tuple[int, int, int]:
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def load_manifest(output_dir: Path) -> dict:
    """The manifest of the last full build, cached until the file changes (it is rewritten by rename)."""
    path = manifest_path(output_dir)
    try:
        stamp = _stamp(path)
    except FileNotFoundError as exc:
        raise ManifestError(f"{path} not found: build the site first (hubbub build)") from exc
    key = str(path)
    hit = _cache.get(key)
    if hit and hit.stamp == stamp:
        return hit.data
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"{path} is unreadable ({exc}): rebuild the site (hubbub build)") from exc
    if not isinstance(data, dict) or data.get("version") != MANIFEST_VERSION:
        raise ManifestError(f"{path} has an unknown format: rebuild the site (hubbub build)")
    _relocate(data, Path(output_dir))
    _cache[key] = _Cached(stamp, data)
    return data


def _relocate(data: dict, output_dir: Path) -> None:
    """Follow a site that was moved or copied after its build (a backup, a test copy).

    The build records absolute paths; each one inside the site project is kept at the same place
    relative to output/ (the installed package's templates stay where they are).
    """
    site = data.get("site", {})
    built = Path(site.get("output_path") or output_dir).resolve()
    here = output_dir.resolve()
    if built == here:
        return

    def moved(path: str) -> str:
        if not Path(path).resolve().is_relative_to(built.parent):
            return path
        return str((here / os.path.relpath(path, built)).resolve())

    for name in ("comments_dir", "content_path", "output_path"):
        if site.get(name):
            site[name] = moved(site[name])
    templates = site.get("templates", {})
    if templates.get("theme"):
        templates["theme"] = moved(templates["theme"])
    templates["paths"] = [moved(p) for p in templates.get("paths", [])]
