"""The pages that the links of moderation emails open (email_links.py makes the links).

A GET only shows the comment and a button (mail scanners follow links; they must change
nothing); the POST from that page acts, through moderation.actions like any other decision, and
the audit log says "via email". No login and no CSRF token: the signed link is the authority.
A used, expired or revoked link says so and points to the queue.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, render_template, url_for
from sqlalchemy.exc import IntegrityError

from ..hub import current_hub
from ..i18n import N_
from ..models import Comment, row_id
from . import actions
from .email_links import LINK_ACTIONS, TARGET, Link, LinkProblem, fingerprint, read_link
from .models import EmailLinkUse, Moderator
from .notify import article_title
from .queries import forget_today
from .scope import may_moderate

# The page translates these (_).
DONE_WORDS = {"approve": N_("approved and published"), "spam": N_("marked as spam"),
              "reject": N_("moved to the trash (rejected)")}

bp = Blueprint("email_actions", __name__, url_prefix="/moderate/email")


def _resolve(hub, session, link: Link) -> tuple[Moderator, Comment]:
    """The moderator and comment of a valid, unused link that they may still act on."""
    moderator = session.get(Moderator, link.moderator_id)
    if moderator is None or moderator.disabled or not hmac.compare_digest(
            link.fingerprint, fingerprint(hub.config.secret_key, moderator)):
        raise LinkProblem("revoked", 403)
    used = session.get(EmailLinkUse, link.nonce)
    if used is not None:
        raise LinkProblem("used", 410, used={"action": used.action, "moderator": used.moderator,
                                              "used_at": used.used_at})
    comment = session.get(Comment, link.comment_id) if row_id(link.comment_id) else None
    if comment is None:
        raise LinkProblem("gone", 404)
    if not may_moderate(hub, moderator, comment):
        raise LinkProblem("scope", 403)
    return moderator, comment


def _page(state: str, status: int = 200, **context):
    return render_template("moderate/email_action.html", state=state, words=LINK_ACTIONS, done=DONE_WORDS,
                           queue=url_for("moderate.queue"), **context), status


def _problem(exc: LinkProblem, comment_id: int | None = None):
    return _page(exc.state, exc.status, comment_id=comment_id, **exc.facts)


@bp.get("/<token>")
def confirm(token: str):
    hub = current_hub()
    try:
        link = read_link(hub.config.secret_key, token)
    except LinkProblem as exc:
        return _problem(exc)
    with hub.sessions() as s:
        try:
            moderator, comment = _resolve(hub, s, link)
        except LinkProblem as exc:
            return _problem(exc, link.comment_id)
        already = comment.status == TARGET[link.action]
        return _page("already" if already else "confirm", comment=comment, action=link.action, token=token,
                     moderator=moderator.email, title=article_title(hub, comment.thread),
                     article=hub.article_url(comment.thread, absolute=True))


@bp.post("/<token>")
def act(token: str):
    hub = current_hub()
    try:
        link = read_link(hub.config.secret_key, token)
    except LinkProblem as exc:
        return _problem(exc)
    try:
        with hub.transaction() as s:
            moderator, comment = _resolve(hub, s, link)
            outcome = actions.apply(hub, s, comment, link.action, moderator, via="email")
            s.add(EmailLinkUse(nonce=link.nonce, comment_id=comment.id, moderator=moderator.email, action=link.action))
            s.flush()  # the nonce's primary key refuses a second use that raced this one
            title = article_title(hub, comment.thread)
    except LinkProblem as exc:
        return _problem(exc, link.comment_id)
    except IntegrityError:
        return _problem(LinkProblem("used", 410), link.comment_id)
    except actions.ActionError:
        return _problem(LinkProblem("scope", 403), link.comment_id)
    forget_today(hub)  # the queue's cached day counts include this decision
    return _page("done", comment_id=outcome.id, action=link.action, changed=outcome.changed, title=title,
                 status_now=outcome.status)
