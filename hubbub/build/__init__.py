"""Build the Pelican site of a Hubbub project: the one place that knows how `hubbub build` runs.

The build is incremental (engine.py): it re-reads, re-renders and rewrites only what changed since
the last build; `full=True` (`hubbub build --full`) starts from scratch. Both write the same bytes.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path

from hubbub.core.atomic import atomic_remove, atomic_write
from hubbub.core.manifest import HUBBUB_DIR

# The errors callers catch, imported from here as before; where each error is: errors.py.
from .errors import BuildError, ErrorCounter, settings_error, template_location
from .errors import ReadFailed as ReadFailed
from .errors import SettingsError as SettingsError


def site_dir() -> Path:
    """The site project: HUBBUB_SITE_DIR, or the current directory."""
    return Path(os.environ.get("HUBBUB_SITE_DIR") or os.getcwd()).resolve()


def settings_file(root: Path, publish: bool = False) -> Path:
    path = root / ("publishconf.py" if publish else "pelicanconf.py")
    if not path.is_file():
        raise BuildError(
            f"{path} not found: run this command in a Hubbub site project, "
            "or point HUBBUB_SITE_DIR at one."
        )
    return path


def load_settings(root: Path | None = None, publish: bool = False, **override) -> dict:
    """Pelican settings for the site, with overrides such as OUTPUT_PATH for tests."""
    from pelican.settings import read_settings

    root = root or site_dir()
    path = settings_file(root, publish)
    try:
        # HUBBUB_PUBLISH tells the service which settings made output/, for the builds it runs itself.
        settings = read_settings(str(path), override={"HUBBUB_PUBLISH": publish, **override})
        return site_relative_paths(settings, root)
    except Exception as exc:  # the file is Python, and Pelican then works on its values: anything can come out
        raise settings_error(path, exc) from exc


def site_relative_paths(settings: dict, root: Path) -> dict:
    """Pelican resolves PATH and OUTPUT_PATH against the working directory when the settings file
    leaves them out (as many sites' do); a site's are its own directory's, wherever hubbub runs."""
    for key in ("PATH", "OUTPUT_PATH"):
        if not os.path.isabs(settings[key]):
            settings[key] = str(root / settings[key])
    return settings


_collector_lock = threading.Lock()
_collector_builds = 0  # builds running in this process (serve --reload runs them in threads)
_collector_thresholds = gc.get_threshold()


@contextmanager
def _full_collections_paused():
    """A build makes millions of objects that live until it ends: the cyclic garbage collector's
    full passes over them took a fifth of an incremental build and found next to nothing to free.
    Young objects are still collected (rendering a page leaves cycles behind), so memory stays as
    it was; the full passes resume when the last build of the process ends."""
    global _collector_builds, _collector_thresholds
    with _collector_lock:
        if _collector_builds == 0:
            _collector_thresholds = gc.get_threshold()
            gc.set_threshold(*_collector_thresholds[:2], 1 << 30)  # full passes: never
        _collector_builds += 1
    try:
        yield
    finally:
        with _collector_lock:
            _collector_builds -= 1
            if _collector_builds == 0:
                gc.set_threshold(*_collector_thresholds)


@_full_collections_paused()
def run_build(root: Path | None = None, publish: bool = False, *, full: bool = False, memory=None,
              shown=(), **override):
    """Build the site: incrementally (only what changed since the last build), or from scratch with
    full=True; both write the same bytes. Returns the BuildReport; raises BuildError on any error.
    `shown`: pages written since the last build by other means (serve --reload's fast path), which
    the search index has not taken in yet."""
    from .engine import SiteBuild

    root = Path(root or site_dir()).resolve()
    settings = load_settings(root, publish, **override)
    errors = ErrorCounter(Path(settings["PATH"]))
    loggers = [logging.getLogger(name) for name in ("pelican", "hubbub")]
    for logger in loggers:
        logger.addHandler(errors)

    def before_writing():
        # A source Pelican could not read would count as deleted: its pages would go. Stop first.
        if errors.messages:
            raise ReadFailed("site build reported errors (no page was written or removed):\n  "
                             + "\n  ".join(errors.messages))

    try:
        report = SiteBuild(settings, root, full=full, memory=memory, shown=shown, before_writing=before_writing).run()
    except BuildError:
        raise
    except Exception as exc:  # Pelican and plugins raise many kinds; report them as one.
        where = template_location(exc)
        raise BuildError(f"site build failed: {where + ': ' if where else ''}{exc}") from exc
    finally:
        for logger in loggers:
            logger.removeHandler(errors)
    # The search index follows the pages that changed (None: all of them).
    changed = None if full or report.repaired else (
        {*report.written, *report.removed} - set(report.unindexed) | set(shown))
    if errors.messages:
        owe_search(report.settings, changed)  # pages written all the same: the next index takes them in
        raise BuildError("site build reported errors:\n  " + "\n  ".join(errors.messages))
    if not report.nothing_changed or shown or owed_search(report.settings) != set():
        index_search(report.settings, changed)
    return report


def build_site(root: Path | None = None, publish: bool = False, *, full: bool = False, **override) -> dict:
    """run_build, returning the settings used (what most callers need)."""
    return run_build(root, publish, full=full, **override).settings


def current_build():
    """The build running in this process (for plugins), or None under a plain `pelican` run."""
    from .engine import current

    return current()


def claim_output(output_dir, path) -> None:
    """A plugin wrote (or kept) this file in output/ on this build: it is part of the site, and an
    incremental build removes it once no build claims it any more. Outside a Hubbub build: nothing."""
    from .engine import relative

    build = current_build()
    if build is not None:
        build.claim(relative(str(path), str(output_dir)))


OWED = f"{HUBBUB_DIR}/search-owed.json"  # pages written that the search index has not taken in


def index_search(settings: dict, changed_pages=None) -> None:
    """The search index (hubbub.search) after Pelican wrote the site; `changed_pages` as there,
    with those earlier builds left to it (owe_search)."""
    from hubbub.search import SearchError, index_site

    owed = owed_search(settings)
    if changed_pages is not None and owed is not None:
        changed_pages = sorted({*changed_pages, *owed})
    else:
        changed_pages = None
    owe_search(settings, changed_pages)  # until the index has them: it may fail, or be cut short
    try:
        index_site(settings, settings["OUTPUT_PATH"], changed_pages)
    except SearchError as exc:
        raise BuildError(f"search index: {exc}") from exc
    atomic_remove(Path(settings["OUTPUT_PATH"]) / OWED, fsync=False)


def owed_search(settings: dict) -> set[str] | None:
    """Pages earlier builds wrote that the search index has not taken in (their index failed, or
    the build reported errors after writing them); None: the whole site."""
    try:
        owed = json.loads((Path(settings["OUTPUT_PATH"]) / OWED).read_bytes())
    except FileNotFoundError:
        return set()
    except (OSError, ValueError):
        return None
    if not isinstance(owed, dict) or owed.get("all") or not isinstance(owed.get("pages"), list):
        return None  # unreadable: the whole site, to be safe
    return set(owed["pages"])


def owe_search(settings: dict, pages) -> None:
    """Add pages (None: the whole site) to what the search index owes."""
    owed = owed_search(settings)
    everything = pages is None or owed is None
    data = {"all": True} if everything else {"pages": sorted({*owed, *pages})}
    atomic_write(Path(settings["OUTPUT_PATH"]) / OWED, json.dumps(data).encode(), fsync=False)
