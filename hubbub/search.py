"""Static search: the Pagefind index of the built site, made by `hubbub build` after Pelican.

The theme opts pages in: an element with `data-pagefind-body` holds what is searchable (title
weighted with `data-pagefind-weight`, filters `author`, `category`, `tag` and `type` with
`data-pagefind-filter`). `index_site` runs the Pagefind binary that the `pagefind[bin]` package
ships (nothing is downloaded) over the kinds of page that can carry it (articles, pages, author
profiles: globs made from the *_SAVE_AS settings), then moves the new bundle into
<output>/pagefind/ file by file: its files have content-hashed names, so unchanged ones stay as
they are, the entry file is replaced last and leftovers of the old index are removed afterwards.

With SEARCH_INDEX_COMMENTS, each thread's published comments become one more document
(<output>/.hubbub/search/<slug>.html, never served), whose results link to the article: each
comment is a heading anchored at the comment, so Pagefind shows it as a sub-result of its thread.

Incremental use: Pagefind (1.x, its CLI and its Python API alike) builds a whole index in memory
and writes it whole; it cannot update or remove one page of a written index. A site of more than
SEARCH_SHARD_PAGES documents therefore gets its index in shards (pagefind/shard-<count>-<n>/, each
a whole Pagefind bundle; a document's shard is a hash of its path), which the search page merges
(Pagefind's mergeIndex); pagefind/hubbub-shards.json names the bundles. Given the pages a build
changed, `index_site` runs Pagefind again only over the shards that hold changed or removed
documents (none when no changed page is searchable: a tag page, a feed, the home page; nor for a
page the build rewrote outside what Pagefind reads: see IndexedPages), from the
record of the documents in <output>/.hubbub/search-index.json; a full index runs the shards in
parallel. Either way each shard is Pagefind over the same documents.

Re-indexing a shard of thousands of pages for one edit still costs seconds, so on a site of more
than SEARCH_OVERLAY_PAGES documents an edit indexes only the documents changed since their shard
was (pagefind/shard-overlay/, one more bundle), and pagefind/hubbub-shards.json lists the results
of the shards' older copies (Pagefind's page hashes) for the search page to hide. Once the overlay
would hold more than SEARCH_OVERLAY_PAGES documents, the shards holding them are indexed again and
the overlay starts empty.

Settings (defaults in DEFAULTS): SEARCH_INDEX (False: no index, no search box; without the search
plugin there is neither), SEARCH_URL and
SEARCH_SAVE_AS (the search page), SEARCH_INDEX_COMMENTS, SEARCH_INDEX_GLOBS (None: from the
*_SAVE_AS settings), SEARCH_TIMEOUT (seconds one Pagefind run may take), SEARCH_SHARD_PAGES (documents
per shard at most; 0: one bundle however large the site), SEARCH_OVERLAY_PAGES (documents the
overlay holds at most; 0: none, an edit re-indexes its shard).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from .core.atomic import atomic_remove, atomic_write, write_if_changed
from .core.manifest import HUBBUB_DIR, ManifestError, load_manifest

DEFAULTS = {
    "SEARCH_INDEX": True,
    "SEARCH_URL": "search/",
    "SEARCH_SAVE_AS": "search/index.html",
    "SEARCH_INDEX_COMMENTS": False,
    "SEARCH_INDEX_GLOBS": None,
    "SEARCH_TIMEOUT": 600,
    "SEARCH_SHARD_PAGES": 3000,
    "SEARCH_OVERLAY_PAGES": 100,
}
BUNDLE = "pagefind"  # <output>/pagefind/: the search page imports pagefind.js from here
COMMENT_DOCS = f"{HUBBUB_DIR}/search"  # one document per thread with comments, for the indexer only
ENTRY = "pagefind-entry.json"
SHARDS = "hubbub-shards.json"  # in pagefind/: the bundles of the index, the first one to load first
SHARD_PREFIX = "shard-"  # shard-<count>-<n>/: one shard's bundle inside pagefind/
OVERLAY = f"{SHARD_PREFIX}overlay/"  # the bundle of the documents changed since their shard was indexed
RECORD = f"{HUBBUB_DIR}/search-index.json"  # the documents of the index in place and its shard count
# Pagefind also writes its own ready-made UIs; the theme's search page does not use them.
# Hubbub's own comment markup (the thread, its reply form, comment counts) is never indexed as
# part of a page: the fast publisher rewrites it on approval without re-indexing, so the index
# must not depend on it — which matters for themes that mark no data-pagefind-body.
EXCLUDE_SELECTORS = ("[data-thread]", "#respond")
UNUSED = frozenset({
    "pagefind-ui.js", "pagefind-ui.css", "pagefind-modular-ui.js", "pagefind-modular-ui.css",
    "pagefind-component-ui.js", "pagefind-component-ui.css", "pagefind-highlight.js",
})


class SearchError(Exception):
    """The search index could not be made; the message says why and what to do."""


@dataclass
class IndexResult:
    """What one `index_site` call did."""

    ran: bool = False  # False: the index was already up to date (or search is off)
    pages: int = 0  # documents Pagefind indexed (in the shards it ran over)
    written: list[str] = field(default_factory=list)  # bundle files added or replaced
    removed: list[str] = field(default_factory=list)  # bundle files of the old index removed
    seconds: float = 0.0


def setting(settings: dict, name: str):
    value = settings.get(name)
    return DEFAULTS[name] if value is None and name in DEFAULTS else value


def index_wanted(settings: dict) -> bool:
    """Where the search plugin runs, as SEARCH_INDEX says (on by default). A Pelican site that added
    Hubbub's comments alone has no search box: an index would be dead weight in its output."""
    plugins = {getattr(p, "__name__", str(p)) for p in settings.get("PLUGINS") or ()}
    return "hubbub.plugins.search" in plugins and bool(setting(settings, "SEARCH_INDEX"))


