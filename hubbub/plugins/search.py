"""The search page and box (hubbub.search makes the index after the build).

Gives the search settings their defaults (hubbub.search.DEFAULTS) so that templates can use
SEARCH_INDEX and SEARCH_URL, and warns when search is on but the site has no search page: add
"search" to DIRECT_TEMPLATES (its address is SEARCH_URL, saved as SEARCH_SAVE_AS).
"""

from __future__ import annotations

import logging

from pelican import signals

from hubbub.search import DEFAULTS

logger = logging.getLogger(__name__)


def _initialized(pelican) -> None:
    settings = pelican.settings
    for key, value in DEFAULTS.items():
        if settings.get(key) is None:
            settings[key] = value
    if not str(settings["SEARCH_URL"]).endswith("/"):
        settings["SEARCH_URL"] = str(settings["SEARCH_URL"]) + "/"
    if settings["SEARCH_INDEX"] and "search" not in settings.get("DIRECT_TEMPLATES", ()):
        logger.warning('SEARCH_INDEX is on but DIRECT_TEMPLATES has no "search": the search box leads to '
                       'a missing page. Add "search" to DIRECT_TEMPLATES in pelicanconf.py, or set SEARCH_INDEX = False.')


def register():
    signals.initialized.connect(_initialized)
