"""An article's links to other sites, which the service sends webmentions to.

The build records them, with a digest of the content, in the article's manifest entry; the
service compares them with what it last sent (comments_service/webmention/send.py).
Standard library only: the build must stay free of the service's dependencies.
"""

from __future__ import annotations

import hashlib
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


class _Anchors(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href.strip())


def _host(url: str) -> str:
    try:
        parts = urlsplit(url)
        return f"{(parts.hostname or '').lower()}:{parts.port or ''}"
    except ValueError:
        return ""


def external_links(html: str, page_url: str, site_url: str) -> list[str]:
    """The http(s) links of `html` (resolved against the page's address) to hosts other than the
    site's own, without fragments, sorted and each once."""
    parser = _Anchors()
    parser.feed(html or "")
    own = _host(site_url)
    found = set()
    for href in parser.hrefs:
        try:
            url = urljoin(page_url, href).split("#", 1)[0]
            scheme = urlsplit(url).scheme
        except ValueError:
            continue  # a malformed address is no link to notify
        if scheme in ("http", "https") and _host(url) != own and len(url) <= 2000:
            found.add(url)
    return sorted(found)


def content_digest(html: str) -> str:
    """Changes whenever the article's content does: an edited post is announced again."""
    return hashlib.sha256((html or "").encode("utf-8")).hexdigest()[:32]
