"""Per-address rate limits (flask-limiter), keyed by the client address we believe.

Each app gets its own Limiter, so several apps in one process (tests, tools) never share counters.
"""

from __future__ import annotations

from flask_limiter import Limiter

from .client import current_client_address
from .hub import current_hub


def comment_rate() -> str:
    return current_hub().config.rate_limit


def init_limiter(app, hub) -> Limiter:
    """Create the app's limiter; `limit_view` applies limits to registered views."""
    # One shared counter for every process when Redis is there; otherwise per process.
    app.config.setdefault("RATELIMIT_STORAGE_URI", hub.config.queue_url or "memory://")
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    # Redis away: count in this process meanwhile, and never refuse a comment for it.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter = Limiter(key_func=current_client_address, default_limits=[], headers_enabled=True)
    limiter.init_app(app)
    app.extensions["hubbub_limiter"] = limiter
    return limiter


def limit_view(app, endpoint: str, rate, methods=("POST",)) -> None:
    """Wrap an already registered view with a rate limit (rate: string or callable)."""
    limiter: Limiter = app.extensions["hubbub_limiter"]
    app.view_functions[endpoint] = limiter.limit(rate, methods=list(methods))(app.view_functions[endpoint])
