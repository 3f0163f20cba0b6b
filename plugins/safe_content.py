"""Sanitise the HTML of posts and pages after Markdown renders it.

Authors are trusted to write Markdown, and Markdown passes raw HTML through. A community blog
takes posts from many writers, so raw HTML is cleaned with nh3 (a maintained sanitiser): scripts,
styles, iframes, event handlers and javascript:/data: URLs are removed; ordinary formatting stays.
Set SAFE_CONTENT = False in pelicanconf.py to publish raw HTML as written.
"""

import nh3
from pelican import signals

# What Markdown (with extra, toc and smarty) can produce, plus a few tags authors use by hand.
_EXTRA_TAGS = {"figure", "figcaption", "details", "summary", "mark", "abbr", "sup", "sub", "dl", "dt", "dd"}
_ATTRIBUTES = {
    "*": {"id", "class", "title", "lang"},
    "a": {"href", "rel", "name"},
    "img": {"src", "alt", "width", "height", "loading"},
    "td": {"align", "colspan", "rowspan"},
    "th": {"align", "colspan", "rowspan", "scope"},
    "abbr": {"title"},
    "ol": {"start"},
}


def clean_html(html: str) -> str:
    """The sanitised form of an article's HTML: safe to publish whoever wrote it."""
    return nh3.clean(
        html,
        tags=nh3.ALLOWED_TAGS | _EXTRA_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )


def _sanitise(content):
    if not content.settings.get("SAFE_CONTENT", True) or not getattr(content, "_content", None):
        return
    content._content = clean_html(content._content)


def register():
    signals.content_object_init.connect(_sanitise)