def index_globs(settings: dict) -> list[str]:
    """Output paths that may hold searchable pages: SEARCH_INDEX_GLOBS, else from the *_SAVE_AS settings."""
    globs = setting(settings, "SEARCH_INDEX_GLOBS")
    if globs:
        return list(globs)
    found = []
    for name in ("ARTICLE_SAVE_AS", "PAGE_SAVE_AS", "AUTHOR_SAVE_AS"):
        pattern = settings.get(name)
        if pattern:
            glob = _placeholders_to_stars(pattern)
            if glob not in found:
                found.append(glob)
    return found or ["**/*.html"]


def _placeholders_to_stars(pattern: str) -> str:
    out, depth = [], 0
    for ch in pattern:
        if ch == "{":
            if depth == 0:
                out.append("*")
            depth += 1
        elif ch == "}":
            depth = max(0, depth - 1)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def pagefind_binary() -> str:
    """The Pagefind executable of the installed `pagefind[bin]` package."""
    try:
        from pagefind.service import get_executable
    except ImportError as exc:
        raise SearchError("the pagefind package is not installed: pip install 'pagefind[bin]' "
                          "(or set SEARCH_INDEX = False in pelicanconf.py)") from exc
    path = get_executable()
    if path is None or not Path(path).is_file():
        raise SearchError("the Pagefind binary is missing: pip install 'pagefind[bin]' "
                          "(or set SEARCH_INDEX = False in pelicanconf.py)")
    return str(path)


def index_site(settings: dict, output_dir: Path | str | None = None, changed_pages=None) -> IndexResult:
    """Bring <output>/pagefind/ in line with the built site.

    `changed_pages`: output-relative paths of the HTML files an incremental build wrote or removed
    (None: index everything). Raises SearchError when Pagefind fails; the old index stays.
    """
    started = time.perf_counter()
    out = Path(output_dir if output_dir is not None else settings["OUTPUT_PATH"])
    result = IndexResult()
    if not index_wanted(settings):
        _remove_bundle(out, result)
        return result
    with _index_lock(out):
        changed_docs = _write_comment_docs(settings, out)
        plan = _plan(settings, out, changed_pages, changed_docs)
        if plan is not None:
            result.pages = _run_shards(settings, out, plan, result)
            result.ran = True
    result.seconds = time.perf_counter() - started
    return result


# -- shards ----------------------------------------------------------------------------------------
#
# A large site's index is split into shards by a stable hash of each document's path, each shard a
# whole Pagefind bundle: an edit re-indexes only the shard holding the page (or, on a site larger
# than SEARCH_OVERLAY_PAGES, only the page, into the overlay), and the shards of a full index are
# indexed in parallel. The search page loads the first bundle that SHARDS names and
# merges the others into it (Pagefind's mergeIndex). A site of up to SEARCH_SHARD_PAGES documents
# keeps one bundle, at pagefind/ itself.

