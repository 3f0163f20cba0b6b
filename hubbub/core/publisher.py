"""Publish approved comments without rebuilding the site.

For each changed thread: write its thread file (the source the next full build reads), re-render
the article's comment section with the theme's own template and swap it into the built page,
together with the article's JSON-LD (core/structured_data.py, which lists the comments), rewrite the comment-count element in every page the build recorded as showing that count, and
regenerate the comment feeds. Every file is replaced atomically. Several threads published in one
call share the page rewrites and the site feed, which is how a burst of approvals is coalesced.

Files only: no database, no Pelican run. The build's manifest says where everything is.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .atomic import atomic_write, storage_fault
from .feeds import site_feed_files, thread_feed_files, thread_feed_key
from .i18n import site_language
from .lock import publish_lock
from .manifest import ManifestError, load_manifest
from .publish_state import (
    initial_recent,
    keep_for,
    load_recent,
    needs_rescan,
    recent_entry,
    record_published,
    replace_thread,
    thread_states,
    write_recent,
)
from .render import Renderer, RenderError, ThreadArticle, replace_counts, replace_section
from .structured_data import article_region, replace_region
from .threadfile import (
    Comment,
    ThreadFileError,
    check_slug,
    content_digest,
    conversation,
    parse_comments,
    read_thread,
    thread_path,
    write_thread,
)
from .tree import comment_tree, reaction_rows


class PublishError(Exception):
    """Publishing could not start (bad input); nothing was written. The message says what to fix."""


@dataclass
class PublishResult:
    """What one publish did. `needs_full_build` is True when some change could not be applied
    to output/ in place (see `problems`): the thread files are written, so a full build
    (`hubbub build`) will show them."""

    threads: list[str] = field(default_factory=list)
    thread_files: list[Path] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)  # output-relative pages rewritten
    feeds: list[str] = field(default_factory=list)  # output-relative feeds rewritten
    problems: list[str] = field(default_factory=list)
    needs_full_build: bool = False
    seconds: float = 0.0

    def problem(self, message: str) -> None:
        self.problems.append(message)
        self.needs_full_build = True


def _output_dir(site_root: Path, output_dir: Path | str | None) -> Path:
    return Path(output_dir) if output_dir is not None else Path(site_root) / "output"


def comments_dir_for(site_root: Path, output_dir: Path) -> Path:
    """Where thread files live: what the last build read, else the default content/comments/."""
    try:
        return Path(load_manifest(output_dir)["site"]["comments_dir"])
    except ManifestError:
        return Path(site_root) / "content" / "comments"


def _parse_input(threads: Mapping[str, Iterable[Mapping[str, Any] | Comment] | None]) -> dict[str, list[Comment]]:
    parsed: dict[str, list[Comment]] = {}
    for slug, items in threads.items():
        try:
            check_slug(slug)
            items = [c.to_json() if isinstance(c, Comment) else c for c in (items or [])]
            comments = parse_comments(items, f"comments of thread {slug!r}")
        except ThreadFileError as exc:
            raise PublishError(str(exc)) from exc
        parsed[slug] = sorted(comments, key=lambda c: (c.created, c.id))
    return parsed


_renderers: dict[int, tuple[dict, Renderer]] = {}


def _renderer(manifest: dict) -> Renderer:
    # Keyed by the cached manifest object: a new build means a new manifest object.
    hit = _renderers.get(id(manifest))
    if hit is None or hit[0] is not manifest:
        _renderers.clear()
        hit = (manifest, Renderer(manifest["site"]))
        _renderers[id(manifest)] = hit
    return hit[1]


def publish_threads(
    site_root: Path | str,
    output_dir: Path | str | None,
    threads: Mapping[str, Iterable[Mapping[str, Any]] | None],
) -> PublishResult:
    """Publish the complete published-comment lists of several threads at once.

    `threads` maps slug → every published comment of that thread (dicts as in the thread file
    format: id, parent, author, url, html, created (ISO string or aware datetime), author_key).
    An empty list or None unpublishes them all. Raises PublishError for invalid input before
    anything is written.
    """
    started = time.perf_counter()
    site_root = Path(site_root)
    out = _output_dir(site_root, output_dir)
    parsed = _parse_input(threads)
    result = PublishResult(threads=list(parsed))
    with publish_lock(out):
        comments_dir = comments_dir_for(site_root, out)
        digests = {}
        for slug, comments in parsed.items():
            digests[slug] = write_thread(comments_dir, slug, comments)
            result.thread_files.append(thread_path(comments_dir, slug))
        _update_output(out, {s: (parsed[s], digests[s]) for s in parsed}, result)
    result.seconds = time.perf_counter() - started
    return result


def publish_thread(
    site_root: Path | str,
    output_dir: Path | str | None,
    slug: str,
    comments: Iterable[Mapping[str, Any]] | None,
) -> PublishResult:
    """Publish one thread's complete list of published comments (see publish_threads)."""
    return publish_threads(site_root, output_dir, {slug: comments})


def republish_threads(site_root: Path | str, output_dir: Path | str | None, slugs: Iterable[str]) -> PublishResult:
    """Bring output/ in line with the thread files as they are now (no thread file is written).

    Use after a full build for the threads `stale_threads` names, or to repair a page by hand.
    """
    started = time.perf_counter()
    out = _output_dir(Path(site_root), output_dir)
    result = PublishResult()
    with publish_lock(out):
        comments_dir = comments_dir_for(Path(site_root), out)
        changes = {}
        for slug in slugs:
            try:
                thread = read_thread(comments_dir, slug)
            except ThreadFileError as exc:
                result.problem(str(exc))
                continue
            changes[slug] = (thread.comments, thread.digest)
            result.threads.append(slug)
        _update_output(out, changes, result)
    result.seconds = time.perf_counter() - started
    return result


