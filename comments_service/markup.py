"""Comment Markdown → safe HTML. The one function both submitting and editing use.

Raw HTML in a comment is shown as text, never interpreted: Markdown's HTML passes are removed,
then nh3 (a maintained sanitiser) keeps only a small set of formatting tags, http(s)/mailto
links, and marks every link `nofollow ugc noopener`.
"""

from __future__ import annotations

import markdown
import nh3

ALLOWED_TAGS = {"p", "br", "a", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "hr", "del"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
LINK_REL = "nofollow ugc noopener"


def _markdown() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["sane_lists", "nl2br", "fenced_code"], output_format="html")
    # Treat raw HTML as text: these two passes are what would let it through unescaped.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


def sanitise(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel=LINK_REL,
        strip_comments=True,
    )


# Idle parsers, shared by all threads: one is not thread-safe, and building one costs a third of a
# comment's CPU time. Not one per thread: `hubbub serve` answers every request in a new thread.
# (list.pop and list.append are atomic, so taking and giving back need no lock.)
_idle: list[markdown.Markdown] = []


def render(source: str) -> str:
    """Sanitised HTML for a comment's Markdown source."""
    # Lone surrogates cannot be encoded anywhere downstream; submit refuses them, this never raises.
    source = source.encode("utf-8", "replace").decode("utf-8")
    try:
        md = _idle.pop()
    except IndexError:
        md = _markdown()
    html = md.reset().convert(source)  # reset: nothing of the last comment (references, stash) stays
    _idle.append(md)  # not reached when the conversion raises: a parser left mid-way is not reused
    return sanitise(html).strip()