@dataclass
class _Plan:
    documents: list[str]  # output-relative paths of every searchable document
    count: int  # number of shards
    dirty: set[int]  # the shards to index again
    record: dict  # what RECORD will say once the shards are installed
    overlay: list[str] = field(default_factory=list)  # the documents of the overlay bundle


def shard_count(documents: int, settings: dict) -> int:
    """One bundle up to SEARCH_SHARD_PAGES documents, else the power of two that keeps each shard
    at or under it (a power of two, so the count changes, and everything moves, only rarely)."""
    size = setting(settings, "SEARCH_SHARD_PAGES")
    count = 1
    while size and documents > size * count:
        count *= 2
    return count


def shard_of(path: str, count: int) -> int:
    return zlib.crc32(path.encode("utf-8")) % count if count > 1 else 0


def shard_dir(shard: int, count: int) -> str:
    """The shard's bundle directory inside pagefind/ ("" for the one bundle of a small site)."""
    return "" if count == 1 else f"{SHARD_PREFIX}{count}-{shard}/"


def _plan(settings: dict, out: Path, changed_pages, changed_docs: set[str]) -> _Plan | None:
    """What to index: everything, or (given the pages that changed) only the shards holding
    changed or removed documents; None when the index is already up to date."""
    globs = index_globs(settings)
    key = {"version": 2, "globs": globs, "comments": bool(setting(settings, "SEARCH_INDEX_COMMENTS")),
           "shard_pages": setting(settings, "SEARCH_SHARD_PAGES")}
    record = _load_record(out) if changed_pages is not None else None
    if record is not None and {k: record.get(k) for k in key} == key:
        candidates = {_relative(p, out) for p in changed_pages} | changed_docs
        found = _changed_documents(out, record, [p for p in sorted(candidates)
                                                 if p in changed_docs or matches(p, globs)])
        if found is not None:
            documents, touched = found
            if not touched:
                return None
            count = shard_count(len(documents), settings)
            if count == record["shards"]:
                return _edit_plan(settings, record, documents, touched)
            return _whole_plan(key, record["marked"], documents, count)
    documents, marked = _find_documents(out, globs, key["comments"])
    return _whole_plan(key, marked, documents, shard_count(len(documents), settings))


def _whole_plan(key: dict, marked: bool, documents: list[str], count: int) -> _Plan:
    """Every shard indexed again, no overlay."""
    return _Plan(documents, count, set(range(count)), {**key, "marked": marked, "shards": count, "documents": documents,
                                                       "pages": {}, "overlay": [], "hidden": [], "unmapped": []})


def _edit_plan(settings: dict, record: dict, documents: list[str], touched: set[str]) -> _Plan:
    """After an edit: the changed documents go to the overlay and their shards' copies are hidden;
    their shards are indexed again instead when the overlay would outgrow SEARCH_OVERLAY_PAGES (or
    on a site no larger than that), or when a shard's copies cannot be told apart."""
    count, limit = record["shards"], setting(settings, "SEARCH_OVERLAY_PAGES")
    hashes = record["pages"]  # document -> Pagefind's hash of its copy in its shard
    now = set(documents)
    overlay = (set(record["overlay"]) | touched) & now
    hidden = set(record["hidden"]) | (touched & set(hashes))
    dirty = {shard_of(p, count) for p in touched if shard_of(p, count) in record["unmapped"]}
    if not limit or len(now) <= limit or len(overlay) > limit:
        dirty |= {shard_of(p, count) for p in touched | overlay | hidden}
    overlay = sorted(p for p in overlay if shard_of(p, count) not in dirty)
    hidden = sorted(p for p in hidden if shard_of(p, count) not in dirty)
    return _Plan(documents, count, dirty, {**record, "documents": documents, "overlay": overlay, "hidden": hidden},
                 overlay)


def _changed_documents(out: Path, record: dict, changed: list[str]) -> tuple[list[str], set[str]] | None:
    """The documents after these pages changed, and those of them that were or are documents; None
    when Pagefind's rule for the whole site may have changed (a full look is needed)."""
    documents = set(record["documents"])
    touched = set()
    for path in changed:
        state = _searchable(out / path)
        if state and not record["marked"]:
            return None  # the first page that opts in: from now on only such pages count
        now = bool(state) if record["marked"] else state is not None
        if now or path in documents:
            touched.add(path)
        (documents.add if now else documents.discard)(path)
    if not documents:
        return None  # no page opts in any more: Pagefind would take every page matched
    return sorted(documents), touched


