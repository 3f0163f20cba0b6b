"""Moderator accounts: argon2 password hashes, web sessions, and bearer tokens for the API.

Sessions are Flask's signed cookie holding the moderator's id and a fingerprint of their
password hash, so a password reset or a disabled account ends every session at once.
API tokens are random; only their SHA-256 is stored, so a stolen database yields no token.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort, current_app, g, redirect, request, session, url_for
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import func, select, update

from ..hub import current_hub
from ..i18n import _
from ..models import utcnow
from .models import NOTIFY_MODES, ROLES, ApiToken, Moderator
from .scope import slugify, thread_author

_hasher = PasswordHasher()
# Verifying against this when the account does not exist keeps both answers equally slow.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

MIN_PASSWORD = 10
TOKEN_PREFIX = "hbb_"
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")


class AccountError(Exception):
    """An account operation that cannot be done; the message says why and what to do."""


# Passwords ----------------------------------------------------------------------------------
def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(_("The password is too short: use at least %(num)s characters.", num=MIN_PASSWORD))
    if len(password) > 1024:
        raise AccountError(_("The password is too long: use at most 1024 characters."))


def verify_password(moderator: Moderator | None, password: str) -> bool:
    """True if the password is right; upgrades an outdated hash in place (caller commits)."""
    stored = moderator.password_hash if moderator else _DUMMY_HASH
    try:
        _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False
    if moderator is None:
        return False
    if _hasher.check_needs_rehash(stored):
        moderator.password_hash = _hasher.hash(password)
    return True


# Accounts -------------------------------------------------------------------------------------
def normalise_email(email: str) -> str:
    email = (email or "").strip().lower()
    if not _EMAIL.match(email) or len(email) > 254 or not email.isprintable():
        raise AccountError(_("%(email)s is not an email address: use name@example.org.", email=repr(email)))
    return email


def find_moderator(session, email: str) -> Moderator | None:
    email = (email or "").strip().lower()
    if not email or len(email) > 254 or "\x00" in email:
        return None
    return session.scalar(select(Moderator).where(Moderator.email == email))


def create_moderator(session, email: str, password: str, role: str = "moderator", *,
                     author_slug: str | None = None, notify: str = "immediate") -> Moderator:
    email = normalise_email(email)
    if role not in ROLES:
        raise AccountError(_("Unknown role %(role)s: use one of %(roles)s.", role=repr(role), roles=", ".join(ROLES)))
    if notify not in NOTIFY_MODES:
        raise AccountError(_("Unknown notification mode %(mode)s: use one of %(modes)s.", mode=repr(notify),
                             modes=", ".join(NOTIFY_MODES)))
    check_password_strength(password)
    if find_moderator(session, email) is not None:
        raise AccountError(_("%(email)s is already a moderator: use `hubbub moderator reset` to set a new password.",
                             email=email))
    moderator = Moderator(email=email, password_hash=hash_password(password), role=role, disabled=False,
                          author_slug=(author_slug or "").strip() or None, notify=notify, created=utcnow())
    session.add(moderator)
    session.flush()
    return moderator


def author_slug_of(value: str | None) -> str | None:
    """The service's own slug of a name ("Gerry Cooper" -> "gerry-cooper"), or None: an author limit
    when no built site says what Pelican's is (checked_author_slug)."""
    return slugify(value) or None if value else None


def checked_author_slug(hub, value: str | None) -> str | None:
    """The slug (Pelican's, as the built site has it) of the writer a moderator is limited to, given
    as that slug or the writer's name; refused (AccountError) when no post of the built site is by
    that writer: a moderator limited to a mistyped slug would see an empty queue and get no emails."""
    if not value or not value.strip():
        return None
    value = value.strip()
    writers = {str(info.get("author") or "").casefold(): thread_author(info) for info in hub.threads.all().values()}
    known = sorted(set(writers.values()) - {""})
    if not known:
        return author_slug_of(value)  # nothing built yet to check against
    slug = value if value in known else writers.get(value.casefold()) or author_slug_of(value)
    if slug not in known:
        raise AccountError(_("No post of this site is by %(author)s: use one of %(known)s.", author=value,
                             known=", ".join(known)))
    return slug


