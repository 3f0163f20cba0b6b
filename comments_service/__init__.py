"""Hubbub's comment service: a Flask application factory."""

from __future__ import annotations

from flask import Flask


def create_app(test_config: dict | None = None) -> Flask:
    from .site_build import site_dir
    from . import static_site

    app = Flask(__name__, instance_relative_config=False)
    root = site_dir()
    app.config.update(HUBBUB_SITE_DIR=str(root), HUBBUB_OUTPUT_DIR=str(root / "output"))
    if test_config:
        app.config.update(test_config)
    app.register_blueprint(static_site.bp)
    app.register_error_handler(404, static_site.not_found_page)
    return app