def _find_documents(out: Path, globs: list[str], comments: bool) -> tuple[list[str], bool]:
    """Every document to index, and whether the site marks them (data-pagefind-body). Pagefind's
    rule: once any page opts in, only the pages that opt in; if none does, every page matched."""
    pattern = glob_regex(globs)
    found, marked = [], []
    for dirpath, dirs, names in os.walk(out):
        rel = os.path.relpath(dirpath, out)
        if rel == ".":
            rel = ""
            dirs[:] = [d for d in dirs if d not in (HUBBUB_DIR, BUNDLE)]
        for name in names:
            path = f"{rel}/{name}" if rel else name
            if pattern.fullmatch(path):
                found.append(path)
                if _searchable(out / path):
                    marked.append(path)
    if comments and (out / COMMENT_DOCS).is_dir():
        marked += [f"{COMMENT_DOCS}/{p.name}" for p in (out / COMMENT_DOCS).glob("*.html")]
    return (sorted(marked), True) if marked else (sorted(found), False)


def glob_regex(globs: list[str]) -> re.Pattern:
    """One regular expression for Pagefind's globs: "*" and "?" never span a "/", "**/" spans
    directories, "{a,b}" is either."""
    def convert(glob: str) -> str:
        out, i = [], 0
        while i < len(glob):
            if glob.startswith("**/", i):
                out.append("(?:[^/]+/)*")
                i += 3
                continue
            ch = glob[i]
            out.append({"*": "[^/]*", "?": "[^/]", "{": "(?:", "}": ")", ",": "|"}.get(ch, re.escape(ch)))
            i += 1
        return "".join(out)
    return re.compile("|".join(f"(?:{convert(g)})" for g in globs))


def matches(path: str, globs: list[str]) -> bool:
    return glob_regex(globs).fullmatch(path) is not None


def _load_record(out: Path) -> dict | None:
    """The record of the index in place, if the bundle it describes is there."""
    try:
        record = json.loads((out / RECORD).read_bytes())
        if not (out / BUNDLE / SHARDS).is_file():
            return None
        return record if isinstance(record, dict) else None
    except (OSError, ValueError):
        return None


def _relative(page, out: Path) -> str:
    path = Path(page)
    if path.is_absolute():
        path = path.relative_to(out)
    return path.as_posix()


# The attribute in a tag, not the words in a post's text (which the page escapes).
OPTS_IN = re.compile(rb"<[A-Za-z][^<>]*\sdata-pagefind-body[\s=/>]")


