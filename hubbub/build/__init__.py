"""Build the Pelican site of a Hubbub project: the one place that knows how `hubbub build` runs."""

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
    return read_settings(str(settings_file(root, publish)), override=override or None)


class _ErrorCounter(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def build_site(root: Path | None = None, publish: bool = False, **override) -> dict:
    """Run a full Pelican build. Returns the settings used; raises BuildError on any error."""
    from pelican import Pelican

    settings = load_settings(root, publish, **override)
    errors = _ErrorCounter()
    pelican_logger = logging.getLogger("pelican")
    pelican_logger.addHandler(errors)
    try:
        Pelican(settings).run()
    except BuildError:
        raise
    except Exception as exc:  # Pelican and plugins raise many kinds; report them as one.
        raise BuildError(f"site build failed: {exc}") from exc
    finally:
        pelican_logger.removeHandler(errors)
    if errors.messages:
        raise BuildError("site build reported errors:\n  " + "\n  ".join(errors.messages))
    index_search(settings)
    return settings


def index_search(settings: dict, changed_pages=None) -> None:
    """The search index (hubbub.search) after Pelican wrote the site; `changed_pages` as there."""
    from hubbub.search import SearchError, index_site

    try:
        index_site(settings, settings["OUTPUT_PATH"], changed_pages)
    except SearchError as exc:
        raise BuildError(f"search index: {exc}") from exc
