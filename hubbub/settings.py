"""Hubbub's default Pelican settings, so that a site's pelicanconf.py holds only what is its own.

    from hubbub.settings import *     # the theme, the plugins, URLs, feeds, Markdown
    SITENAME = "My community"         # then the site's own settings, overriding any default
    PLUGINS = [*PLUGINS, "my_plugin"]

publishconf.py starts from the pelicanconf.py beside it:

    from hubbub.settings import pelicanconf_settings
    globals().update(pelicanconf_settings(__file__))

Pelican changes some settings in place (it appends to ARTICLE_EXCLUDES, for one), so every
import hands out fresh copies: two sites built in one process never share a list.
"""

from __future__ import annotations

import copy
import importlib.util
from pathlib import Path

from hubbub import THEME
from hubbub.core.i18n import N_

_DEFAULTS = {
    # Absolute base for feeds and the sitemap; pages link relatively in development.
    "SITEURL": "http://127.0.0.1:8000",
    "RELATIVE_URLS": True,
    # Where the comment service answers; empty = the same origin (`hubbub serve` puts both on one port).
    "COMMENTS_URL": "",
    "PATH": "content",
    "OUTPUT_PATH": "output",
    # Hubbub's theme, from the installed package; a site overrides single templates with
    # THEME_TEMPLATES_OVERRIDES = ["templates"], or sets THEME to its own theme.
    "THEME": THEME,
    "TIMEZONE": "UTC",
    "DEFAULT_LANG": "en",
    "DEFAULT_DATE_FORMAT": "%-d %B %Y",
    "DEFAULT_PAGINATION": 5,
    "SUMMARY_MAX_LENGTH": 50,
    "ARTICLE_PATHS": ["posts"],
    "PAGE_PATHS": ["pages"],
    "STATIC_PATHS": ["images"],
    # Profiles and published comment threads are read by plugins, never rendered as pages.
    "ARTICLE_EXCLUDES": ["authors", "comments", "pages"],
    "PAGE_EXCLUDES": ["authors", "comments", "posts"],
    "IGNORE_FILES": [".#*", "*.json", ".salt"],
    "ARTICLE_URL": "posts/{slug}/",
    "ARTICLE_SAVE_AS": "posts/{slug}/index.html",
    "PAGE_URL": "{slug}/",
    "PAGE_SAVE_AS": "{slug}/index.html",
    "CATEGORY_URL": "category/{slug}/",
    "CATEGORY_SAVE_AS": "category/{slug}/index.html",
    "TAG_URL": "tag/{slug}/",
    "TAG_SAVE_AS": "tag/{slug}/index.html",
    "AUTHOR_URL": "authors/{slug}/",
    "AUTHOR_SAVE_AS": "authors/{slug}/index.html",
    "AUTHORS_URL": "authors/",
    "AUTHORS_SAVE_AS": "authors/index.html",
    "CATEGORIES_URL": "categories/",
    "CATEGORIES_SAVE_AS": "categories/index.html",
    "TAGS_URL": "tags/",
    "TAGS_SAVE_AS": "tags/index.html",
    "ARCHIVES_URL": "archives/",
    "ARCHIVES_SAVE_AS": "archives/index.html",
    "YEAR_ARCHIVE_URL": "archives/{date:%Y}/",
    "YEAR_ARCHIVE_SAVE_AS": "archives/{date:%Y}/index.html",
    "DIRECT_TEMPLATES": ["index", "tags", "categories", "authors", "archives", "sitemap", "robots", "search"],
    "SITEMAP_SAVE_AS": "sitemap.xml",
    "ROBOTS_SAVE_AS": "robots.txt",
    # Static search (Pagefind, run by `hubbub build`): the page's address is part of the public interface.
    "SEARCH_URL": "search/",
    "SEARCH_SAVE_AS": "search/index.html",
    "SEARCH_INDEX_COMMENTS": False,  # True: published comments are searchable too, under their article
    "PAGINATED_TEMPLATES": {"index": None, "tag": None, "category": None, "author": None},
    "PAGINATION_PATTERNS": (
        (1, "{url}", "{save_as}"),
        (2, "{base_name}/page/{number}/", "{base_name}/page/{number}/index.html"),
    ),
    "FEED_ALL_ATOM": "feeds/all.atom.xml",
    "FEED_ALL_RSS": "feeds/all.rss.xml",
    "CATEGORY_FEED_ATOM": "feeds/category/{slug}.atom.xml",
    "CATEGORY_FEED_RSS": "feeds/category/{slug}.rss.xml",
    "AUTHOR_FEED_ATOM": "feeds/author/{slug}.atom.xml",
    "AUTHOR_FEED_RSS": "feeds/author/{slug}.rss.xml",
    "TAG_FEED_ATOM": None,
    "TRANSLATION_FEED_ATOM": None,
    "RSS_FEED_SUMMARY_ONLY": True,
    "MARKDOWN": {
        "extension_configs": {
            "markdown.extensions.extra": {},
            "markdown.extensions.smarty": {},
            "markdown.extensions.toc": {"permalink": False},
        },
        "output_format": "html5",
    },
    "PLUGINS": [
        "hubbub.plugins.safe_content",
        "hubbub.plugins.hub_profiles",
        "hubbub.plugins.similar_posts",
        "hubbub.plugins.comments",
        "hubbub.plugins.share_cards",
        "hubbub.plugins.search",
    ],
    # The labels are in Hubbub's catalog: the theme shows them in the site's language.
    "MENUITEMS": ((N_("The Hub"), "authors/"), (N_("Archives"), "archives/"), (N_("Tags"), "tags/")),
}

__all__ = list(_DEFAULTS)


def __getattr__(name: str):
    # Module attributes are looked up here, so `import *` and `hubbub.settings.PLUGINS` both
    # give a new copy every time.
    try:
        return copy.deepcopy(_DEFAULTS[name])
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def defaults() -> dict:
    """Every default setting, freshly copied."""
    return copy.deepcopy(_DEFAULTS)


def pelicanconf_settings(path: str | Path) -> dict:
    """The upper-case settings of the pelicanconf.py in the directory of `path` (publishconf.py's own
    __file__). It is loaded by path: an import by module name could pick up another site's
    pelicanconf already loaded in the same process."""
    conf = Path(path).resolve().with_name("pelicanconf.py")
    spec = importlib.util.spec_from_file_location("_hubbub_pelicanconf", conf)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {k: v for k, v in vars(module).items() if k.isupper()}
