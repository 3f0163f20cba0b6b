"""Error answers: JSON with a message that says what to do under /api/, pages elsewhere."""

from __future__ import annotations

from flask import g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from .outage import MESSAGE, RETRY_AFTER, LastOutage, database_outage, describe

MESSAGES = {
    400: "Bad request: check the request body and fields.",
    401: "Authentication required: send Authorization: Bearer TOKEN (see `hubbub token create`).",
    403: "Not allowed.",
    404: "Not found: check the address.",
    405: "Method not allowed for this address.",
    413: "Request too large: send at most HUBBUB_MAX_BODY_BYTES (64 KiB by default); a comment may have "
         "at most 10,000 characters.",
    415: "Unsupported content type: send application/json or an HTML form.",
    500: "Internal error: the problem is logged; try again later.",
}


def api_error(status: int, message: str | None = None, fields: dict | None = None, **extra):
    body = {"error": message or MESSAGES.get(status, "Error"), "fields": fields or {}}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


def too_many_json():
    """429 for the API: how long to wait, in the message and in Retry-After (seconds)."""
    from .ratelimit import retry_after, wait_text

    wait = retry_after()
    response = api_error(429, f"Too many comments from your address: wait {wait_text(wait)} and try again.")
    response.headers["Retry-After"] = str(wait)
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/")


def register(app) -> None:
    from .static_site import not_found_page

    app.extensions["hubbub_outage"] = LastOutage()

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            if exc.code == 429:
                return too_many_json()
            # Our own 400s carry a precise description; other codes get the standard advice.
            return api_error(exc.code or 500, exc.description if exc.code == 400 else None)
        if exc.code == 404:
            return not_found_page(exc)
        return exc

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if database_outage(exc):
            app.logger.warning("database unavailable on %s %s: %s", request.method, request.path, describe(exc))
            app.extensions["hubbub_outage"].note(exc)
            return database_unavailable()
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return api_error(500)
        return "Internal error: the problem is logged; try again later.", 500


def database_unavailable():
    """503 with Retry-After: JSON under /api/, a page in the moderation UI, plain text elsewhere."""
    from .moderation.auth import wants_json as moderation_wants_json

    if wants_json() or (request.path.startswith("/moderate/") and moderation_wants_json()):
        response = api_error(503, MESSAGE)
    elif request.path.startswith("/moderate/"):
        g.moderator = None  # the page's header would ask the database who is logged in
        try:
            response = make_response(render_template(
                "moderate/message.html", title="The database is unavailable",
                text="The comment database cannot be reached right now, so nothing was changed. "
                     f"Wait {RETRY_AFTER} seconds, then reload the page."), 503)
        except Exception:  # the page needs more than we have: the words alone still help
            response = make_response(MESSAGE, 503)
    else:
        response = make_response(MESSAGE, 503)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response
