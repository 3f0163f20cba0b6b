"""Which article of this site an address names: the receiver's cheap check of `target`, and the
link a source must contain. Addresses are compared as people mean them: scheme, case of the host,
a default port, a fragment, a query, a trailing slash or index.html make no difference."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_INDEX = re.compile(r"/index\.html?$")


def url_key(url: str) -> str | None:
    """A comparable form of an http(s) address: host[:port]/path, or None for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if port and port not in (80, 443):
        host = f"{host}:{port}"
    path = _INDEX.sub("/", parts.path or "/").rstrip("/")
    return f"{host}{path}"


class ArticleIndex:
    """Public addresses of the built site's articles (the manifest's absolute_url), by url_key."""

    def __init__(self, hub):
        self.hub = hub
        self._threads: dict | None = None
        self._keys: dict[str, str] = {}

    def _index(self) -> dict[str, str]:
        threads = self.hub.threads.all()
        if threads is not self._threads:  # the manifest is cached until a build replaces it
            base = self.hub.site_url()
            keys = {}
            for slug, entry in threads.items():
                for address in (entry.get("absolute_url", ""), f"{base}/{entry.get('url', '').lstrip('/')}"):
                    if (key := url_key(address)) is not None:
                        keys[key] = slug
            self._threads, self._keys = threads, keys
        return self._keys

    def thread_for(self, url: str) -> str | None:
        key = url_key(url)
        return None if key is None else self._index().get(key)
