"""Per-address rate limits (flask-limiter), keyed by the client address we believe."""

from __future__ import annotations

from flask import current_app
from flask_limiter import Limiter

from .client import current_client_address

limiter = Limiter(key_func=current_client_address, default_limits=[], headers_enabled=True)


def comment_rate() -> str:
    return current_app.extensions["hubbub"].config.rate_limit


def init_limiter(app, hub) -> None:
    # One shared counter for every process when Redis is there; otherwise per process.
    app.config.setdefault("RATELIMIT_STORAGE_URI", hub.config.queue_url or "memory://")
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    limiter.init_app(app)
