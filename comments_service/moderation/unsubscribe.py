"""The one-click endpoints of emails to readers (RFC 8058 for unsubscribing).

- /notifications/unsubscribe/<token>: a link of the emails about one's own comments stops all of
  them for that address; a link of a thread subscription's emails ends that subscription.
- /notifications/confirm/<token>: confirms a thread subscription (double opt-in).

GET shows a page with one button (link scanners follow GETs, so a GET changes nothing); POST
acts, whether from that button or from a mail client's List-Unsubscribe-Post. The signed token is
the authority, so there is no login and no CSRF token here.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..hub import current_hub
from . import subscriptions
from .notify import article_title, read_unsubscribe_claim, unsubscribe

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _claim(token: str) -> dict | None:
    return read_unsubscribe_claim(current_app.config["SECRET_KEY"], token) if len(token) < 500 else None


def _page(state: str, status: int = 200, **context):
    threads = current_hub().threads
    site = (threads.site().get("sitename") if threads.available else "") or "Hubbub"  # the reader knows the site's name
    return render_template("moderate/unsubscribe.html", state=state, site=site, **context), status


def _comment_id(claim: dict | None) -> int | None:
    return claim.get("c") if claim and isinstance(claim.get("c"), int) else None


@bp.get("/unsubscribe/<token>")
def confirm(token: str):
    claim = _claim(token)
    if _comment_id(claim) is not None:
        return _page("confirm", token=token)
    hub = current_hub()
    with hub.sessions() as s:
        sub = subscriptions.find(hub, s, claim)
        if sub is None:
            # Already gone (unsubscribed, erased) reads the same as a link that never worked.
            return _page("thread-gone" if claim and "s" in claim else "invalid", 404)
        return _page("thread-confirm", token=token, title=article_title(hub, sub.thread))


@bp.post("/unsubscribe/<token>")
def unsubscribe_now(token: str):
    claim = _claim(token)
    hub = current_hub()
    comment_id = _comment_id(claim)
    if comment_id is not None:
        with hub.transaction() as s:
            unsubscribe(s, comment_id)
        return _page("done")
    with hub.transaction() as s:
        sub = subscriptions.find(hub, s, claim)
        if sub is None:
            return _page("thread-gone" if claim and "s" in claim else "invalid", 404)
        title = article_title(hub, sub.thread)
        subscriptions.unsubscribe(s, sub)
    return _page("thread-done", title=title)


@bp.get("/confirm/<token>")
def confirm_subscription(token: str):
    hub = current_hub()
    state, claim = subscriptions.read_confirm_token(hub, token)
    if state != "ok":
        return _page(f"subscribe-{state}", 410 if state == "expired" else 404)
    with hub.sessions() as s:
        sub = subscriptions.find(hub, s, claim)
        if sub is None:
            return _page("subscribe-invalid", 404)
        title = article_title(hub, sub.thread)
        if sub.confirmed_at is not None:
            return _page("subscribe-done", title=title)
    return _page("subscribe-confirm", token=token, title=title)


@bp.post("/confirm/<token>")
def confirm_subscription_now(token: str):
    hub = current_hub()
    state, claim = subscriptions.read_confirm_token(hub, token)
    if state != "ok":
        return _page(f"subscribe-{state}", 410 if state == "expired" else 404)
    with hub.transaction() as s:
        sub = subscriptions.find(hub, s, claim)
        if sub is None:
            return _page("subscribe-invalid", 404)
        subscriptions.confirm(s, sub)
        title = article_title(hub, sub.thread)
    return _page("subscribe-done", title=title)
