"""The Webmention endpoint (W3C Webmention, receiver side) and the status of what it received.

    POST /api/webmention   form fields source and target: only the cheap checks happen here (both
                           http(s), different, target an article of this site); the request is
                           stored with its verification job, and the answer is 202 with a
                           Location to poll. Rate-limited like comments.
    GET  /api/webmention/<token>   queued / verified / rejected / removed, and why

Every article page advertises the endpoint (hubbub/templates/hubbub/webmention_link.html).
"""

from __future__ import annotations

import re
import secrets

from flask import Blueprint, jsonify, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hubbub.core.weburl import is_web_address

from ..client import current_client_address
from ..errors import api_error
from ..hub import current_hub
from ..models import Comment, utcnow
from ..moderation.notify import service_url
from ..public_api import FORM_TYPES, form_is_utf8
from .models import MAX_URL, QUEUED, VERIFIED, Webmention, mention_key, pair_key
from .targets import url_key
from .verify import request_verify

bp = Blueprint("webmention", __name__)

_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,32}$")


def _checked_url(name: str, value, errors: dict) -> str:
    if not isinstance(value, str) or not value.strip():
        errors[name] = f"{name} is missing: send the form fields source and target"
        return ""
    value = value.strip()
    if len(value) > MAX_URL:
        errors[name] = f"{name} is longer than {MAX_URL} characters"
    elif "\x00" in value or not is_web_address(value):
        errors[name] = f"{name} must be an http:// or https:// address"
    elif "@" in value.split("//", 1)[1].split("/", 1)[0]:
        errors[name] = f"{name} must not hold a user name or password"
    return value


def _parse() -> tuple[str, str, str | None, dict]:
    """(source, target, thread, errors) of the posted form."""
    errors: dict[str, str] = {}
    source = _checked_url("source", request.form.get("source"), errors)
    target = _checked_url("target", request.form.get("target"), errors)
    thread = None
    if not errors:
        if url_key(source) == url_key(target) and source.split("#")[0] == target.split("#")[0]:
            errors["source"] = "source and target are the same address: the source is the page that links the target"
        thread = current_hub().articles.thread_for(target)
        if thread is None:
            errors["target"] = (f"{target[:200]} is not an article of this site: webmentions are accepted for "
                                f"the posts under {current_hub().site_url()}/")
        elif current_hub().threads.closed(thread):
            errors["target"] = f"{target[:200]} takes no more comments or mentions: its conversation is closed"
    return source, target, thread, errors


def _store(hub, source: str, target: str, thread: str) -> Webmention:
    """Record the request (a new one, or the same pair sent again) and ask for its verification."""
    key = mention_key(source, thread)
    with hub.transaction() as s:
        wm = s.scalar(select(Webmention).where(Webmention.key.in_((key, pair_key(source, target))))
                      .order_by(Webmention.id).limit(1))
        if wm is None:
            wm = Webmention(key=key, token=secrets.token_urlsafe(16), source=source, target=target, thread=thread,
                            created=utcnow())
            try:
                with s.begin_nested():  # another request with the same pair may be inserting it now
                    s.add(wm)
                    s.flush()
            except IntegrityError:
                wm = s.scalar(select(Webmention).where(Webmention.key == key))
        wm.target = target  # as sent last: the address the source is checked for
        wm.thread, wm.status, wm.reason, wm.attempts, wm.received = thread, QUEUED, "", 0, utcnow()
        wm.remote_addr = current_client_address() or None
        wm.user_agent = request.headers.get("User-Agent", "")[:500]
        request_verify(s, wm)
    return wm


@bp.post("/api/webmention")
def receive():
    if request.mimetype not in FORM_TYPES:
        return api_error(415, f"Unsupported content type {request.mimetype or '(none)'!r}: send the webmention as "
                              "a form (application/x-www-form-urlencoded) with source and target.")
    if request.mimetype == "application/x-www-form-urlencoded" and not form_is_utf8(request.get_data(cache=True)):
        return api_error(400, "The form is not valid UTF-8.")
    source, target, thread, errors = _parse()
    if errors:
        return api_error(400, next(iter(errors.values())) + ".", errors)
    wm = _store(current_hub(), source, target, thread)
    # The service's public address (as in emails), not this request's: behind a proxy it differs.
    location = service_url(current_hub()) + url_for("webmention.status", token=wm.token)
    response = jsonify({"status": QUEUED, "location": location,
                        "message": "Accepted: the source will be fetched and checked, then moderated."})
    response.status_code = 202
    response.headers["Location"] = location
    return response


@bp.get("/api/webmention/<token>")
def status(token: str):
    if not _TOKEN.match(token):
        return api_error(404, "No such webmention: use the Location the endpoint answered with.")
    with current_hub().sessions() as s:
        wm = s.scalar(select(Webmention).where(Webmention.token == token))
        if wm is None:
            return api_error(404, "No such webmention: use the Location the endpoint answered with.")
        comment = s.get(Comment, wm.comment_id) if wm.comment_id else None
        reason = wm.reason
        if wm.status == VERIFIED and comment is not None:  # moderation moves on after verification
            reason += "; published" if comment.status == "published" else "; waiting for moderation"
        answer = {
            "status": wm.status, "source": wm.source, "target": wm.target, "reason": reason,
            "received": wm.received.isoformat(), "checked": wm.checked.isoformat() if wm.checked else None,
            # Spam is not told apart from waiting, as for comments: a spammer learns nothing.
            "published": comment is not None and comment.status == "published",
        }
        if wm.status == VERIFIED and comment is not None:
            answer["type"] = (comment.mention or {}).get("type", "mention")
    response = jsonify(answer)
    response.headers["Cache-Control"] = "no-store"
    return response