def stale_threads(site_root: Path | str, output_dir: Path | str | None = None) -> list[str]:
    """Threads whose file differs from what output/ shows, e.g. approved while a full build ran
    (the build rendered the file as it was when read). Reads every thread file: call it after a
    full build, not per approval."""
    out = _output_dir(Path(site_root), output_dir)
    manifest = load_manifest(out)
    states = thread_states(out)
    comments_dir = Path(manifest["site"]["comments_dir"])
    stale = []
    for slug in manifest["threads"]:
        try:
            raw = thread_path(comments_dir, slug).read_bytes()
        except FileNotFoundError:
            raw = None
        shown = states.get(slug, {}).get("digest")
        if content_digest(raw) != shown:
            stale.append(slug)
    return stale


def _update_output(out: Path, changes: dict[str, tuple[list[Comment], str]], result: PublishResult) -> None:
    try:
        manifest = load_manifest(out)
    except ManifestError as exc:
        result.problem(str(exc))
        return
    site, meta, page_urls = manifest["site"], manifest["threads"], manifest["pages"]
    renderer = _renderer(manifest)
    options = site["comments"]
    articles: dict[str, ThreadArticle] = {}
    structured: dict[str, str] = {}  # slug → the article's JSON-LD region
    edits: dict[str, list[str]] = defaultdict(list)  # page → slugs whose section/count it holds
    for slug, (comments, _digest) in changes.items():
        entry = meta.get(slug)
        if entry is None:
            result.problem(f"{slug!r} is not an article of the built site; its thread file is saved for the next build")
            continue
        article = ThreadArticle.from_manifest(slug, entry)
        if article.comments_closed and not entry.get("comments_closed"):
            # Closed by age since the build: the page's reply form is outside what is replaced here.
            result.problem(f"{slug!r}: its comments closed since the last build, which shows the reply form; "
                           "a build shows the page closed")
        article.comments = comment_tree(comments, options["max_depth"], options["date_format"], options["timezone"],
                                        site_language(site.get("lang")))
        article.comment_count = len(conversation(comments))
        article.reactions = reaction_rows(comments)
        articles[slug] = article
        if "posting" in entry:
            structured[slug] = article_region(slug, entry["posting"], conversation(comments))
        for page in {entry["save_as"], *entry.get("count_pages", [])}:
            edits[page].append(slug)
    for page, slugs in edits.items():
        try:
            if _rewrite_page(out, page, slugs, articles, structured, meta, page_urls, renderer, result):
                result.pages.append(page)
        except (RenderError, OSError) as exc:
            if storage_fault(exc):
                raise  # a full disk needs no rebuild: the caller retries the publish as it is
            result.problem(str(exc))
    _update_feeds_and_state(out, manifest, changes, result)


def _rewrite_page(out, page, slugs, articles, structured, meta, page_urls, renderer, result) -> bool:
    path = out / page
    if page not in page_urls:
        result.problem(f"{path}: the manifest does not know this page's SITEURL; rebuild the site")
        return False
    siteurl = page_urls[page]
    original = text = path.read_text(encoding="utf-8")
    for slug in slugs:
        article = articles[slug]
        if meta[slug]["save_as"] == page:
            text = replace_section(text, slug, renderer.section(article, siteurl), str(path))
            if slug in structured:
                text, _found = replace_region(text, slug, structured[slug])
            elif replace_region(text, slug, "")[1]:
                result.problem(f"{path}: its JSON-LD needs a newer manifest to be updated; rebuild the site")
        if page in meta[slug].get("count_pages", ()):
            text, found = replace_counts(text, slug, renderer.count(article, siteurl, page))
            if not found:
                result.problem(f"{path}: no comment count for {slug!r} although the build recorded one")
    if text == original:
        return False
    atomic_write(path, text.encode("utf-8"), fsync=False)  # atomic; output/ is rebuildable, so no fsync
    return True


def _rescan_recent(manifest: dict, keep: int) -> tuple[list[dict], list | None]:
    comments_dir = Path(manifest["site"]["comments_dir"])
    entries = []
    for slug in manifest["threads"]:
        try:
            thread = read_thread(comments_dir, slug)
        except ThreadFileError:
            continue  # a broken file fails the next build loudly; the feed skips it meanwhile
        entries.extend(recent_entry(slug, c) for c in conversation(thread.comments))
    return initial_recent(entries, keep)


def _update_feeds_and_state(out: Path, manifest: dict, changes, result: PublishResult) -> None:
    site, meta = manifest["site"], manifest["threads"]
    shown = (site.get("feeds") or {}).get("max_items")
    keep = keep_for(shown)
    remembered = load_recent(out)
    recent, floor = remembered if remembered is not None else _rescan_recent(manifest, keep)
    published = {}
    for slug, (comments, digest) in changes.items():
        if slug not in meta:
            continue
        published[slug] = {"digest": digest, "feed_key": thread_feed_key(site, slug, meta[slug], digest)}
        entries = [recent_entry(slug, c) for c in conversation(comments)]
        recent, floor = replace_thread(recent, floor, slug, entries, keep)
        for rel, data in thread_feed_files(site, slug, meta[slug], comments).items():
            atomic_write(out / rel, data, fsync=False)
            result.feeds.append(rel)
    if needs_rescan(recent, floor, keep):
        recent, floor = _rescan_recent(manifest, keep)
    for rel, data in site_feed_files(site, meta, recent).items():
        atomic_write(out / rel, data, fsync=False)
        result.feeds.append(rel)
    write_recent(out, recent, floor)
    record_published(out, published)
