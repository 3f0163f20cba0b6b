"""The one-click unsubscribe endpoint of commenter emails (RFC 8058).

GET shows a page with one button (link scanners follow GETs, so a GET changes nothing);
POST unsubscribes, whether from that button or from a mail client's List-Unsubscribe-Post.
The signed token is the authority, so there is no login and no CSRF token here.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..hub import current_hub
from .notify import read_unsubscribe_token, unsubscribe

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _comment_id(token: str) -> int | None:
    return read_unsubscribe_token(current_app.config["SECRET_KEY"], token) if len(token) < 500 else None


@bp.get("/unsubscribe/<token>")
def confirm(token: str):
    if _comment_id(token) is None:
        return render_template("moderate/unsubscribe.html", state="invalid"), 404
    return render_template("moderate/unsubscribe.html", state="confirm", token=token)


@bp.post("/unsubscribe/<token>")
def unsubscribe_now(token: str):
    comment_id = _comment_id(token)
    if comment_id is None:
        return render_template("moderate/unsubscribe.html", state="invalid"), 404
    hub = current_hub()
    with hub.transaction() as s:
        unsubscribe(s, comment_id)
    return render_template("moderate/unsubscribe.html", state="done")
