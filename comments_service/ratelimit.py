"""Per-address rate limits (flask-limiter), keyed by the client address we believe.

The counts live where every process sees them: in Redis when HUBBUB_QUEUE_URL is set, otherwise in
the service's database (ratelimit_storage.py), so gunicorn's workers share one allowance per address.
Each app gets its own Limiter; apps on the same database share its counts, as the workers do.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time

from flask import current_app
from flask_limiter import Limiter

from .client import current_client_address
from .hub import current_hub
from .i18n import ngettext
from .outage import RETRY_AFTER
from .ratelimit_storage import SCHEME


def client_key() -> str:
    """Whom a limit counts: the client's address, an IPv6 client by its /64 network. Every IPv6
    line or server has at least a /64 and may use any address in it (privacy addresses change on
    their own), so counting single addresses would let one machine past any limit. An IPv4-mapped
    IPv6 address is its IPv4 address."""
    address = current_client_address()
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def comment_rate() -> str:
    return current_hub().config.rate_limit


class _NoAddresses(logging.Filter):
    """flask-limiter names the key of a limit it refuses ("ratelimit 5 per 1 minute (KEY)
    exceeded ...", at INFO): our keys are a client's address, or the email a login tried, neither of
    which may reach a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(map(_names_someone, record.args)):
            record.args = tuple("a client" if _names_someone(arg) else arg for arg in record.args)
        return True


def _names_someone(value) -> bool:
    text = str(value)
    if "@" in text:  # the login limiter's key: account:EMAIL
        return True
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True


_LIMITER_LOG = logging.getLogger("flask-limiter")
if not any(isinstance(f, _NoAddresses) for f in _LIMITER_LOG.filters):
    _LIMITER_LOG.addFilter(_NoAddresses())


def init_limiter(app, hub) -> Limiter:
    """Create the app's limiter; `limit_view` applies limits to registered views."""
    if hub.config.queue_url:
        app.config.setdefault("RATELIMIT_STORAGE_URI", hub.config.queue_url)
    else:
        app.config.setdefault("RATELIMIT_STORAGE_URI", f"{SCHEME}://")
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"engine": hub.engine})
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    # Redis away: count in this process meanwhile, and never refuse a comment for it.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    limiter = Limiter(key_func=client_key, default_limits=[], headers_enabled=True)

    # Registered before the limiter's, so it runs after it: the limiter adds Retry-After to every
    # answer it counts, which says "wait" only on a refusal (and on a 303, "wait before following").
    @app.after_request
    def retry_after_only_when_refused(response):
        if response.status_code == 503:  # an outage: its own wait, which the answer's text gives
            response.headers["Retry-After"] = str(RETRY_AFTER)
        elif response.status_code != 429:
            response.headers.pop("Retry-After", None)
        return response

    limiter.init_app(app)
    if not any(app.config.get(name) for name in ("RATELIMIT_DEFAULT", "RATELIMIT_APPLICATION", "RATELIMIT_META")):
        # Every limit is on a view (limit_view), checked by its decorator; with no app-wide limits
        # flask-limiter's pass before every request finds nothing to check, at a cost per request.
        app.before_request_funcs[None].remove(limiter._check_request_limit)
    app.extensions["hubbub_limiter"] = limiter
    return limiter


def limit_view(app, endpoint: str, rate, methods=("POST",)) -> None:
    """Wrap an already registered view with a rate limit (rate: string or callable)."""
    limiter: Limiter = app.extensions["hubbub_limiter"]
    app.view_functions[endpoint] = limiter.limit(rate, methods=list(methods))(app.view_functions[endpoint])


def retry_after() -> int:
    """Whole seconds until the limit the current request broke lets one more through (at least 1)."""
    limit = current_app.extensions["hubbub_limiter"].current_limit
    if limit is None:
        return 60
    return max(1, math.ceil(limit.window.reset_time - time.time()))


def wait_text(seconds: int) -> str:
    """A wait in words, rounded up: "40 seconds", "3 minutes", "5 hours"."""
    if seconds < 120:
        return ngettext("%(num)s second", "%(num)s seconds", seconds)
    if seconds < 7200:
        return ngettext("%(num)s minute", "%(num)s minutes", math.ceil(seconds / 60))
    return ngettext("%(num)s hour", "%(num)s hours", math.ceil(seconds / 3600))