def session_fingerprint(moderator: Moderator) -> str:
    """Changes when the password does: an old session cookie stops working after a reset."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, moderator.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


# Web sessions -------------------------------------------------------------------------------
def log_in(moderator: Moderator) -> None:
    session.clear()  # a fresh session: nothing carried over from before the login
    session.permanent = True
    session["mod"] = moderator.id
    session["fp"] = session_fingerprint(moderator)
    moderator.last_login = utcnow()


def log_out() -> None:
    session.clear()


# Known devices: a browser that logged in to an account keeps a signed cookie naming it, and its
# login attempts for that account are counted apart (moderation/__init__.py), so strangers
# guessing the password cannot lock the owner out (OWASP's "device cookies"). It is no key: the
# password is still needed, and the limit per address still applies.
DEVICE_COOKIE = "hubbub_device"
DEVICE_LIFETIME = dt.timedelta(days=180)


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="hubbub-known-device")


def remember_device(response, moderator: Moderator) -> None:
    device = known_device(moderator.email) or secrets.token_urlsafe(12)  # the same one, for 180 days more
    value = _devices().dumps({"e": moderator.email.lower(), "d": device})
    response.set_cookie(DEVICE_COOKIE, value, max_age=int(DEVICE_LIFETIME.total_seconds()),
                        path=url_for("moderate.queue"), secure=current_app.config["SESSION_COOKIE_SECURE"],
                        httponly=True, samesite="Strict")


def known_device(email: str) -> str | None:
    """This browser's device id when it logged in to the account of `email` before, else None."""
    try:
        claim = _devices().loads(request.cookies.get(DEVICE_COOKIE, ""), max_age=DEVICE_LIFETIME.total_seconds())
    except BadData:
        return None
    if isinstance(claim, dict) and claim.get("e") == email.strip().lower() and isinstance(claim.get("d"), str):
        return claim["d"]
    return None


def current_moderator() -> Moderator | None:
    """The logged-in, enabled moderator of this request (loaded once per request), or None."""
    if "moderator" in g:
        return g.moderator
    moderator = None
    mod_id = session.get("mod")
    if isinstance(mod_id, int):
        hub = current_hub()
        with hub.sessions() as s:
            found = s.get(Moderator, mod_id)
            if found is not None and not found.disabled and hmac.compare_digest(
                    session.get("fp", ""), session_fingerprint(found)):
                s.expunge(found)
                moderator = found
    g.moderator = moderator
    return moderator


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_moderator() is None:
            if request.method == "GET":
                return redirect(url_for("moderate.login", next=request.full_path.rstrip("?")))
            if wants_json():
                abort(401)
            return redirect(url_for("moderate.login"))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    @functools.wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_moderator().is_admin:
            abort(403)
        return view(*args, **kwargs)

    return wrapped


def wants_json() -> bool:
    """A request from the page's script (fetch) rather than a plain form."""
    return request.accept_mimetypes.best == "application/json" or request.headers.get("X-Requested-With") == "fetch"


def safe_next(target: str | None, default: str) -> str:
    """Only local paths under /moderate/ are followed after a login or an action."""
    if target and target.startswith("/moderate") and not target.startswith("//") and "\\" not in target:
        return target
    return default


# API tokens ---------------------------------------------------------------------------------
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session, moderator: Moderator, name: str = "") -> tuple[ApiToken, str]:
    """A new token for the moderator; the token itself is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(moderator_id=moderator.id, name=(name or "")[:100], token_hash=_token_hash(token),
                   prefix=token[:10], created=utcnow())
    session.add(row)
    session.flush()
    return row, token


def token_moderator(session, token: str) -> tuple[Moderator, ApiToken] | None:
    """The moderator a presented token belongs to, if the token is valid, unrevoked and theirs is enabled."""
    if not token or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or row.revoked is not None or row.moderator.disabled:
        return None
    return row.moderator, row


def note_token_use(hub, row: ApiToken) -> None:
    """Record when a token was last used: at most one write a minute per token, so that the
    API's reads stay reads."""
    now = utcnow()
    if row.last_used is None or (now - row.last_used).total_seconds() > 60:
        with hub.transaction() as s:
            s.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used=now))


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


def count_admins(session) -> int:
    return session.scalar(select(func.count(Moderator.id)).where(Moderator.role == "admin",
                                                                 Moderator.disabled.is_(False))) or 0
