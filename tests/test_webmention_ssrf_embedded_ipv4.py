"""IPv6 addresses that carry an IPv4 address inside them (6to4, 2002::/16; Teredo, 2001::/32) lead
to that IPv4 address on hosts that route them (a 6to4 or Teredo tunnel). The guard judges them by
the address they embed, as it does IPv4-mapped ones: 2002:a14:1e28::1 is 10.20.30.40. Python's
own `is_global` calls 2002::/16 global before 3.12.4, so the guard let these through.

As in test_webmention_ssrf.py, a made-up address is led to a local server through fetch.dial: if
the guard let it through, that server would see the request."""

from __future__ import annotations

import pytest
from web_helpers import Site

from comments_service.webmention import fetch


@pytest.fixture
def trap():
    with Site() as site:
        site.page("/", "<p>internal admin page</p>")
        yield site


@pytest.mark.parametrize("address", ["2002:a14:1e28::1", "2002:7f00:1::1", "2002:a9fe:a9fe::1", "2002:c0a8:101::1"])
def test_6to4_addresses_of_private_ipv4_are_refused(monkeypatch, trap, address):
    monkeypatch.setattr(fetch, "resolve_host", lambda host, port: [address] if host == "tunnel.test"
                        else [host])
    monkeypatch.setattr(fetch, "dial", lambda ip, port: ("127.0.0.1", trap.port) if ip == address else (ip, port))
    with pytest.raises(fetch.AddressRefused, match="refused"):
        fetch.fetch(f"http://tunnel.test:{trap.port}/", allow_private=False)
    assert trap.requests == []


def test_a_6to4_address_of_a_public_ipv4_is_public():
    assert fetch.address_kind("2002:5db8:d822::1") is None  # 93.184.216.34
    assert fetch.address_kind("2001:4860:4860::8888") is None  # an ordinary global IPv6 address
