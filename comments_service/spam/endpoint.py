"""Point the `akismet` library at any Akismet-compatible server (HUBBUB_AKISMET_ENDPOINT).

The library builds absolute URLs (https://rest.akismet.com/1.1/...) and offers no setting for
the host, but it accepts an httpx client. The client made here carries a transport that sends
every request to the configured endpoint instead: scheme, host and port are replaced, and a
path prefix in the endpoint (https://proxy.example/akismet) is put in front of the API path.
"""

from __future__ import annotations

import httpx

DEFAULT_ENDPOINT = "https://rest.akismet.com"


class EndpointError(ValueError):
    """HUBBUB_AKISMET_ENDPOINT is not a usable base URL."""


def _parse_endpoint(endpoint: str) -> httpx.URL:
    try:
        url = httpx.URL(endpoint.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise EndpointError(f"HUBBUB_AKISMET_ENDPOINT={endpoint!r} is not a URL: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise EndpointError(
            f"HUBBUB_AKISMET_ENDPOINT={endpoint!r} must be an http(s) URL such as https://rest.akismet.com"
        )
    if url.query or url.fragment:
        raise EndpointError(f"HUBBUB_AKISMET_ENDPOINT={endpoint!r} must not have a query or fragment")
    return url


class RewriteTransport(httpx.BaseTransport):
    """Send each request to `endpoint`, keeping its path (after the endpoint's own prefix) and query."""

    def __init__(self, endpoint: str, transport: httpx.BaseTransport | None = None):
        base = _parse_endpoint(endpoint)
        self.scheme = base.scheme
        self.host = base.host
        self.port = base.port  # None = the scheme's default port
        self.prefix = base.raw_path.rstrip(b"/")  # b"" or b"/some/prefix"
        self._inner = transport or httpx.HTTPTransport()

    def rewrite(self, url: httpx.URL) -> httpx.URL:
        return url.copy_with(scheme=self.scheme, host=self.host, port=self.port,
                             raw_path=self.prefix + url.raw_path)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = self.rewrite(request.url)
        # The Host header was set from the original URL; name-based proxies need the new one.
        request.headers["Host"] = request.url.netloc.decode("ascii")
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


def http_client(endpoint: str | None, timeout: float) -> httpx.Client:
    """An httpx client for akismet.SyncClient that talks to `endpoint` with `timeout` seconds.

    The real Akismet (no endpoint, or the default one) gets a plain client; anything else gets
    the rewriting transport.
    """
    from akismet import USER_AGENT

    options = {"headers": {"User-Agent": USER_AGENT}, "timeout": httpx.Timeout(timeout)}
    if not endpoint or endpoint.rstrip("/") == DEFAULT_ENDPOINT:
        return httpx.Client(**options)
    return httpx.Client(transport=RewriteTransport(endpoint), **options)
