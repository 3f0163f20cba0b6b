"""Response headers: a strict Content-Security-Policy and friends, and CORS for the site's origin."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

# The theme and the service use only their own scripts, styles and images (inline SVG is markup,
# not an image request). Forms post to this service only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")


def site_origin(hub) -> str | None:
    """The origin of the site when it lives elsewhere (publishconf's SITEURL), else None."""
    site = hub.threads.site()
    if site.get("relative_urls", True):
        return None
    parts = urlsplit(site.get("siteurl", ""))
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def init_security(app, hub) -> None:
    @app.after_request
    def headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", CSP)
        if request.path.startswith("/api/threads/"):
            origin = request.headers.get("Origin")
            if origin and origin == site_origin(hub):
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = "Content-Type"
                response.headers["Access-Control-Max-Age"] = "600"
            response.vary.add("Origin")
        return response
