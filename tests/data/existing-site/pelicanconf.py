"""An existing Pelican site with its own theme that adds Hubbub's comments (tests/test_existing_site.py).

Plain Pelican settings and URLs ({slug}.html), nothing from hubbub.settings: only the comments
plugin, COMMENTS_URL, and the theme's article template including hubbub/thread.html.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent

AUTHOR = "Kim Example"
SITENAME = "Kim's Garden Notes"
SITEURL = "http://127.0.0.1:8000"
RELATIVE_URLS = True
PATH = "content"
TIMEZONE = "Europe/Paris"
DEFAULT_LANG = "en"
DEFAULT_PAGINATION = False
FEED_ALL_ATOM = "feeds/all.atom.xml"
CATEGORY_FEED_ATOM = None
TRANSLATION_FEED_ATOM = None
AUTHOR_FEED_ATOM = None
AUTHOR_FEED_RSS = None

# Pelican's own notmyidea theme; templates/article.html adds the comments to its article page.
THEME = "notmyidea"
THEME_TEMPLATES_OVERRIDES = [str(HERE / "templates")]

PLUGINS = ["hubbub.plugins.comments"]
COMMENTS_URL = ""
COMMENTS_PRIVACY_URL = "pages/privacy.html"
