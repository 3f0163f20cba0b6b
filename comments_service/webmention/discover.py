"""Where a page takes webmentions (W3C Webmention §3.1.2, endpoint discovery).

In order: an HTTP Link header with rel="webmention" (the first, over every Link header), then the
first <link> or <a> element whose rel has the token "webmention" and that has an href, in document
order. The address is resolved against the page's own (after redirects); an empty href is the page
itself; a query string is kept. HTML comments hide what is in them.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from .fetch import Page

_LINK_VALUE = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]*)*)")
_REL = re.compile(r"""(?:^|;)\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))""", re.I)


def _rel_tokens(value: str) -> list[str]:
    return [t.lower() for t in value.split()]


def from_headers(page: Page) -> str | None:
    for header in page.headers.get_list("link"):
        for match in _LINK_VALUE.finditer(header):
            rel = _REL.search(match.group(2) or "")
            if rel and "webmention" in _rel_tokens(rel.group(1) or rel.group(2) or ""):
                return urljoin(page.url, match.group(1).strip())
    return None


def from_html(page: Page) -> str | None:
    if page.content_type not in ("text/html", "application/xhtml+xml", ""):
        return None
    soup = BeautifulSoup(page.body, "lxml", from_encoding=page.charset)
    for tag in soup.find_all(["link", "a"], href=True):
        rel = tag.get("rel") or []
        if isinstance(rel, str):
            rel = rel.split()
        if "webmention" in [r.lower() for r in rel]:
            return urljoin(page.url, tag["href"].strip())
    return None


def endpoint(page: Page) -> str | None:
    """The page's webmention endpoint, or None when it has none."""
    return from_headers(page) or from_html(page)
