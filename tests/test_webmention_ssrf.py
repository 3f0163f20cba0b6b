"""The verifier never connects to our own network: each refusal is proved by a real server that
stands where the request would have gone and receives nothing.

Addresses no test machine has (10.0.0.0/8, 169.254.0.0/16, fc00::/7) are made to lead to a local
server through fetch.dial, the one place a checked address becomes a socket: if the guard let
them through, that server would see the request.
"""

from __future__ import annotations

import pytest
from web_helpers import Route, Site, h_entry

from comments_service.webmention import fetch

PUBLIC = "93.184.216.34"  # a public address, stood in for by a local server


@pytest.fixture
def trap():
    """The server a refused request would reach."""
    with Site() as site:
        site.page("/", "<p>internal admin page</p>")
        yield site


def route(monkeypatch, names: dict[str, str], addresses: dict[str, tuple[str, int]]):
    """Resolve made-up names to made-up addresses, and connect made-up addresses to local servers."""
    real_resolve, real_dial = fetch.resolve_host, fetch.dial
    monkeypatch.setattr(fetch, "resolve_host", lambda host, port: [names[host]] if host in names
                        else real_resolve(host, port))
    monkeypatch.setattr(fetch, "dial", lambda ip, port: addresses.get(ip) or real_dial(ip, port))


@pytest.mark.parametrize("address", ["10.20.30.40", "169.254.169.254", "fc00::1", "fd12:3456::1", "192.168.1.1",
                                     "172.16.0.1", "100.64.0.1", "224.0.0.1", "0.0.0.0", "::ffff:127.0.0.1"])
def test_private_and_reserved_addresses_are_refused(monkeypatch, trap, address):
    route(monkeypatch, {"intranet.test": address}, {address: ("127.0.0.1", trap.port)})
    with pytest.raises(fetch.AddressRefused, match="refused"):
        fetch.fetch(f"http://intranet.test:{trap.port}/", allow_private=False)
    assert trap.requests == []
    # The same route with the guard lifted does reach the server: the refusal above is the guard's.
    assert fetch.fetch(f"http://intranet.test:{trap.port}/", allow_private=True).status == 200
    assert trap.paths() == ["/"]


def test_loopback_ipv4_and_ipv6_are_refused():
    for host in ("127.0.0.1", "::1"):
        with Site(host) as site:
            site.page("/", "<p>local</p>")
            for url in (site.url("/"), site.url("/").replace(host if ":" not in host else f"[{host}]", "localhost")):
                with pytest.raises(fetch.AddressRefused):
                    fetch.fetch(url, allow_private=False)
            assert site.requests == []


def test_a_redirect_to_loopback_is_refused_after_the_public_hop(monkeypatch, trap):
    with Site() as public:
        public.routes["/post"] = Route(b"", 302, {"Location": trap.url("/")})
        route(monkeypatch, {"blog.test": PUBLIC}, {PUBLIC: ("127.0.0.1", public.port)})
        with pytest.raises(fetch.AddressRefused, match="loopback"):
            fetch.fetch(f"http://blog.test:{public.port}/post", allow_private=False)
        assert public.paths() == ["/post"] and trap.requests == []


def test_dns_rebinding_cannot_reach_loopback(monkeypatch, trap):
    """A name that answers with a public address first and loopback second: each connection is checked."""
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    with Site() as public:
        public.routes["/post"] = Route(b"", 302, {"Location": f"http://rebind.test:{trap.port}/"})
        monkeypatch.setattr(fetch, "resolve_host", lambda host, port: next(answers))
        monkeypatch.setattr(fetch, "dial", lambda ip, port: ("127.0.0.1", public.port) if ip == PUBLIC else (ip, port))
        with pytest.raises(fetch.AddressRefused):
            fetch.fetch(f"http://rebind.test:{public.port}/post", allow_private=False)
        assert trap.requests == []


def test_only_http_and_https_no_credentials_no_cookies(monkeypatch):
    with Site() as site:
        site.routes["/file"] = Route(b"", 302, {"Location": "file:///etc/passwd"})
        site.routes["/gopher"] = Route(b"", 301, {"Location": "gopher://127.0.0.1:70/"})
        site.routes["/cookie"] = Route(b"", 302, {"Location": "/next", "Set-Cookie": "session=secret; Path=/"})
        site.page("/next", "<p>next</p>")
        for path in ("/file", "/gopher"):
            with pytest.raises(fetch.FetchError, match="not an http"):
                fetch.fetch(site.url(path), allow_private=True)
        with pytest.raises(fetch.FetchError, match="not an http"):
            fetch.fetch("ftp://example.org/x", allow_private=True)
        fetch.fetch(site.url("/cookie").replace("http://", "http://me:pw@"), allow_private=True)
        seen = {r.path: r.headers for r in site.requests}
        assert "Authorization" not in seen["/cookie"] and "Cookie" not in seen["/next"]


def test_the_verification_job_records_the_refusal(make_app, service_env, trap):
    """With the guard on (the default), a webmention whose source is on loopback is rejected."""
    from service_helpers import run_jobs
    from webmention_helpers import received, send, target_of

    app = make_app(service_env)
    slug = "social-media-and-network-marketing"
    source = trap.page("/post", h_entry(target_of(app, slug)))
    assert send(app.test_client(), source, target_of(app, slug)).status_code == 202
    run_jobs(app)
    wm, comment = received(app, source)
    assert wm.status == "rejected" and "loopback" in wm.reason and comment is None
    assert trap.requests == []
