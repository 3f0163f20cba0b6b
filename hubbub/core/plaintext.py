"""Plain text of sanitised HTML (comment bodies): for excerpts and structured data."""

from __future__ import annotations

import re
from html.parser import HTMLParser


class _TextOnly(HTMLParser):
    _BREAKS = {"p", "br", "li", "blockquote", "pre", "div", "h1", "h2", "h3", "h4", "h5", "h6", "tr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self._BREAKS:
            self.parts.append(" ")

    def handle_data(self, data):
        self.parts.append(data)


def text_of(html: str) -> str:
    """The words of `html`, entities decoded, whitespace collapsed (block elements keep words apart)."""
    parser = _TextOnly()
    parser.feed(html)
    parser.close()
    return re.sub(r"\s+", " ", "".join(parser.parts)).strip()