def _searchable(path: Path) -> bool | None:
    """True: a page that opts in (data-pagefind-body); False: one that does not; None: removed."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return b"data-pagefind-body" in data and OPTS_IN.search(data) is not None


# -- pages rewritten, their index part unchanged -----------------------------------------------------
#
# An edit rewrites pages beside the edited one (the "Similar posts" of its neighbours, a count in a
# sidebar) whose searchable part stays as it was; re-indexing their shards for that would cost
# seconds. The build compares, for each page it rewrites, what Pagefind can read from the old and
# the new bytes, and leaves out the pages where that did not change.

_VOID = frozenset("area base br col embed hr img input link meta param source track wbr".split())


def _excluded(attrs) -> bool:
    """Whether the element matches one of EXCLUDE_SELECTORS (an [attribute] or an #id)."""
    for selector in EXCLUDE_SELECTORS:
        if selector.startswith("[") and any(name == selector[1:-1] for name, _ in attrs):
            return True
        if selector.startswith("#") and any(name == "id" and value == selector[1:] for name, value in attrs):
            return True
    return False


def _mode(tag: str, attrs) -> int:
    """1: the element counts whole; -1: its text does not count (data-pagefind-ignore alone: Pagefind
    leaves its text out but still reads the filters and metadata in it; scripts and styles, whose
    text it never reads; what EXCLUDE_SELECTORS leave out); 0: as its parent."""
    names = {name for name, _ in attrs if name.startswith("data-pagefind")}
    if tag in ("head", "h1") or names - {"data-pagefind-ignore"}:
        return 1
    return -1 if names or tag in ("script", "style") or _excluded(attrs) else 0


class _IndexedPart(HTMLParser):
    """What Pagefind may read from a page that opts in, taken generously: the <html> tag, the
    <head> whole, every element with a data-pagefind-* attribute with all it holds (but for the
    text of its ignored parts, scripts, styles and what EXCLUDE_SELECTORS leave out: the filters
    and metadata in those still count), and wherever they are, every <h1>
    whole and every <img> tag (Pagefind's automatic title and image come from the first <h1> and
    the <img> after it, inside the searchable part or not)."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.parts: list[str] = []
        # Open elements: (tag, whether what they hold counts, whether their tags were taken, _mode).
        self.open: list[tuple[str, bool, bool, int]] = []
        # An element left out but never closed (a <p> a browser closes by itself): where the
        # browser's end is, this parser cannot tell, so the page counts as changed.
        self.unsure = False

    @property
    def taking(self) -> bool:
        return bool(self.open) and self.open[-1][1]

    def handle_starttag(self, tag, attrs):
        mode = _mode(tag, attrs)
        taken = tag in ("html", "img") or mode == 1 or self.taking
        if taken:
            self.parts.append(self.get_starttag_text())
        if tag not in _VOID:
            self.open.append((tag, self.taking if mode == 0 else mode == 1, taken, mode))

    def handle_startendtag(self, tag, attrs):
        if self.taking or tag == "img" or _mode(tag, attrs) == 1:
            self.parts.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        for i in range(len(self.open) - 1, -1, -1):  # closes what is open inside it too, as browsers do
            if self.open[i][0] == tag:
                if self.open[i][2]:
                    self.parts.append(f"</{tag}>")
                self.unsure |= any(entry[3] == -1 for entry in self.open[i + 1:])
                del self.open[i:]
                return

    def close(self):
        super().close()
        self.unsure |= any(entry[3] == -1 for entry in self.open)

    def handle_data(self, data):
        if self.taking:
            self.parts.append(data)

    def handle_entityref(self, name):
        self.handle_data(f"&{name};")

    def handle_charref(self, name):
        self.handle_data(f"&#{name};")


def _indexed_part(page: bytes) -> list[str] | None:
    """What Pagefind may read of the page (_IndexedPart); None when that cannot be told."""
    parser = _IndexedPart()
    parser.feed(page.decode("utf-8", "replace"))
    parser.close()
    return None if parser.unsure else parser.parts


class IndexedPages:
    """For the build's writer: whether a rewritten page's searchable part is what it was."""

    COMPARED_AT_MOST = 200  # past this many pages in one build the rest count as changed: about 1 s of parsing at most

    def __init__(self, settings: dict):
        self.globs = glob_regex(index_globs(settings)) if index_wanted(settings) else None
        self.compared = 0

    def unchanged(self, name: str, old: bytes, new: bytes) -> bool:
        if self.globs is None or self.compared >= self.COMPARED_AT_MOST or not self.globs.fullmatch(name):
            return False
        if not (OPTS_IN.search(old) and OPTS_IN.search(new)):
            return False  # Pagefind takes the whole <body> of a page that does not opt in
        self.compared += 1
        before = _indexed_part(old)
        return before is not None and before == _indexed_part(new)


class _index_lock:
    """One indexer per output directory; the fast publisher's lock file is a different one."""

    def __init__(self, out: Path):
        self.path = out / HUBBUB_DIR / "search.lock"

    def __enter__(self):
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        os.close(self.fd)


def _run_shards(settings: dict, out: Path, plan: _Plan, result: IndexResult) -> int:
    """Index the dirty shards and the overlay (in parallel, one Pagefind per core), then install
    them, SHARDS and RECORD, and remove what the index no longer uses. Returns the documents
    Pagefind indexed."""
    if not plan.documents:
        _remove_bundle(out, result, keep_comment_docs=True)  # a site with nothing searchable yet
        return 0
    members: dict[int, list[str]] = {}
    for path in plan.documents:
        members.setdefault(shard_of(path, plan.count), []).append(path)
    if plan.count == 1:  # the whole site: Pagefind's own globs
        globs = index_globs(settings)
        globs = {0: _one_glob([*globs, f"{COMMENT_DOCS}/*.html"] if plan.record["comments"] else globs)}
    else:
        globs = {shard: _glob_of(paths) for shard, paths in members.items()}
    jobs = {s: (globs[s], members[s]) for s in sorted(plan.dirty) if s in members}
    if plan.overlay:
        jobs[OVERLAY] = (_glob_of(plan.overlay), plan.overlay)
    staging = Path(tempfile.mkdtemp(prefix="pagefind-", dir=out / HUBBUB_DIR))

    def index(job, work_name=None):
        (glob, paths), work = jobs[job], staging / (work_name or str(job).rstrip("/"))
        pages = _run_pagefind(settings, out, glob, work)
        return pages, (_page_hashes(work / BUNDLE, paths) if pages else ({}, True)), work / BUNDLE

    try:
        with ThreadPoolExecutor(max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
            done = dict(zip(jobs, pool.map(index, jobs), strict=True))
        live, record = out / BUNDLE, plan.record
        hashes, unmapped = dict(record["pages"]), set(record["unmapped"])
        for shard, (_pages, (found, all_known), _bundle) in done.items():
            if shard != OVERLAY:
                hashes = {p: h for p, h in hashes.items() if shard_of(p, plan.count) != shard} | found
                (unmapped.discard if all_known else unmapped.add)(shard)
        if OVERLAY in done:
            # A document whose overlay copy is its shard's copy again (an edit undone, a change
            # Pagefind does not keep) has the same page hash in both, which the search page would
            # hide in both: its shard copy is current, so it leaves the overlay.
            current = {p for p, h in done[OVERLAY][1][0].items() if hashes.get(p) == h}
            if current:
                overlay = [p for p in plan.overlay if p not in current]
                record = {**record, "overlay": overlay, "hidden": [p for p in record["hidden"] if p not in current]}
                jobs[OVERLAY] = (_glob_of(overlay), overlay)
                done[OVERLAY] = index(OVERLAY, "overlay-again") if overlay else (0, ({}, True), None)
        for shard, (pages, _hashes, bundle) in done.items():
            if pages:
                _install_bundle(bundle, live / (OVERLAY if shard == OVERLAY else shard_dir(shard, plan.count)), result)
        # A shard whose pages Pagefind found nothing to take from has no bundle.
        bundles = [shard_dir(s, plan.count) for s in sorted(members)
                   if (done[s][0] if s in done else (live / shard_dir(s, plan.count) / ENTRY).is_file())]
        if OVERLAY in done and done[OVERLAY][0]:
            bundles.append(OVERLAY)
        if not bundles:
            _remove_bundle(out, result, keep_comment_docs=True)
            return 0
        hidden = _hidden(record["hidden"], hashes, bundles, plan.count)
        listing = {"bundles": bundles, "hidden": hidden, "hidden_filters": _hidden_filters(live, bundles, hidden)}
        shards = (json.dumps(listing) + "\n").encode()
        if write_if_changed(live / SHARDS, shards):
            result.written.append(SHARDS)
        _remove_unused(live, bundles, result)
        record = {**record, "pages": {p: hashes[p] for p in sorted(hashes)}, "unmapped": sorted(unmapped)}
        atomic_write(out / RECORD, json.dumps(record).encode(), fsync=False)
        return sum(pages for pages, _hashes, _bundle in done.values())
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _hidden(paths: list[str], hashes: dict[str, str], bundles: list[str], count: int) -> dict[str, list[str]]:
    """For the search page: by bundle number, the hashes of the shard copies it must not show."""
    hidden: dict[str, list[str]] = {}
    for path in paths:
        where = shard_dir(shard_of(path, count), count)
        if path in hashes and where in bundles:
            hidden.setdefault(str(bundles.index(where)), []).append(hashes[path])
    return {n: sorted(found) for n, found in sorted(hidden.items())}


def _hidden_filters(live: Path, bundles: list[str], hidden: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """For the search page's filter lists: per filter, how many of the hidden copies hold each
    value (Pagefind counts them in; a value only they hold is offered by no current page)."""
    counts: dict[str, dict[str, int]] = {}
    for n, pages in hidden.items():
        for page in pages:
            try:
                data = gzip.decompress((live / bundles[int(n)] / "fragment" / f"{page}.pf_fragment").read_bytes())
                filters = json.loads(data[data.index(b"{"):]).get("filters", {})
            except (OSError, ValueError, AttributeError):
                continue  # a fragment gone or unreadable: the list may offer a value with no result
            for name, values in filters.items():
                for value in values:
                    counts.setdefault(name, {})[value] = counts.get(name, {}).get(value, 0) + 1
    return counts


def _page_hashes(bundle: Path, paths: list[str]) -> tuple[dict[str, str], bool]:
    """Pagefind's hash of each of these documents in a bundle (a search result's id, its fragment's
    name), and whether every fragment was matched to one of them. A fragment is gzip'd JSON after a
    signature; its url is the document's address (a comment document's own, not its article's)."""
    by_url = {_page_url(p): p for p in paths}
    found, all_known = {}, True
    for fragment in (bundle / "fragment").glob("*.pf_fragment"):
        try:
            url = _fragment_url(fragment.read_bytes())
        except (OSError, ValueError, KeyError, TypeError, zlib.error):
            all_known = False
            continue
        path = by_url.get(unquote(url))
        if path is None:
            all_known = False
        else:
            found[path] = fragment.name.removesuffix(".pf_fragment")
    return found, all_known


_URL_FIRST = re.compile(rb'^pagefind_dcd\{"url":("(?:[^"\\]|\\.)*")')


def _fragment_url(data: bytes) -> str:
    """A fragment's url: Pagefind writes it first, so the start of the file usually tells."""
    start = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, 2048)
    found = _URL_FIRST.match(start)
    if found:
        return json.loads(found.group(1))
    text = gzip.decompress(data)
    return json.loads(text[text.index(b"{"):])["url"]


def _page_url(path: str) -> str:
    """The address Pagefind gives a document of the output (an index.html is its directory's)."""
    if path == "index.html" or path.endswith("/index.html"):
        path = path[: -len("index.html")]
    return "/" + path


def _run_pagefind(settings: dict, out: Path, glob: str, work: Path) -> int:
    """Pagefind over the pages of `out` that `glob` matches; the bundle goes to work/pagefind."""
    binary = pagefind_binary()
    work.mkdir()
    # The glob goes in a config file of its own (a shard's list of pages can be longer than one
    # command-line argument may be); no pagefind.yml of the site and no PAGEFIND_* variables: the
    # index depends on the build alone.
    (work / "pagefind.json").write_text(json.dumps({"glob": glob}), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFIND_")}
    command = [binary, "--site", str(out), "--output-path", str(work / BUNDLE)]
    for selector in EXCLUDE_SELECTORS:
        command += ["--exclude-selectors", selector]
    try:
        done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True,
                              timeout=setting(settings, "SEARCH_TIMEOUT"))
    except subprocess.TimeoutExpired as exc:
        raise SearchError(f"Pagefind took longer than SEARCH_TIMEOUT ({exc.timeout} s) to index {out}; "
                          "raise SEARCH_TIMEOUT in pelicanconf.py") from exc
    if done.returncode != 0 and _indexed_pages(done.stdout) == 0 and "Indexed 0 pages" in done.stdout:
        return 0  # nothing searchable in these pages: no bundle, no error
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-2000:]
        raise SearchError(f"Pagefind could not index {out} (exit status {done.returncode}): {detail}")
    if not (work / BUNDLE / ENTRY).is_file():
        raise SearchError(f"Pagefind wrote no {ENTRY}: is any page marked with data-pagefind-body?")
    return _indexed_pages(done.stdout)


def _one_glob(globs: list[str]) -> str:
    return globs[0] if len(globs) == 1 else "{" + ",".join(globs) + "}"


def _glob_of(paths: list[str]) -> str:
    """A glob that matches exactly these paths (Pagefind's metacharacters escaped)."""
    return _one_glob([re.sub(r"([\\*?\[\]{}(),<>:!])", r"\\\1", path) for path in paths])


def _indexed_pages(stdout: str) -> int:
    for line in stdout.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "Indexed" and words[2] in ("page", "pages") and words[1].isdigit():
            return int(words[1])
    return 0


def _bundle_files(root: Path, nested: bool = True) -> dict[str, Path]:
    """The files under root; without `nested`, not those of the shard bundles inside it, nor SHARDS."""
    files = {}
    for dirpath, dirs, names in os.walk(root):
        if not nested and Path(dirpath) == root:
            dirs[:] = [d for d in dirs if not d.startswith(SHARD_PREFIX)]
            names = [n for n in names if n != SHARDS]
        for name in names:
            path = Path(dirpath, name)
            files[path.relative_to(root).as_posix()] = path
    return files


def _install_bundle(new: Path, live: Path, result: IndexResult) -> None:
    """Move the new bundle into place so that a reader always finds a whole index."""
    fresh = {k: v for k, v in _bundle_files(new).items() if k not in UNUSED}
    old = _bundle_files(live, nested=False) if live.is_dir() else {}
    prefix = live.name + "/" if live.name.startswith(SHARD_PREFIX) else ""
    for name in sorted(fresh, key=lambda n: n == ENTRY):  # the entry file last: it names the rest
        target = live / name
        if name in old and _same(old[name], fresh[name]):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(fresh[name], target)
        result.written.append(prefix + name)
    for name in sorted(set(old) - set(fresh)):
        atomic_remove(old[name], fsync=False)
        result.removed.append(prefix + name)
    _remove_empty_dirs(live)


def _remove_unused(live: Path, bundles: list[str], result: IndexResult) -> None:
    """After SHARDS names the new bundles: the files of bundles it no longer names go."""
    for name, path in sorted(_bundle_files(live).items()):
        top = name.split("/", 1)[0]
        if name == SHARDS or (f"{top}/" in bundles if top.startswith(SHARD_PREFIX) else "" in bundles):
            continue
        atomic_remove(path, fsync=False)
        result.removed.append(name)
    _remove_empty_dirs(live)


def _remove_empty_dirs(root: Path) -> None:
    for dirpath, dirs, names in os.walk(root, topdown=False):
        if not names and Path(dirpath) != root and not any(Path(dirpath, d).exists() for d in dirs):
            os.rmdir(dirpath)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _remove_bundle(out: Path, result: IndexResult, keep_comment_docs: bool = False) -> None:
    """No index: the old bundle (and, with search turned off, the comment documents) go."""
    directories = (out / BUNDLE,) if keep_comment_docs else (out / BUNDLE, out / COMMENT_DOCS)
    for directory in directories:
        if directory.is_dir():
            result.removed.extend(sorted(_bundle_files(directory)))
            shutil.rmtree(directory)
    atomic_remove(out / RECORD, fsync=False)


# -- comments as documents --------------------------------------------------------------------------

def _write_comment_docs(settings: dict, out: Path) -> set[str]:
    """Write (or remove) each thread's comment document; the output-relative paths of those that changed."""
    docs = out / COMMENT_DOCS
    wanted: dict[str, bytes] = {}
    if setting(settings, "SEARCH_INDEX_COMMENTS"):
        wanted = {f"{slug}.html": doc for slug, doc in _comment_documents(out).items()}
    changed = set()
    existing = {p.name for p in docs.glob("*.html")} if docs.is_dir() else set()
    for name, doc in wanted.items():
        path = docs / name
        if name in existing and path.read_bytes() == doc:
            continue
        atomic_write(path, doc, fsync=False)
        changed.add(f"{COMMENT_DOCS}/{name}")
    for name in existing - set(wanted):
        atomic_remove(docs / name, fsync=False)
        changed.add(f"{COMMENT_DOCS}/{name}")
    return changed


def _comment_documents(out: Path) -> dict[str, bytes]:
    from .core.threadfile import ThreadFileError, read_thread

    try:
        manifest = load_manifest(out)
    except ManifestError:
        return {}  # no comments plugin, no threads
    comments_dir = Path(manifest["site"]["comments_dir"])
    docs = {}
    for slug, entry in manifest["threads"].items():
        try:
            comments = read_thread(comments_dir, slug).comments  # thread files are replaced by rename
        except ThreadFileError:
            continue  # the build reports a broken thread file; search skips it
        if comments:
            docs[slug] = comment_document(entry, comments, manifest["site"].get("lang", ""))
    return docs


def comment_document(entry: dict, comments: list, default_lang: str = "") -> bytes:
    """The indexer's view of one thread: a document whose results open the article, one heading
    (anchored at the comment on the page) per comment. Comment HTML is the service's sanitised
    HTML; names are escaped."""
    lang = escape(entry.get("lang") or default_lang or "en")
    title = escape(entry.get("title", ""))
    parts = [
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>',
        f'<body><main data-pagefind-body data-pagefind-weight="0.5" data-pagefind-meta="url:{escape(entry["url"])}"'
        f' data-pagefind-filter="type:Comments">',
        f'<h1 data-pagefind-meta="title">Comments on “{title}”</h1>',
    ]
    for c in comments:
        parts.append(f'<h2 id="comment-{int(c.id)}">{escape(c.author)}</h2>{c.html}')
    parts.append("</main></body></html>\n")
    return "".join(parts).encode("utf-8")
