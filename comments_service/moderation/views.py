"""The moderation web UI under /moderate/: log in, clear the queue, see what happened.

Every page works as plain HTML forms with redirects; moderate.js makes the same forms act
without a reload (it sends them with fetch and asks for JSON). Every POST needs the CSRF token.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from .. import service_state as state
from ..hub import current_hub
from ..i18n import N_, _, ngettext
from ..models import KINDS, Comment, row_id, utcnow
from ..public_api import akismet_health
from ..ratelimit import retry_after, wait_text
from ..webmention.review import mention_facts
from . import actions, auth, queries
from .auth import current_moderator, login_required, safe_next, wants_json
from .models import NOTIFY_MODES, ROLES, AuditEntry, Moderator
from .notify import article_title
from .scope import may_moderate

bp = Blueprint("moderate", __name__, url_prefix="/moderate", static_folder="../static",
               static_url_path="/static")

TABS = ("pending", "published", "rejected", "spam")
ACTION_DONE = {"approve": N_("Comment %(id)s approved."), "reject": N_("Comment %(id)s rejected."),
               "spam": N_("Comment %(id)s marked as spam."), "ham": N_("Comment %(id)s marked as not spam."),
               "delete": N_("Comment %(id)s deleted."), "edit": N_("Comment %(id)s edited.")}
# Words the templates translate with _(): the queues, statuses and roles.
WORDS = (N_("Pending"), N_("Published"), N_("Rejected"), N_("Spam"), N_("All"), N_("pending"), N_("published"),
         N_("rejected"), N_("spam"), N_("admin"), N_("moderator"))


def _bulk_done(action: str, n: int) -> str:
    return {
        "approve": lambda: ngettext("%(num)d comment approved.", "%(num)d comments approved.", n),
        "reject": lambda: ngettext("%(num)d comment rejected.", "%(num)d comments rejected.", n),
        "spam": lambda: ngettext("%(num)d comment marked as spam.", "%(num)d comments marked as spam.", n),
        "ham": lambda: ngettext("%(num)d comment marked as not spam.", "%(num)d comments marked as not spam.", n),
        "delete": lambda: ngettext("%(num)d comment deleted.", "%(num)d comments deleted.", n),
        "edit": lambda: ngettext("%(num)d comment edited.", "%(num)d comments edited.", n),
    }[action]()



@bp.app_template_filter("ago")
def ago(when: dt.datetime | None) -> str:
    if when is None:
        return ""
    seconds = (utcnow() - when).total_seconds()
    for size, words in ((86400 * 365, N_("%(num)d y ago")), (86400, N_("%(num)d d ago")), (3600, N_("%(num)d h ago")),
                        (60, N_("%(num)d min ago"))):
        if seconds >= size:
            return _(words, num=int(seconds // size))
    return _("just now")


@bp.context_processor
def template_globals():
    return {"me": current_moderator(), "moderate_root": url_for("moderate.queue"),
            "article_url": lambda slug: current_hub().article_url(slug, absolute=True),
            "thread_title": lambda slug: article_title(current_hub(), slug)}


def banner(session) -> dict | None:
    """What the Akismet banner says, or None when Akismet is working."""
    health = akismet_health(current_hub(), state.get(session, "akismet"))
    kind = health["state"]
    if kind == "off":
        return {"kind": "off", "title": _("Akismet is off"),
                "text": _("No PYTHON_AKISMET_API_KEY is set: every comment waits here for a moderator.")}
    if kind == "failing":
        return {"kind": "failing", "title": _("Akismet is not answering"),
                "text": _("New comments stay pending and are checked again automatically; moderator emails "
                          "wait until Akismet is back."), "error": health.get("last_error"),
                "since": health.get("last_error_at")}
    if kind == "invalid_key":
        return {"kind": "invalid_key", "title": _("Akismet rejects the key"), "text": health.get("message", ""),
                "error": health.get("last_error")}
    return None


# Logging in and out ------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"), url_for("moderate.queue"))
    if request.method == "GET":
        if current_moderator() is not None:
            return redirect(next_url)
        return render_template("moderate/login.html", next=next_url, email="")
    email = (request.form.get("email") or "").strip()
    password = request.form.get("password") or ""
    with current_hub().transaction() as s:
        moderator = auth.find_moderator(s, email)
        ok = auth.verify_password(moderator, password)
        if ok and moderator.disabled:
            error = _("This account is disabled: ask an administrator to enable it.")
        elif ok:
            auth.log_in(moderator)
            response = redirect(next_url, code=303)
            auth.remember_device(response, moderator)
            return response
        else:
            error = _("Wrong email or password.")
    return render_template("moderate/login.html", next=next_url, email=email, error=error), 401


@bp.post("/logout")
def logout():
    auth.log_out()
    flash(_("You are logged out."))
    return redirect(url_for("moderate.login"), code=303)


# The queue -----------------------------------------------------------------------------------
def _listing_context(session, page: queries.Page) -> dict:
    """What the comment cards show besides the comments: history, audit log, parents."""
    comments = page.comments
    return {
        "page": page,
        "history": queries.history(session, comments),
        "audit": queries.audit_for(session, [c.id for c in comments]),
        "parents": queries.parents(session, comments),
        "mentions": mention_facts(session, comments),
    }


@bp.get("/")
@login_required
def queue():
    me = current_moderator()
    status = request.args.get("status", "pending")
    if status not in TABS and status != "all":
        status = "pending"
    q = (request.args.get("q") or "").strip()[:200]
    field = request.args.get("field", "all")
    kind = request.args.get("kind") if request.args.get("kind") in KINDS else ""
    with current_hub().sessions() as s:
        page = queries.queue_page(current_hub(), s, me, None if status == "all" else status, q=q, field=field,
                                  before=request.args.get("before"), after=request.args.get("after"), kind=kind)
        context = _listing_context(s, page)
        counts = queries.status_counts(current_hub(), s, me)
        stats = queries.dashboard(current_hub(), s, me)
        akismet_banner = banner(s)
    return render_template("moderate/queue.html", status=status, q=q, field=field, counts=counts,
                           stats=stats, series=queries.SERIES, banner=akismet_banner, tabs=TABS, kind=kind,
                           fields=queries.SEARCH_FIELDS, here=request.full_path.rstrip("?"), **context)


def _load(session, comment_id: int) -> Comment:
    comment = session.get(Comment, comment_id) if row_id(comment_id) else None
    if comment is None or not may_moderate(current_hub(), current_moderator(), comment):
        abort(404)
    return comment


@bp.get("/comments/<int:comment_id>")
@login_required
def comment_page(comment_id: int):
    with current_hub().sessions() as s:
        comment = _load(s, comment_id)
        page = queries.Page([comment], total=1)
        context = _listing_context(s, page)
        akismet_banner = banner(s)
    return render_template("moderate/comment.html", comment=comment, banner=akismet_banner,
                           here=request.path, **context)


def _answer(outcomes, message: str, next_url: str):
    queries.forget_today(current_hub())
    if wants_json():
        with current_hub().sessions() as s:
            counts = queries.status_counts(current_hub(), s, current_moderator())
        return jsonify({"results": [{"id": o.id, "status": o.status, "changed": o.changed} for o in outcomes],
                        "counts": counts, "message": message})
    flash(message)
    return redirect(next_url, code=303)


def _action_error(exc: actions.ActionError, next_url: str):
    if wants_json():
        return jsonify({"error": str(exc), "fields": exc.fields}), exc.status
    if exc.status == 404:
        abort(404)
    flash(str(exc), "error")
    return redirect(next_url, code=303)


@bp.post("/comments/<int:comment_id>/<action>")
@login_required
def act(comment_id: int, action: str):
    if action not in actions.ACTIONS or action == "edit":
        abort(404)
    next_url = safe_next(request.form.get("next"), url_for("moderate.queue"))
    try:
        with current_hub().transaction() as s:
            outcome = actions.apply(current_hub(), s, _load(s, comment_id), action, current_moderator())
    except actions.ActionError as exc:
        return _action_error(exc, next_url)
    if action == "delete" and next_url.startswith(url_for("moderate.comment_page", comment_id=comment_id)):
        next_url = url_for("moderate.queue")
    if outcome.changed:
        done = _(ACTION_DONE[action], id=comment_id)
    else:
        done = _("Comment %(id)s already %(status)s.", id=comment_id, status=_(outcome.status))
    return _answer([outcome], done, next_url)


@bp.post("/bulk")
@login_required
def bulk():
    action = request.form.get("action", "")
    next_url = safe_next(request.form.get("next"), url_for("moderate.queue"))
    try:
        ids = [int(i) for i in request.form.getlist("ids")]
    except ValueError:
        abort(400)
    if not ids:
        return _action_error(actions.ActionError(400, _("Select some comments first.")), next_url)
    try:
        with current_hub().transaction() as s:
            outcomes = actions.apply_many(current_hub(), s, ids, action, current_moderator())
    except actions.ActionError as exc:
        return _action_error(exc, next_url)
    changed = sum(o.changed for o in outcomes)
    return _answer(outcomes, _bulk_done(action, changed), next_url)


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit(comment_id: int):
    next_url = safe_next(request.values.get("next"), url_for("moderate.comment_page", comment_id=comment_id))
    errors: dict = {}
    if request.method == "POST":
        values = {name: request.form.get(name) for name in ("body", "author", "url")}
        try:
            with current_hub().transaction() as s:
                outcome = actions.apply(current_hub(), s, _load(s, comment_id), "edit", current_moderator(), edit=values)
            flash(_(ACTION_DONE["edit"], id=comment_id) if outcome.changed else _("Nothing changed."))
            return redirect(next_url, code=303)
        except actions.ActionError as exc:
            if exc.status == 404:
                abort(404)
            errors = exc.fields
    with current_hub().sessions() as s:
        comment = _load(s, comment_id)
    form = {name: request.form.get(name, getattr(comment, name)) for name in ("body", "author", "url")}
    return render_template("moderate/edit.html", comment=comment, form=form, errors=errors, next=next_url), \
        (400 if errors else 200)


# The audit log, the account, the team ---------------------------------------------------------------
@bp.get("/audit")
@login_required
def audit():
    me = current_moderator()
    before = row_id(request.args.get("before"))
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(101)
    if before:
        query = query.where(AuditEntry.id < before)
    if not me.is_admin:
        query = query.where(AuditEntry.moderator == me.email)
    with current_hub().sessions() as s:
        entries = list(s.scalars(query))
    older = entries[99].id if len(entries) > 100 else None
    return render_template("moderate/audit.html", entries=entries[:100], older=older)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    me = current_moderator()
    errors: dict = {}
    if request.method == "POST":
        with current_hub().transaction() as s:
            row = s.get(Moderator, me.id)
            if request.form.get("form") == "notify":
                mode = request.form.get("notify")
                if mode not in NOTIFY_MODES:
                    errors["notify"] = _("Choose one of %(modes)s.", modes=", ".join(NOTIFY_MODES))
                else:
                    row.notify = mode
                    flash(_("Emails: %(mode)s.", mode=mode))
            elif request.form.get("form") == "password":
                new = request.form.get("new_password") or ""
                if not auth.verify_password(row, request.form.get("password") or ""):
                    errors["password"] = _("That is not your current password.")
                elif new != request.form.get("confirm_password"):
                    errors["confirm_password"] = _("The two new passwords differ.")
                else:
                    try:
                        auth.check_password_strength(new)
                    except auth.AccountError as exc:
                        errors["new_password"] = str(exc)
                    else:
                        row.password_hash = auth.hash_password(new)
                        auth.log_in(row)  # keep this session; every other one ends
                        flash(_("Password changed; other sessions are logged out."))
        if not errors:
            return redirect(url_for("moderate.account"), code=303)
    with current_hub().sessions() as s:
        me = s.get(Moderator, me.id)
    return render_template("moderate/account.html", account=me, errors=errors, modes=NOTIFY_MODES), \
        (400 if errors else 200)


@bp.route("/team", methods=["GET", "POST"])
@auth.admin_required
def team():
    me = current_moderator()
    errors: dict = {}
    if request.method == "POST":
        try:
            with current_hub().transaction() as s:
                _team_change(s, me)
        except auth.AccountError as exc:
            errors["team"] = str(exc)
        else:
            return redirect(url_for("moderate.team"), code=303)
    with current_hub().sessions() as s:
        people = list(s.scalars(select(Moderator).order_by(Moderator.email)))
    return render_template("moderate/team.html", people=people, errors=errors, roles=ROLES, modes=NOTIFY_MODES,
                           form=request.form), (400 if errors else 200)


def _team_change(s, me) -> None:
    what = request.form.get("form")
    if what == "add":
        moderator = auth.create_moderator(
            s, request.form.get("email", ""), request.form.get("password", ""), request.form.get("role", "moderator"),
            author_slug=auth.checked_author_slug(current_hub(), request.form.get("author_slug")))
        flash(_("%(email)s can now log in.", email=moderator.email))
        return
    target_id = row_id(request.form.get("id"))
    target = s.get(Moderator, target_id) if target_id else None
    if target is None:
        raise auth.AccountError(_("No such moderator."))
    if what in ("disable", "enable"):
        if target.id == me.id:
            raise auth.AccountError(_("You cannot disable yourself: ask another administrator."))
        target.disabled = what == "disable"
        flash(_("%(email)s disabled.", email=target.email) if what == "disable" else _("%(email)s enabled.", email=target.email))
    elif what == "role":
        role = request.form.get("role")
        if role not in ROLES:
            raise auth.AccountError(_("Unknown role %(role)s.", role=repr(role)))
        if target.id == me.id and role != "admin":
            raise auth.AccountError(_("You cannot remove your own admin role: ask another administrator."))
        target.role = role
        target.author_slug = auth.checked_author_slug(current_hub(), request.form.get("author_slug"))
        if target.author_slug and role != "admin":
            flash(_("%(email)s is now %(role)s, limited to %(author)s’s posts.", email=target.email, role=_(role),
                    author=target.author_slug))
        else:
            flash(_("%(email)s is now %(role)s.", email=target.email, role=_(role)))
    else:
        abort(400)


# Errors inside /moderate/ -------------------------------------------------------------------------
@bp.errorhandler(403)
def forbidden(exc):
    if wants_json():
        return jsonify({"error": _("Only administrators may do this.")}), 403
    return render_template("moderate/message.html", title=_("Administrators only"),
                           text=_("This page is for administrators: ask one to change your role.")), 403


@bp.errorhandler(429)
def too_many(exc):
    wait = retry_after()
    return render_template("moderate/message.html", title=_("Too many attempts"),
                           text=_("Too many login attempts for this address or account: wait %(wait)s, "
                                  "then try again.", wait=wait_text(wait))), 429, {"Retry-After": str(wait)}


def _secure_cookie_dropped() -> bool:
    """A page over plain http from another machine than this one: browsers drop the Secure
    session cookie there (they keep it from localhost), so no login can ever hold."""
    host = (request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host).strip("[]").lower()
    return (current_app.config.get("SESSION_COOKIE_SECURE") and not request.is_secure
            and host not in ("localhost", "127.0.0.1", "::1") and not host.endswith(".localhost"))


@bp.errorhandler(CSRFError)
def csrf_failed(exc):
    if _secure_cookie_dropped():
        text = _("This page came over plain http, and the browser keeps the login cookie only over HTTPS "
                 "(or from this machine itself, at localhost). Open the moderation pages over https://, or, "
                 "on a development machine, start the service with HUBBUB_DEVELOPMENT=1.")
        if wants_json():
            return jsonify({"error": text}), 400
        return render_template("moderate/message.html", title=_("Logging in needs HTTPS"), text=text), 400
    if wants_json():
        return jsonify({"error": _("%(problem)s Reload the page and try again.", problem=exc.description)}), 400
    return render_template("moderate/message.html", title=_("This form has expired"),
                           text=_("%(problem)s Go back, reload the page and try again.", problem=exc.description)), 400


@bp.before_request
def csrf_protect():
    """CSRF is checked here, for the moderation UI only (the APIs use tokens, not cookies)."""
    if request.method == "POST" and request.endpoint != "moderate.static":
        current_app.extensions["csrf"].protect()
    # No field of these forms may hold a NUL (PostgreSQL text cannot): refuse it plainly.
    values = list(request.args.values()) + (list(request.form.values()) if request.method == "POST" else [])
    if any("\x00" in v for v in values):
        abort(400)
