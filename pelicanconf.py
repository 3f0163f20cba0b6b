"""Pelican settings for local development (`hubbub build`, `hubbub serve`).

Hubbub's defaults (theme, plugins, URLs, feeds, Markdown) come from hubbub.settings; this file
holds what is this site's own. Any default may be overridden below.
"""

from hubbub.settings import *  # noqa: F403

AUTHOR = "The Hubbub community"
SITENAME = "Hubbub"
SITESUBTITLE = "Writers on networking and online marketing"
# Absolute base for feeds and the sitemap; pages themselves link relatively in development.
SITEURL = "http://127.0.0.1:8000"
RELATIVE_URLS = True
# Where the comment service answers. Empty = same origin (hubbub serve puts both on one port).
COMMENTS_URL = ""

TIMEZONE = "Europe/London"
DEFAULT_LANG = "en"
# Posts without a Category: line go here; `hubbub new post` uses it too.
DEFAULT_CATEGORY = "Online Marketing"
