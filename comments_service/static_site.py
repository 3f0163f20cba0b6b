"""Serve the built site (`output/`) at `/` beside the API, for `hubbub serve` and development.

In production a web server such as nginx serves `output/` directly (see deploy/). Pages, styles,
scripts and feeds go out compressed when the browser accepts it, as nginx sends them: a page with a
long comment thread is several times smaller.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, request, send_from_directory
from flask_compress import Compress
from werkzeug.security import safe_join

bp = Blueprint("static_site", __name__)


def init_app(app) -> None:
    """Serve output/ at `/`, compressing the site's files (and only them: API answers are small or
    carry their own ETags)."""
    app.config.setdefault("COMPRESS_REGISTER", False)
    compress = Compress(app)  # one per app: it keeps the app's settings

    @app.after_request
    def compressed(response):
        if request.blueprint != bp.name or response.mimetype not in app.config["COMPRESS_MIMETYPES"]:
            return response
        # Whole answers only: a 206's Content-Range counts the file's bytes (nginx does the same).
        if response.status_code != 200:
            response.vary.add("Accept-Encoding")
            return response
        if response.is_streamed:
            # Read the file now, so that closing the answer closes it: flask-compress replaces the body.
            response.direct_passthrough = False
            response.make_sequence()
        response = compress.after_request(response)
        if "Content-Encoding" in response.headers:
            response.headers.pop("Accept-Ranges", None)  # ranges would count the uncompressed file's bytes
        return response

    app.register_blueprint(bp)


def _output_dir() -> Path:
    return Path(current_app.config["HUBBUB_OUTPUT_DIR"])


@bp.route("/", defaults={"path": ""})
@bp.route("/<path:path>")
def page(path: str):
    root = _output_dir()
    target = safe_join(str(root), path)
    # Dot-directories (.hubbub/ holds the build's manifest) are the build's own, never the site.
    if target is None or any(part.startswith(".") for part in path.split("/")):
        abort(404)
    target_path = Path(target)
    try:
        is_dir = target_path.is_dir()
    except OSError:  # e.g. a name longer than the file system allows
        abort(404)
    if is_dir:
        if path and not path.endswith("/"):
            from flask import redirect

            return redirect("/" + path + "/", code=301)
        path = (path + "index.html") if path else "index.html"
    try:
        if not (root / path).is_file():
            abort(404)
    except OSError:
        abort(404)
    response = send_from_directory(root, path, max_age=0)
    return response


def not_found_page(error):
    """Answer 404 with the site's own 404 page when it has one."""
    root = _output_dir()
    if (root / "404.html").is_file():
        return send_from_directory(root, "404.html", max_age=0), 404
    return "Not found", 404
