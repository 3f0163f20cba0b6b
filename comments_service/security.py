"""Response headers: a strict Content-Security-Policy and friends, and CORS for the site's origin."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import request

# The theme and the service use only their own scripts, styles and images (inline SVG is markup,
# not an image request). Forms post to this service only.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")
# The search page runs Pagefind, whose search engine is WebAssembly (compiled in the page and in its
# worker, both from pagefind/). Compiling WebAssembly needs 'wasm-unsafe-eval', which allows no
# JavaScript eval and no inline code; only the search page and the Pagefind bundle get it.
SEARCH_CSP = CSP.replace("script-src 'self';", "script-src 'self' 'wasm-unsafe-eval';")
SEARCH_BUNDLE = "/pagefind/"


def csp_for(path: str, search_url: str) -> str:
    """The policy of one answer: the search page's (SEARCH_URL) and Pagefind's files get SEARCH_CSP."""
    search_page = "/" + search_url.strip("/") + "/"
    if path.startswith(SEARCH_BUNDLE) or path in (search_page, search_page + "index.html"):
        return SEARCH_CSP
    return CSP


def site_origin(site: dict) -> str | None:
    """The origin of the site (the manifest's `site`) when it lives elsewhere (publishconf's
    SITEURL), else None."""
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
        site = hub.threads.site()  # once: each look checks whether the build replaced the manifest
        search_url = site.get("context", {}).get("SEARCH_URL") or "search/"
        response.headers.setdefault("Content-Security-Policy", csp_for(request.path, search_url))
        if request.path.startswith("/api/threads/"):
            origin = request.headers.get("Origin")
            if origin and origin == site_origin(site):
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, PATCH, DELETE, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = "Content-Type"
                response.headers["Access-Control-Max-Age"] = "600"
                # comments.js tells a reader who posts too fast when to send again (a 429's wait).
                response.headers["Access-Control-Expose-Headers"] = "Retry-After"
            response.vary.add("Origin")
        return response
