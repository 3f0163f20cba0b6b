"""The moderation API (CONTRACT.md): list comments and act on them with a bearer token.

    GET  /api/moderation/comments?status=pending|published|rejected|spam&limit=N&offset=M[&q=TEXT]
         [&kind=comment|webmention]
    POST /api/moderation/comments/{id}/{approve|reject|spam|ham|delete|edit}

Every listed entry has a `kind`; a webmention also has `webmention`: its type, source, target and
how its verification went.

Tokens come from `hubbub token create EMAIL`. No CSRF here: a bearer token is not sent by a
browser on its own, so another site cannot make a moderator's browser use it.
"""

from __future__ import annotations

import functools

from flask import Blueprint, g, jsonify, request
from sqlalchemy import func, select

from ..errors import api_error
from ..hub import current_hub
from ..models import KINDS, MAX_ID, STATUSES, Comment, row_id
from ..webmention.review import mention_facts
from . import actions
from .auth import bearer_token, note_token_use, token_moderator
from .queries import forget_today, search_filter
from .scope import restrict

bp = Blueprint("moderation_api", __name__, url_prefix="/api/moderation")

MAX_LIMIT = 500
DEFAULT_LIMIT = 50



def token_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        token = bearer_token()
        with current_hub().sessions() as s:
            found = token_moderator(s, token) if token else None
            if found is not None:
                s.expunge_all()
                g.api_moderator, g.api_token = found[0], found[1].name
        if found is None:
            response = api_error(401, "A valid moderation token is required: send Authorization: Bearer TOKEN "
                                      "(create one with `hubbub token create EMAIL`).")
            response.headers["WWW-Authenticate"] = 'Bearer realm="hubbub-moderation"'
            return response
        note_token_use(current_hub(), found[1])
        return view(*args, **kwargs)

    return wrapped


def comment_json(c: Comment, facts: dict | None = None) -> dict:
    data = {
        "id": c.id, "thread": c.thread, "status": c.status, "author": c.author, "email": c.email, "url": c.url,
        "ip": c.remote_addr, "body": c.body, "akismet": c.akismet, "created": c.created.isoformat(),
        "parent": c.parent_id, "html": c.html, "guard_reasons": list(c.guard_reasons or []),
        "user_agent": c.user_agent, "referrer": c.referrer,
        "published_at": c.published_at.isoformat() if c.published_at else None, "kind": c.kind,
    }
    if c.is_webmention:
        data["webmention"] = (facts or {}).get(c.id)
    return data


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number between {low} and {high}") from None
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}")
    return value


@bp.get("/comments")
@token_required
def list_comments():
    status = request.args.get("status", "pending")
    if status not in STATUSES:
        return api_error(400, f"Unknown status {status!r}: use one of {', '.join(STATUSES)}.",
                         {"status": f"one of {', '.join(STATUSES)}"})
    try:
        limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _int_arg("offset", 0, 0, MAX_ID)
    except ValueError as exc:
        field = str(exc).split()[0]
        return api_error(400, f"{exc}.", {field: str(exc)})
    where = [Comment.status == status]
    kind = request.args.get("kind")
    if kind not in (None, "", *KINDS):
        return api_error(400, f"Unknown kind {kind!r}: use one of {', '.join(KINDS)}.", {"kind": f"one of {', '.join(KINDS)}"})
    if kind:
        where.append(Comment.kind == kind)
    q = (request.args.get("q") or "").strip()[:200]
    if "\x00" in q:
        return api_error(400, "The search text contains a NUL character.", {"q": "no NUL characters"})
    if q:
        where.append(search_filter(q))
    h = current_hub()
    with h.sessions() as s:
        total = s.scalar(restrict(select(func.count(Comment.id)).where(*where), h, g.api_moderator)) or 0
        rows = s.scalars(restrict(select(Comment).where(*where), h, g.api_moderator)
                         .order_by(Comment.created.desc(), Comment.id.desc()).limit(limit).offset(offset)).all()
        facts = mention_facts(s, rows)
        return jsonify({"total": total, "limit": limit, "offset": offset, "status": status,
                        "comments": [comment_json(c, facts) for c in rows]})


EDIT_FIELDS = {"author", "body", "url"}


@bp.post("/comments/<int:comment_id>/<action>")
@token_required
def act(comment_id: int, action: str):
    if action not in actions.ACTIONS:
        return api_error(404, f"Unknown action {action!r}: use one of {', '.join(actions.ACTIONS)}.")
    edit = None
    if action == "edit":
        edit = request.get_json(silent=True)
        if not isinstance(edit, dict):
            return api_error(400, 'Send the new text as JSON: {"body": "...", "author": "...", "url": "..."}.')
        unknown = sorted(set(edit) - EDIT_FIELDS)
        if unknown:  # a misspelt field would otherwise be a silent "changed: false"
            return api_error(400, "The edit has fields it does not take: send only author, body and url.",
                             dict.fromkeys(unknown, "unknown field: send only author, body and url"))
    h = current_hub()
    try:
        with h.transaction() as s:
            comment = s.get(Comment, comment_id) if row_id(comment_id) else None
            if comment is None:
                return api_error(404, f"No comment {comment_id}.")
            outcome = actions.apply(h, s, comment, action, g.api_moderator, edit=edit,
                                    via=f"api:{g.api_token}" if g.api_token else "api")
    except actions.ActionError as exc:
        return api_error(exc.status, str(exc), exc.fields)
    forget_today(h)
    return jsonify({"id": outcome.id, "status": outcome.status, "changed": outcome.changed})
