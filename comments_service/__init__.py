"""Hubbub's comment service: accepts comments, checks them, lets people moderate, publishes.

`create_app()` is the application factory (gunicorn: `comments_service:create_app()`).
"""

from __future__ import annotations

import atexit
import logging

from flask import Flask


def create_app(test_config: dict | None = None, *, env: dict | None = None, run_jobs: bool = True) -> Flask:
    """Build the app from the environment (or `env`); `test_config` overrides Flask settings."""
    from . import errors, i18n, public_api, static_site
    from .config import load_config
    from .hub import Hub
    from .moderation import init_app as init_moderation
    from .ratelimit import comment_rate, init_limiter, limit_view
    from .security import init_security
    from .webmention.receive import bp as webmention_bp
    from .webmention.send import schedule_scan

    config = load_config(env)
    app = Flask(__name__)
    app.config.update(config.flask_settings())
    if test_config:
        app.config.update(test_config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    hub = Hub(config, run_jobs=run_jobs, wait_for_database=True)
    app.extensions["hubbub"] = hub
    app.before_request(_database_ready)  # first: before anything that asks the database
    app.extensions["hubbub_published"] = public_api.PublishedCache(config.site_dir, config.output_dir)

    i18n.init_app(app)  # pages, messages and emails in the site's language
    init_limiter(app, hub)
    init_security(app, hub)
    errors.register(app)
    app.register_blueprint(public_api.bp)
    limit_view(app, "public_api.post_comment", comment_rate)
    app.register_blueprint(webmention_bp)
    limit_view(app, "webmention.receive", comment_rate)
    limit_view(app, "public_api.change_comment", comment_rate, methods=("PATCH", "DELETE"))
    init_moderation(app)
    hub.when_ready(schedule_scan)  # sending webmentions for posts the build changed
    static_site.init_app(app)  # last: it answers every other path from output/

    hub.start()
    atexit.register(hub.stop)
    return app


# Views the gate lets through (and the static site's blueprint): the first five never ask the
# database (published comments come from the thread files); health and post_comment call
# Hub.database_ready() themselves.
_NO_GATE = frozenset({"static", "moderate.static", "public_api.thread_comments", "public_api.openapi",
                      "public_api.unknown_api", "public_api.health", "public_api.post_comment"})


def _database_ready() -> None:
    """Started while the database was down: 503 until it is back (outage.py)."""
    from flask import request

    from .hub import current_hub

    if request.endpoint is not None and request.blueprint != "static_site" and request.endpoint not in _NO_GATE:
        current_hub().database_ready()
