"""Share cards and site identity: canonical links, Open Graph and Twitter cards, the favicon.

The theme's base.html writes the tags; this plugin gives them what they need:
- CANONICAL_SITEURL: the absolute address the site is known by (default SITEURL, which Pelican
  replaces by a relative path inside pages when RELATIVE_URLS is on). Canonical links, og:url
  and JSON-LD are absolute only when it is an absolute http(s) address; the build warns if not.
- SHARE_IMAGE: the site-relative path of the picture a share card shows when the page has no
  image of its own (`Image:` metadata of a post); default the theme's share card, if it has one.
- TWITTER_SITE: the site's "@account", for twitter:site (optional).
It also copies the theme's favicon.ico to the site root, where browsers and feed readers look for
it, unless the site saves its own there (EXTRA_PATH_METADATA ... {"save_as": "favicon.ico"}).
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from pelican import signals

from hubbub.build import claim_output
from hubbub.core.atomic import write_if_changed

logger = logging.getLogger(__name__)

THEME_SHARE_IMAGE = "images/share-card.png"  # under the theme's static/
THEME_FAVICON = "images/favicon.ico"


def is_absolute_http(url: str) -> bool:
    parts = urlsplit(url or "")
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _theme_static(settings: dict, name: str) -> Path:
    return Path(settings["THEME"]) / "static" / name


def _initialized(pelican) -> None:
    settings = pelican.settings
    canonical = (settings.get("CANONICAL_SITEURL") or settings.get("SITEURL") or "").rstrip("/")
    settings["CANONICAL_SITEURL"] = canonical
    if not is_absolute_http(canonical):
        logger.warning("SITEURL (or CANONICAL_SITEURL) %r is not an absolute http(s) address: pages get no "
                       "canonical link or og:url, and share cards and JSON-LD relative links. Set SITEURL "
                       "in publishconf.py (HUBBUB_SITEURL).", canonical)
    if settings.get("SHARE_IMAGE") is None and _theme_static(settings, THEME_SHARE_IMAGE).is_file():
        settings["SHARE_IMAGE"] = f"{settings.get('THEME_STATIC_DIR', 'theme')}/{THEME_SHARE_IMAGE}"
    settings.setdefault("SHARE_IMAGE", "")
    settings.setdefault("TWITTER_SITE", "")


def _site_has_favicon(settings: dict) -> bool:
    """The site ships its own favicon.ico (a static file saved at the root)."""
    extra = settings.get("EXTRA_PATH_METADATA") or {}
    return any(str(meta.get("save_as", "")).lstrip("/") == "favicon.ico" for meta in extra.values())


def _finalized(pelican) -> None:
    settings = pelican.settings
    source = _theme_static(settings, THEME_FAVICON)
    if _site_has_favicon(settings) or not source.is_file():
        return
    output = Path(settings["OUTPUT_PATH"])
    write_if_changed(output / "favicon.ico", source.read_bytes())
    claim_output(output, output / "favicon.ico")


def register():
    signals.initialized.connect(_initialized)
    signals.finalized.connect(_finalized)
