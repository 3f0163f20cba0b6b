"""The comment rate limit counts an IPv6 client by its /64 network. Every IPv6 customer line and
server gets at least a /64 and picks any of its 2^64 addresses (privacy addresses change on their
own), so a limit per single address let one machine send as many comments as it liked. IPv4, and
IPv4 seen as an IPv4-mapped IPv6 address, are counted per address as before."""

from __future__ import annotations

from service_helpers import GOOD, comments


def _send(client, slug, address: str, n: int):
    return client.post(f"/api/threads/{slug}/comments", json={**GOOD, "body": f"Comment {n} from {address}"},
                       environ_base={"REMOTE_ADDR": address})


def test_addresses_of_one_ipv6_network_share_one_allowance(make_app, service_env, slug):
    app = make_app({**service_env, "HUBBUB_RATE_LIMIT": "3/minute"})
    client = app.test_client()
    answers = [_send(client, slug, f"2001:db8:1:2::{n + 1:x}", n) for n in range(5)]
    assert [r.status_code for r in answers] == [202, 202, 202, 429, 429]
    assert answers[-1].headers["Retry-After"]
    assert len(comments(app)) == 3
    # Another /64 (another customer) has its own allowance.
    assert _send(client, slug, "2001:db8:1:3::1", 9).status_code == 202


def test_ipv4_counts_per_address(make_app, service_env, slug):
    app = make_app({**service_env, "HUBBUB_RATE_LIMIT": "1/minute"})
    client = app.test_client()
    assert _send(client, slug, "192.0.2.1", 1).status_code == 202
    assert _send(client, slug, "192.0.2.2", 2).status_code == 202
    assert _send(client, slug, "192.0.2.1", 3).status_code == 429
    assert _send(client, slug, "::ffff:192.0.2.1", 4).status_code == 429  # the same client, written another way
