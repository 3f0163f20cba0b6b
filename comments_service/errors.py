"""Error answers: JSON with a message that says what to do under /api/, pages elsewhere."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from .i18n import N_, _

MESSAGES = {
    400: N_("Bad request: check the request body and fields."),
    401: N_("Authentication required: send Authorization: Bearer TOKEN (see `hubbub token create`)."),
    403: N_("Not allowed."),
    404: N_("Not found: check the address."),
    405: N_("Method not allowed for this address."),
    413: N_("Request too large: send at most HUBBUB_MAX_BODY_BYTES (64 KiB by default); a comment may have "
            "at most 10,000 characters."),
    415: N_("Unsupported content type: send application/json or an HTML form."),
    429: N_("Too many comments from your address: wait a minute and try again."),
    500: N_("Internal error: the problem is logged; try again later."),
}


def api_error(status: int, message: str | None = None, fields: dict | None = None, **extra):
    body = {"error": message or _(MESSAGES.get(status, N_("Error"))), "fields": fields or {}}
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    return response


def wants_json() -> bool:
    return request.path.startswith("/api/")


def register(app) -> None:
    from .static_site import not_found_page

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if wants_json():
            # Our own 400s carry a precise description; other codes get the standard advice.
            response = api_error(exc.code or 500, exc.description if exc.code == 400 else None)
            if exc.code == 429:
                response.headers["Retry-After"] = "60"
            return response
        if exc.code == 404:
            return not_found_page(exc)
        return exc

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        if wants_json():
            return api_error(500)
        return _(MESSAGES[500]), 500
