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
and writes it whole; it cannot update or remove one page of a written index. Given the pages a
build changed, `index_site` therefore skips Pagefind when none of them is searchable (a tag page,
a feed, the home page) and no thread's comments changed, and re-indexes everything otherwise.

Settings (defaults in DEFAULTS): SEARCH_INDEX (False: no index, no search box), SEARCH_URL and
SEARCH_SAVE_AS (the search page), SEARCH_INDEX_COMMENTS, SEARCH_INDEX_GLOBS (None: from the
*_SAVE_AS settings), SEARCH_TIMEOUT (seconds Pagefind may take).
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from .core.atomic import atomic_remove, atomic_write
from .core.manifest import HUBBUB_DIR, ManifestError, load_manifest

DEFAULTS = {
    "SEARCH_INDEX": True,
    "SEARCH_URL": "search/",
    "SEARCH_SAVE_AS": "search/index.html",
    "SEARCH_INDEX_COMMENTS": False,
    "SEARCH_INDEX_GLOBS": None,
    "SEARCH_TIMEOUT": 600,
}
BUNDLE = "pagefind"  # <output>/pagefind/: the search page imports pagefind.js from here
COMMENT_DOCS = f"{HUBBUB_DIR}/search"  # one document per thread with comments, for the indexer only
ENTRY = "pagefind-entry.json"
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
    pages: int = 0  # documents Pagefind indexed
    written: list[str] = field(default_factory=list)  # bundle files added or replaced
    removed: list[str] = field(default_factory=list)  # bundle files of the old index removed
    seconds: float = 0.0


def setting(settings: dict, name: str):
    value = settings.get(name)
    return DEFAULTS[name] if value is None and name in DEFAULTS else value


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


def matches(path: str, globs: list[str]) -> bool:
    # A "*" of a glob never spans a "/" in Pagefind; fnmatch's does, so compare part by part.
    parts = path.split("/")
    for glob in globs:
        if glob == "**/*.html":
            if path.endswith(".html"):
                return True
            continue
        pieces = glob.split("/")
        if len(pieces) == len(parts) and all(fnmatch.fnmatchcase(p, g) for p, g in zip(parts, pieces, strict=True)):
            return True
    return False


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
    if not setting(settings, "SEARCH_INDEX"):
        _remove_bundle(out, result)
        return result
    globs = index_globs(settings)
    with _index_lock(out):
        comments_changed = _write_comment_docs(settings, out)
        bundle_there = (out / BUNDLE / ENTRY).is_file()
        if changed_pages is not None and bundle_there and not comments_changed:
            searchable = [p for p in changed_pages if matches(_relative(p, out), globs)]
            if not any(_searchable(out / _relative(p, out)) for p in searchable):
                result.seconds = time.perf_counter() - started
                return result
        if setting(settings, "SEARCH_INDEX_COMMENTS"):
            globs = [*globs, f"{COMMENT_DOCS}/*.html"]
        result.pages = _run_pagefind(settings, out, globs, result)
        result.ran = True
    result.seconds = time.perf_counter() - started
    return result


def _relative(page, out: Path) -> str:
    path = Path(page)
    if path.is_absolute():
        path = path.relative_to(out)
    return path.as_posix()


def _searchable(path: Path) -> bool:
    """A page that exists and opts in, or one that was removed (it may have been in the index)."""
    try:
        return b"data-pagefind-body" in path.read_bytes()
    except FileNotFoundError:
        return True


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


def _run_pagefind(settings: dict, out: Path, globs: list[str], result: IndexResult) -> int:
    binary = pagefind_binary()
    staging = Path(tempfile.mkdtemp(prefix="pagefind-", dir=out / HUBBUB_DIR))
    glob = globs[0] if len(globs) == 1 else "{" + ",".join(globs) + "}"
    # No pagefind.yml of the site and no PAGEFIND_* variables: the index depends on the build alone.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAGEFIND_")}
    command = [binary, "--site", str(out), "--glob", glob, "--output-path", str(staging / BUNDLE)]
    for selector in EXCLUDE_SELECTORS:
        command += ["--exclude-selectors", selector]
    try:
        done = subprocess.run(command, cwd=staging, env=env, capture_output=True, text=True,
                              timeout=setting(settings, "SEARCH_TIMEOUT"))
        if done.returncode != 0 and _indexed_pages(done.stdout) == 0 and "Indexed 0 pages" in done.stdout:
            _remove_bundle(out, result)  # a site with nothing searchable yet: no index, no error
            return 0
        if done.returncode != 0:
            detail = (done.stderr or done.stdout).strip()[-2000:]
            raise SearchError(f"Pagefind could not index {out} (exit status {done.returncode}): {detail}")
        pages = _indexed_pages(done.stdout)
        _install_bundle(staging / BUNDLE, out / BUNDLE, result)
        return pages
    except subprocess.TimeoutExpired as exc:
        raise SearchError(f"Pagefind took longer than SEARCH_TIMEOUT ({exc.timeout} s) to index {out}; "
                          "raise SEARCH_TIMEOUT in pelicanconf.py") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _indexed_pages(stdout: str) -> int:
    for line in stdout.splitlines():
        words = line.split()
        if len(words) == 3 and words[0] == "Indexed" and words[2] == "pages" and words[1].isdigit():
            return int(words[1])
    return 0


def _bundle_files(root: Path) -> dict[str, Path]:
    files = {}
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            files[path.relative_to(root).as_posix()] = path
    return files


def _install_bundle(new: Path, live: Path, result: IndexResult) -> None:
    """Move the new bundle into place so that a reader always finds a whole index."""
    fresh = {k: v for k, v in _bundle_files(new).items() if k not in UNUSED}
    if ENTRY not in fresh:
        raise SearchError(f"Pagefind wrote no {ENTRY}: is any page marked with data-pagefind-body?")
    old = _bundle_files(live) if live.is_dir() else {}
    for name in sorted(fresh, key=lambda n: n == ENTRY):  # the entry file last: it names the rest
        target = live / name
        if name in old and _same(old[name], fresh[name]):
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(fresh[name], target)
        result.written.append(name)
    for name in sorted(set(old) - set(fresh)):
        atomic_remove(old[name], fsync=False)
        result.removed.append(name)
    for dirpath, dirs, names in os.walk(live, topdown=False):
        if not dirs and not names and Path(dirpath) != live:
            os.rmdir(dirpath)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_size == b.stat().st_size and a.read_bytes() == b.read_bytes()
    except OSError:
        return False


def _remove_bundle(out: Path, result: IndexResult) -> None:
    """Search turned off: the old bundle and comment documents go."""
    for directory in (out / BUNDLE, out / COMMENT_DOCS):
        if directory.is_dir():
            result.removed.extend(sorted(_bundle_files(directory)))
            shutil.rmtree(directory)


# -- comments as documents --------------------------------------------------------------------------

def _write_comment_docs(settings: dict, out: Path) -> bool:
    """Write (or remove) each thread's comment document; True if any changed."""
    docs = out / COMMENT_DOCS
    wanted: dict[str, bytes] = {}
    if setting(settings, "SEARCH_INDEX_COMMENTS"):
        wanted = {f"{slug}.html": doc for slug, doc in _comment_documents(out).items()}
    changed = False
    existing = {p.name for p in docs.glob("*.html")} if docs.is_dir() else set()
    for name, doc in wanted.items():
        path = docs / name
        if name in existing and path.read_bytes() == doc:
            continue
        atomic_write(path, doc, fsync=False)
        changed = True
    for name in existing - set(wanted):
        atomic_remove(docs / name, fsync=False)
        changed = True
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
