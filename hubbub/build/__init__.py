"""Build the Pelican site of a Hubbub project: the one place that knows how `hubbub build` runs.

The build is incremental (engine.py): it re-reads, re-renders and rewrites only what changed since
the last build; `full=True` (`hubbub build --full`) starts from scratch. Both write the same bytes.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path


class BuildError(Exception):
    """The site did not build; the message says why and what to fix."""


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
    settings = read_settings(str(settings_file(root, publish)), override=override or None)
    return site_relative_paths(settings, root)


def site_relative_paths(settings: dict, root: Path) -> dict:
    """Pelican resolves PATH and OUTPUT_PATH against the working directory when the settings file
    leaves them out (as many sites' do); a site's are its own directory's, wherever hubbub runs."""
    for key in ("PATH", "OUTPUT_PATH"):
        if not os.path.isabs(settings[key]):
            settings[key] = str(root / settings[key])
    return settings


class _ErrorCounter(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def run_build(root: Path | None = None, publish: bool = False, *, full: bool = False, memory=None,
              shown=(), **override):
    """Build the site: incrementally (only what changed since the last build), or from scratch with
    full=True; both write the same bytes. Returns the BuildReport; raises BuildError on any error.
    `shown`: pages written since the last build by other means (serve --reload's fast path), which
    the search index has not taken in yet."""
    from .engine import SiteBuild

    root = Path(root or site_dir()).resolve()
    settings = load_settings(root, publish, **override)
    errors = _ErrorCounter()
    loggers = [logging.getLogger(name) for name in ("pelican", "hubbub")]
    for logger in loggers:
        logger.addHandler(errors)
    try:
        report = SiteBuild(settings, root, full=full, memory=memory).run()
    except BuildError:
        raise
    except Exception as exc:  # Pelican and plugins raise many kinds; report them as one.
        raise BuildError(f"site build failed: {exc}") from exc
    finally:
        for logger in loggers:
            logger.removeHandler(errors)
    if errors.messages:
        raise BuildError("site build reported errors:\n  " + "\n  ".join(errors.messages))
    if not report.nothing_changed or shown:  # the search index follows the pages that changed
        changed = None if full or report.repaired else sorted(
            {*report.written, *report.removed} - set(report.unindexed) | set(shown))
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
    build = current_build()
    if build is not None:
        build.claim(os.path.relpath(path, output_dir))


def index_search(settings: dict, changed_pages=None) -> None:
    """The search index (hubbub.search) after Pelican wrote the site; `changed_pages` as there."""
    from hubbub.search import SearchError, index_site

    try:
        index_site(settings, settings["OUTPUT_PATH"], changed_pages)
    except SearchError as exc:
        raise BuildError(f"search index: {exc}") from exc
