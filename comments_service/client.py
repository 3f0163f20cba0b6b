"""Who is asking: the client address, believing X-Forwarded-For only from trusted proxies."""

from __future__ import annotations

import ipaddress

from flask import request

from .hub import current_hub


def _trusted(addr: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(remote_addr: str, forwarded_for: str | None, trusted) -> str:
    """The nearest address that is not a trusted proxy, walking X-Forwarded-For from the right."""
    addr = remote_addr or ""
    if not trusted or not _trusted(addr, trusted) or not forwarded_for:
        return addr
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return addr  # a garbled header: fall back to the proxy itself
        if not _trusted(hop, trusted):
            return hop
        addr = hop
    return addr


def current_client_address() -> str:
    hub = current_hub()
    return client_address(request.remote_addr or "", request.headers.get("X-Forwarded-For"),
                          hub.config.trusted_proxies)
