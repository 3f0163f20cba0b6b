"""Fetch another site's page for a webmention without letting anyone aim us at our own network.

The SSRF guard sits where sockets are opened: every connection (the first request and each
redirect, which we follow ourselves) resolves the host name and connects only to an address that
is public. Loopback, private, link-local, multicast, reserved, shared (CGNAT) and unspecified
addresses are refused, IPv4 and IPv6 alike (::1, fc00::/7, fe80::/10, IPv4-mapped and 6to4 forms). The
check is on the address the socket then connects to, so a name that answers differently the
second time (DNS rebinding) gains nothing. HUBBUB_WEBMENTION_ALLOW_PRIVATE=1 lifts the address
check (tests, intranets) and nothing else.

Always: http and https only, at most 20 redirects, 5 seconds for the whole fetch, 1 MB of body
(counted after decompression), no cookies, no credentials (a user name or password in an address
is dropped), no proxy from the environment.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass

import httpcore
import httpx

from hubbub import __version__

MAX_REDIRECTS = 20
TIMEOUT = 5.0
MAX_BYTES = 1_000_000
REDIRECTS = (301, 302, 303, 307, 308)
USER_AGENT = f"Hubbub-Webmention/{__version__}"
ACCEPT_HTML = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.5, application/json;q=0.5, */*;q=0.1"


class FetchError(Exception):
    """The page could not be had; `retry` says whether asking again later may help."""

    def __init__(self, message: str, retry: bool = False):
        super().__init__(message)
        self.retry = retry


class AddressRefused(FetchError):
    """The host is (or resolves to) an address the guard does not connect to."""


@dataclass
class Page:
    url: str  # where the last redirect led
    status: int
    headers: httpx.Headers
    body: bytes
    content_type: str  # lower case, without parameters
    charset: str | None

    def text(self) -> str:
        return self.body.decode(self.charset or "utf-8", "replace")


# The guard -------------------------------------------------------------------------------------
def address_kind(ip: str) -> str | None:
    """Why an address is not public ("loopback", "private", ...), or None when it is."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(addr, ipaddress.IPv6Address):
        # An IPv4 address inside: IPv4-mapped (::ffff:a.b.c.d), or 6to4 (2002::/16, which a host
        # with a 6to4 tunnel sends to that IPv4 address): judged as the IPv4 address it leads to.
        addr = addr.ipv4_mapped or addr.sixtofour or addr
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(addr, f"is_{kind}"):
            return kind.replace("_", "-")
    return None if addr.is_global else "non-public"


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses a host name resolves to, in the resolver's order (an IP address is itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def dial(ip: str, port: int) -> tuple[str, int]:
    """Where a socket for (ip, port) connects: the same place. Tests stand in servers for
    addresses no test machine has (10.0.0.0/8 ...), to prove that the guard never gets there."""
    return ip, port


class GuardedBackend(httpcore.SyncBackend):
    """httpcore's socket opener, connecting only to addresses the guard allows."""

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = resolve_host(host, port)
        except (socket.gaierror, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}") from exc
        usable = addresses if self.allow_private else [a for a in addresses if address_kind(a) is None]
        if not usable:
            first = addresses[0] if addresses else host
            what = f"a {address_kind(first) or 'non-public'} address"
            # Not the address a name resolved to: this reason is public (the webmention's status
            # URL), and our resolver's view of the sender's names is none of their business.
            raise AddressRefused(f"{host} {'is' if first == host else 'resolves to'} {what}: "
                                 "refused (only public addresses are fetched)")
        failure: Exception | None = None
        for ip in usable:
            to_ip, to_port = dial(ip, port)
            try:
                return super().connect_tcp(to_ip, to_port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure


class _Body(httpx.SyncByteStream):
    def __init__(self, response: httpcore.Response):
        self._response = response

    def __iter__(self):
        yield from self._response.iter_stream()

    def close(self) -> None:
        self._response.close()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport on a connection pool whose sockets go through GuardedBackend."""

    def __init__(self, allow_private: bool):
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), max_connections=4, retries=0,
                                             network_backend=GuardedBackend(allow_private))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        response = self._pool.handle_request(httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions,
        ))
        return httpx.Response(response.status, headers=response.headers, stream=_Body(response),
                              extensions=response.extensions)

    def close(self) -> None:
        self._pool.close()


# Fetching --------------------------------------------------------------------------------------
def web_url(raw: str) -> httpx.URL:
    """`raw` as an http(s) address without credentials; FetchError for anything else."""
    try:
        url = httpx.URL(raw)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(f"{raw[:200]!r} is not a valid address ({exc})") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise FetchError(f"{raw[:200]!r} is not an http(s) address: refused")
    return url.copy_with(userinfo=b"") if url.userinfo else url


def _timeouts(deadline: float, limit: float) -> dict:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError(f"no answer within {limit:g} s", retry=True)
    return {"connect": left, "read": left, "write": left, "pool": left}


def _read(response: httpx.Response, deadline: float, limit: float, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"the page is larger than {max_bytes // 1_000_000} MB ({declared} bytes): not read")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FetchError(f"the page is larger than {max_bytes // 1_000_000} MB: not read")
        if time.monotonic() > deadline:
            raise FetchError(f"the page took longer than {limit:g} s to arrive", retry=True)
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(url: str, *, allow_private: bool, method: str = "GET", data: dict | None = None,
          accept: str = ACCEPT_HTML, follow_redirects: bool = True, timeout: float | None = None,
          max_bytes: int = MAX_BYTES) -> Page:
    """Fetch `url` under the guard and the limits; any answer, of any status, is a Page.

    Raises AddressRefused for an address the guard refuses, FetchError for every other failure
    (with `retry` True for faults that may pass: timeouts, refused or dropped connections).
    """
    timeout = TIMEOUT if timeout is None else timeout
    deadline = time.monotonic() + timeout
    current = web_url(url)
    headers = {"User-Agent": USER_AGENT, "Accept": accept, "Accept-Encoding": "gzip, deflate"}
    try:
        with httpx.Client(transport=GuardedTransport(allow_private), trust_env=False) as client:
            for _hop in range(MAX_REDIRECTS + 1):
                request = httpx.Request(method, current, headers=headers, data=data,
                                        extensions={"timeout": _timeouts(deadline, timeout)})
                response = client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    if follow_redirects and response.status_code in REDIRECTS and location:
                        try:
                            current = web_url(str(current.join(location)))
                        except FetchError as exc:
                            raise FetchError(f"redirected to {location[:200]!r}, which is not an http(s) "
                                             "address: refused") from exc
                        if response.status_code == 303:
                            method, data = "GET", None
                        continue
                    body = _read(response, deadline, timeout, max_bytes)
                    content_type = response.headers.get("content-type", "")
                    return Page(url=str(current), status=response.status_code, headers=response.headers, body=body,
                                content_type=content_type.split(";", 1)[0].strip().lower(),
                                charset=response.charset_encoding)
                finally:
                    response.close()
    except FetchError:
        raise
    except (httpcore.TimeoutException, httpx.TimeoutException) as exc:
        raise FetchError(f"no answer within {timeout:g} s", retry=True) from exc
    except (httpcore.NetworkError, httpx.NetworkError) as exc:
        raise FetchError(f"cannot connect: {exc or type(exc).__name__}", retry=True) from exc
    except (httpcore.ProtocolError, httpcore.UnsupportedProtocol, httpx.HTTPError) as exc:
        raise FetchError(f"the server's answer is not valid HTTP ({exc or type(exc).__name__})", retry=True) from exc
    raise FetchError(f"more than {MAX_REDIRECTS} redirects")
