"""The one check of a web address: what the site publishes as a link, and what forms accept."""

from __future__ import annotations

from urllib.parse import urlsplit


def is_web_address(url: str) -> bool:
    """True for a whole http:// or https:// address with a host and no whitespace."""
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[::1" (an unclosed IPv6 address)
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc) and not any(c.isspace() for c in url)


def safe_url(url: str) -> str:
    """`url` trimmed if it is a web address, else "": javascript:, data: and junk never become links."""
    url = (url or "").strip()
    return url if is_web_address(url) else ""
