"""Sanitise the HTML of posts and pages after Markdown renders it.

Authors are trusted to write Markdown, and Markdown passes raw HTML through. A community blog
takes posts from many writers, so raw HTML is cleaned with nh3 (a maintained sanitiser): scripts,
styles, iframes, event handlers and javascript:/data: URLs are removed; ordinary formatting stays.
Titles and summaries written in the metadata are cleaned the same way. Characters XML cannot carry
(a vertical tab pasted from a word processor) go too: feeds could not hold the post otherwise.
Set SAFE_CONTENT = False in pelicanconf.py to publish raw HTML as written.
"""

import re

import nh3
from pelican import signals

from hubbub.core.threadfile import xml_text

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
        xml_text(html),
        tags=nh3.ALLOWED_TAGS | _EXTRA_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=None,
        strip_comments=True,
    )


_TITLE_TAGS = {"em", "strong", "code", "b", "i", "sub", "sup"}
# A "<" that opens none of those is text: "Ten <head> tags" keeps its word instead of losing it.
_NOT_A_TITLE_TAG = re.compile(rf"<(?!/?(?:{'|'.join(sorted(_TITLE_TAGS))})\b)", re.IGNORECASE)


def clean_title(title: str) -> str:
    """Titles appear in headings, listings and feeds: inline formatting only, no attributes."""
    return nh3.clean(_NOT_A_TITLE_TAG.sub("&lt;", xml_text(title)), tags=_TITLE_TAGS, attributes={}, strip_comments=True)


def _sanitise(content):
    if not content.settings.get("SAFE_CONTENT", True):
        return
    if getattr(content, "_content", None):
        content._content = clean_html(content._content)
    # Metadata written by hand reaches listings and feeds as HTML too. Pelican answers `summary`
    # from the metadata until it copies _summary back there (refresh_metadata_intersite_links,
    # after every plugin's finalized signal): a plugin asking earlier must get the clean one too.
    if getattr(content, "_summary", None):
        content._summary = clean_html(content._summary)
        if "summary" in content.metadata:
            content.metadata["summary"] = content._summary
    if getattr(content, "title", None):
        content.title = clean_title(content.title)
        content.metadata["title"] = content.title


def register():
    signals.content_object_init.connect(_sanitise)
