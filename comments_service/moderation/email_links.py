"""Moderating from an email: one-click links to approve, mark as spam or trash a waiting comment.

Each moderation email (immediate and digest) carries, per comment, links to
/moderate/email/<token>. A link is signed with the secret key, names the moderator it was sent
to, expires after LINK_LIFETIME, and works once: the links of one comment in one email share a
nonce, so the first one used settles it. The links stop working when the moderator's password
changes or their account is disabled, and act only within what the moderator may moderate now
(roles and author scope, checked when the link is used).

The pages the links open are in email_actions.py.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..i18n import N_
from ..models import Comment
from .models import Moderator

LINK_LIFETIME = dt.timedelta(days=7)
# What each link does, and the word the email and the pages use (WordPress's "Trash" is a reject:
# the comment stays in the Rejected tab and can be approved later).
LINK_ACTIONS = {"approve": N_("Approve"), "spam": N_("Spam"), "reject": N_("Trash")}
TARGET = {"approve": "published", "spam": "spam", "reject": "rejected"}


class LinkProblem(Exception):
    """A link that cannot act; `state` names the page to show, `status` the HTTP status."""

    def __init__(self, state: str, status: int, **facts):
        super().__init__(state)
        self.state, self.status, self.facts = state, status, facts


@dataclass
class Link:
    moderator_id: int
    comment_id: int
    action: str
    nonce: str
    fingerprint: str


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="hubbub-email-moderation")


def fingerprint(secret: str, moderator: Moderator) -> str:
    """Changes with the moderator's password: a reset ends every link sent before it."""
    return hmac.new(secret.encode(), b"email-link:" + moderator.password_hash.encode(), hashlib.sha256).hexdigest()[:16]


def links_for(hub, base_url: str, moderator: Moderator, comment: Comment) -> dict[str, str]:
    """The signed links of one comment for one moderator's email: {action: url}."""
    nonce = secrets.token_urlsafe(12)
    fp = fingerprint(hub.config.secret_key, moderator)
    dump = _serializer(hub.config.secret_key).dumps
    return {action: f"{base_url}/moderate/email/{dump({'m': moderator.id, 'c': comment.id, 'a': action, 'n': nonce, 'f': fp})}"
            for action in LINK_ACTIONS}


def read_link(secret: str, token: str) -> Link:
    """The link a token stands for; raises LinkProblem("expired" or "invalid")."""
    if len(token) > 600:
        raise LinkProblem("invalid", 404)
    try:
        data = _serializer(secret).loads(token, max_age=int(LINK_LIFETIME.total_seconds()))
    except SignatureExpired:
        raise LinkProblem("expired", 410) from None
    except BadSignature:
        raise LinkProblem("invalid", 404) from None
    shape = {"m": int, "c": int, "a": str, "n": str, "f": str}
    if not isinstance(data, dict) or any(not isinstance(data.get(k), t) for k, t in shape.items()) \
            or data["a"] not in LINK_ACTIONS:
        raise LinkProblem("invalid", 404)
    return Link(data["m"], data["c"], data["a"], data["n"], data["f"])
