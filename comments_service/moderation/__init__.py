"""Moderation: moderator accounts, the web UI under /moderate/, the token API under
/api/moderation/, Akismet feedback, email notifications and data retention.

`init_app(app)` wires it all into the comment service's app.
"""

from __future__ import annotations

import datetime as dt
import logging

from flask import Flask, request
from flask_wtf.csrf import CSRFProtect

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    from . import api, email_actions, unsubscribe, views
    from .auth import current_moderator, known_device

    hub = app.extensions["hubbub"]
    config = hub.config
    app.config.setdefault("SESSION_COOKIE_NAME", "hubbub_session")
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Secure everywhere but on a developer's plain-http machine and in the test client.
        SESSION_COOKIE_SECURE=not (config.development or app.testing),
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=12),
        # CSRF is checked by the moderation UI itself (views.csrf_protect), not app-wide:
        # the public API takes forms from readers, the moderation API takes bearer tokens.
        WTF_CSRF_CHECK_DEFAULT=False,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the (12 h) session
    )
    CSRFProtect(app)

    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(unsubscribe.bp)
    app.register_blueprint(email_actions.bp)

    # Login attempts are counted per address and per account, each one before its password is
    # checked: guesses sent all at once are cut short too, and guessing slows to a crawl. A browser
    # the account logged in from before has its own count (auth.known_device): guesses from
    # elsewhere cannot lock the owner out.
    def account_key() -> str:
        email = (request.form.get("email") or "").strip().lower()[:254]
        device = known_device(email)
        return f"device:{device}" if device else f"account:{email}"

    limiter = app.extensions["hubbub_limiter"]
    login = app.view_functions["moderate.login"]
    login = limiter.limit(lambda: config.login_rate_limit, methods=["POST"])(login)
    login = limiter.limit(lambda: config.login_rate_limit, methods=["POST"], key_func=account_key,
                          scope="login-account")(login)
    app.view_functions["moderate.login"] = login

    @app.after_request
    def no_store(response):
        # Moderation pages show emails and addresses: never keep them in a shared cache.
        if request.path.startswith(("/moderate/", "/api/moderation/")) and request.endpoint != "moderate.static":
            response.headers["Cache-Control"] = "no-store"
        return response

    app.jinja_env.globals.setdefault("current_moderator", current_moderator)
    hub.when_ready(_schedule_chores)


def _schedule_chores(hub) -> None:
    from . import notify, retention
    from .schedule import schedule_next

    with hub.transaction() as s:
        schedule_next(s, "retention", retention.EVERY)
        schedule_next(s, "notify-digest", notify.DIGEST_EVERY)
