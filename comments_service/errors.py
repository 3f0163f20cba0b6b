"""Error answers: JSON with a message that says what to do under /api/, pages elsewhere."""

from __future__ import annotations

from flask import g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from .i18n import N_, _
from .outage import MESSAGE, RETRY_AFTER, LastOutage, database_outage, describe

MESSAGES = {
    400: N_("Bad request: check the request body and fields."),
    401: N_("Authentication required: send Authorization: Bearer TOKEN (see `hubbub token create`)."),
    403: N_("Not allowed."),
    404: N_("Not found: check the address."),
    405: N_("Method not allowed for this address."),
    413: N_("Request too large: send at most HUBBUB_MAX_BODY_BYTES (256 KiB by default); a comment may have "
            "at most 10,000 characters."),
    415: N_("Unsupported content type: send application/json or an HTML form."),
    500: N_("Internal error: the problem is logged; try again later."),
}


def api_error(status: int, message: str | None = None, fields: dict | None = None, **extra):
    body = {"error": message or _(MESSAGES.get(status, N_("Error"))), "fields": fields or {}}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


def too_many_json():
    """429 for the API: how long to wait, in the message and in Retry-After (seconds)."""
    from .ratelimit import retry_after, wait_text

    wait = retry_after()
    response = api_error(429, _("Too many comments from your address: wait %(wait)s and try again.",
                                wait=wait_text(wait)))
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
        return _(MESSAGES[500]), 500


def database_unavailable():
    """503 with Retry-After: JSON under /api/, a page in the moderation UI, plain text elsewhere."""
    from .moderation.auth import wants_json as moderation_wants_json

    if wants_json() or (request.path.startswith("/moderate/") and moderation_wants_json()):
        response = api_error(503, _(MESSAGE, seconds=RETRY_AFTER))
    elif request.path.startswith("/moderate/"):
        g.moderator = None  # the page's header would ask the database who is logged in
        try:
            response = make_response(render_template(
                "moderate/message.html", title=_("The database is unavailable"),
                text=_("The comment database cannot be reached right now, so nothing was changed. "
                       "Wait %(seconds)s seconds, then reload the page.", seconds=RETRY_AFTER)), 503)
        except Exception:  # the page needs more than we have: the words alone still help
            response = make_response(_(MESSAGE, seconds=RETRY_AFTER), 503)
    else:
        response = make_response(_(MESSAGE, seconds=RETRY_AFTER), 503)
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response
