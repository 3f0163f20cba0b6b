"""The public API: read a thread's published comments, post a comment (and edit or delete it with
its edit token), health, OpenAPI."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from flask import Blueprint, Response, current_app, jsonify, redirect, render_template, request
from sqlalchemy import func, select, text
from werkzeug.exceptions import RequestEntityTooLarge

from hubbub.core.publisher import comments_dir_for
from hubbub.core.threadfile import read_thread

from . import edit
from . import service_state as state
from .client import current_client_address
from .errors import api_error, too_many_json
from .hub import current_hub
from .i18n import _ as gettext  # not `_`: views here use `_` for what they ignore
from .models import Comment, Job, utcnow
from .outage import RETRY_AFTER, database_outage, describe
from .ratelimit import retry_after, wait_text
from .submit import Client, InvalidSubmission, accept, parse, parse_body
from .threads import ThreadClosed

bp = Blueprint("public_api", __name__)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")



def _thread_or_404(slug: str):
    thread = current_hub().threads.get(slug)
    if thread is None:
        return None, api_error(404, gettext("No article %(slug)s on this site: comments go to the slug of a built article.",
                                        slug=repr(slug)))
    return thread, None


# Reading ------------------------------------------------------------------------------------
class PublishedCache:
    """Public thread answers, built from the thread files the publisher writes.

    The thread file is what is published, so the API can never show more than the static page.
    Answers are cached per file version (mtime, size), so a hot thread costs one stat per read.
    """

    def __init__(self, site_dir: Path, output_dir: Path):
        self.site_dir, self.output_dir = site_dir, output_dir
        self._cache: dict[str, tuple[tuple, bytes, str]] = {}
        self._lock = threading.Lock()

    def get(self, slug: str) -> tuple[bytes, str]:
        # Where the publisher writes them: the folder the last build read (the manifest says).
        directory = comments_dir_for(self.site_dir, self.output_dir)
        path = directory / f"{slug}.json"
        try:
            st = os.stat(path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            stamp = None
        cached = self._cache.get(slug)
        if cached and cached[0] == stamp:
            return cached[1], cached[2]
        comments = []
        if stamp is not None:
            # The public never sees author_key (nor, of course, anything the file does not hold).
            comments = [{k: v for k, v in c.to_json().items() if k != "author_key"}
                        for c in read_thread(directory, slug).comments]
        body = json.dumps({"thread": slug, "comments": comments}, ensure_ascii=False, separators=(",", ":")).encode()
        etag = hashlib.sha256(body).hexdigest()[:32]
        with self._lock:
            self._cache[slug] = (stamp, body, etag)
        return body, etag


@bp.get("/api/threads/<slug>/comments")
def thread_comments(slug: str):
    _, error = _thread_or_404(slug)
    if error:
        return error
    body, etag = current_app.extensions["hubbub_published"].get(slug)
    response = Response(body, mimetype="application/json")
    response.set_etag(etag)
    response.headers["Cache-Control"] = "public, max-age=10, stale-while-revalidate=60"
    return response.make_conditional(request)


# Posting ------------------------------------------------------------------------------------
def _submission_data() -> tuple[dict | None, Response | None, bool]:
    """The posted fields, whether it came from a form, or an error answer."""
    mimetype = request.mimetype
    if mimetype == "application/json":
        data, error = _json_object('{"author": "...", "email": "...", "body": "..."}')
        return data, error, False
    if mimetype in FORM_TYPES:
        if mimetype == "application/x-www-form-urlencoded" and not form_is_utf8(request.get_data(cache=True)):
            return None, api_error(400, gettext("The form is not valid UTF-8: send it from the site's reply form.")), True
        return request.form.to_dict(), None, True
    return None, api_error(415, gettext("Unsupported content type %(type)s: send application/json or an HTML form.",
                                  type=repr(mimetype or "(none)"))), False


def _json_object(example: str) -> tuple[dict | None, Response | None]:
    """The request's JSON object, or an error answer that shows `example`."""
    raw = request.get_data(cache=False)
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, api_error(400, gettext("The body is not valid UTF-8: send JSON encoded as UTF-8."))
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        problem = f"{type(exc).__name__}: {str(exc)[:100]}"
        return None, api_error(400, gettext("Malformed JSON (%(problem)s): send an object such as %(example)s",
                                      problem=problem, example=example))
    if not isinstance(data, dict):
        return None, api_error(400, gettext("The JSON body must be an object, such as %(example)s", example=example))
    return data, None


def form_is_utf8(raw: bytes) -> bool:
    """Werkzeug would quietly replace invalid percent-encoded bytes; we refuse them instead."""
    from urllib.parse import parse_qsl

    try:
        parse_qsl(raw.decode("ascii"), keep_blank_values=True, encoding="utf-8", errors="strict")
    except (UnicodeDecodeError, ValueError):
        return False
    return True


@bp.post("/api/threads/<slug>/comments")
def post_comment(slug: str):
    thread, error = _thread_or_404(slug)
    if error:
        if request.mimetype in FORM_TYPES:  # a page open since its article went: the text back, to keep
            return _unknown_thread_page(error.get_json()["error"]), 404
        return error
    data, error, is_form = _submission_data()
    if error:
        return error
    try:
        current_hub().database_ready()  # here, not before the view: a form gets its page back
        current_hub().threads.check_open(slug)  # before the fields: no point fixing them
        accepted = accept(current_hub(), slug, parse(data), _client(), source="form" if is_form else "api")
    except InvalidSubmission as exc:
        if is_form:
            return _form_errors_page(slug, thread, data, exc.fields), 400
        return api_error(400, str(exc), exc.fields)
    except ThreadClosed as exc:
        if is_form:
            return _closed_page(thread, str(exc), data), 403
        return api_error(403, str(exc))
    except Exception as exc:
        if not (is_form and database_outage(exc)):
            raise  # errors.py answers the JSON API (a 503 for an outage too)
        current_app.logger.warning("database unavailable for a form comment on %s: %s", slug, describe(exc))
        current_app.extensions["hubbub_outage"].note(exc)
        page = _form_errors_page(slug, thread, data, {}, unavailable=True)
        return page, 503, {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
    # Spam gets the same answer as anything else: a spammer learns nothing.
    status = edit.shown_status(accepted.comment)
    if is_form:
        return redirect(current_hub().article_url(slug) + f"#comment-{status}", code=303)
    until = accepted.editable_until
    response = jsonify({"id": accepted.comment.id, "status": status, "edit_token": accepted.edit_token,
                        "editable_until": until.isoformat(timespec="seconds") if until else None})
    response.status_code = 202
    return response


@bp.get("/api/threads/<slug>/comments/<int:comment_id>/reply")
def reply_form(slug: str, comment_id: int):
    """The reply form for one published comment: where a comment's Reply link leads a reader
    without JavaScript (comments.js fills the page's own form instead)."""
    thread, error = _thread_or_404(slug)
    if error:
        return _unknown_thread_page(error.get_json()["error"]), 404
    try:
        current_hub().threads.check_open(slug)
    except ThreadClosed as exc:
        return _closed_page(thread, str(exc), {}), 403
    directory = comments_dir_for(current_hub().config.site_dir, current_hub().config.output_dir)
    parent = next((c for c in read_thread(directory, slug).comments if c.id == comment_id), None)
    if parent is None:  # gone since the page was built: the form for a new comment instead
        return redirect(current_hub().article_url(slug) + "#respond", code=303)
    return _form_errors_page(slug, thread, {"parent": str(comment_id)}, {}, replying_to=parent.author,
                             action=f"/api/threads/{slug}/comments")


def _client() -> Client:
    return Client(
        remote_addr=current_client_address(),
        user_agent=request.headers.get("User-Agent", ""),
        referrer=request.headers.get("Referer", ""),
    )


# Changing one's own comment -----------------------------------------------------------------------
CHANGE_FIELDS = {"PATCH": {"body", "edit_token"}, "DELETE": {"edit_token"}}


@bp.route("/api/threads/<slug>/comments/<int:comment_id>", methods=["PATCH", "DELETE"])
def change_comment(slug: str, comment_id: int):
    """The writer edits (PATCH {"body", "edit_token"}) or deletes (DELETE {"edit_token"}) their comment."""
    _, error = _thread_or_404(slug)
    if error:
        return error
    example = '{"body": "...", "edit_token": "..."}' if request.method == "PATCH" else '{"edit_token": "..."}'
    if request.mimetype != "application/json":
        return api_error(415, gettext("Unsupported content type %(type)s: send application/json such as %(example)s.",
                                type=repr(request.mimetype or "(none)"), example=example))
    data, error = _json_object(example)
    if error:
        return error
    allowed = CHANGE_FIELDS[request.method]
    unknown = {name: gettext("unknown field: send only %(fields)s", fields=" and ".join(sorted(allowed)))
               for name in sorted(set(data) - allowed)}
    if unknown:
        return api_error(400, gettext("The request has fields this operation does not take."), unknown)
    hub = current_hub()
    try:
        if request.method == "DELETE":
            outcome = edit.delete_own(hub, slug, comment_id, data.get("edit_token"))
        else:
            outcome = edit.edit(hub, slug, comment_id, data.get("edit_token"), parse_body(data), _client())
    except InvalidSubmission as exc:
        return api_error(400, str(exc), exc.fields)
    except edit.EditRefused as exc:
        return api_error(exc.status, str(exc))
    except ThreadClosed as exc:
        return api_error(403, str(exc))
    return jsonify({"id": outcome.id, "status": outcome.status})


def _stylesheet() -> str:
    hub = current_hub()
    if not hub.links_absolute():
        return "/theme/css/hubbub.css"
    return hub.site_url() + "/theme/css/hubbub.css"


def _form_errors_page(slug: str, thread: dict, data: dict, fields: dict, wait: str = "",
                      unavailable: bool = False, replying_to: str = "", action: str | None = None) -> str:
    """The reply form again, holding what the reader typed: with what to fix, how long to wait
    (`wait`, after a rate limit), or (`unavailable`) saying the comment could not be stored just now;
    or, fresh, for a reply to `replying_to`'s comment."""
    hub = current_hub()
    return render_template(
        "form_errors.html", slug=slug, thread=thread, data=data, fields=fields, wait=wait,
        unavailable=unavailable, retry_after=RETRY_AFTER, replying_to=replying_to,
        akismet=hub.akismet.enabled, email=bool(hub.config.smtp_host),  # what this service does
        article_url=current_hub().article_url(slug), action=action or request.path, stylesheet=_stylesheet(),
    )


@bp.errorhandler(429)
def too_many(exc):
    """The limiter refused: a reader of the plain form gets their text back and how long to wait."""
    slug = (request.view_args or {}).get("slug")
    if request.endpoint != "public_api.post_comment" or request.mimetype not in FORM_TYPES or not slug:
        return too_many_json()
    thread, error = _thread_or_404(slug)
    if error:
        return error
    wait = retry_after()
    try:
        data = request.form.to_dict()
    except RequestEntityTooLarge:  # refused for its size as well: nothing of it was read
        data = {}
    page = _form_errors_page(slug, thread, data, {},
                             wait=gettext("You have sent several comments in a short time: wait %(wait)s, "
                                          "then send this one again.", wait=wait_text(wait)))
    return page, 429, {"Retry-After": str(wait)}


@bp.errorhandler(413)
def too_large(exc):
    """Past HUBBUB_MAX_BODY_BYTES: a reader of the plain form gets the form and what to do (the
    text itself was not read; the limit leaves room for any 10,000 characters)."""
    slug = (request.view_args or {}).get("slug")
    if request.endpoint != "public_api.post_comment" or request.mimetype not in FORM_TYPES or not slug:
        return api_error(413)
    thread, error = _thread_or_404(slug)
    if error:
        return error
    fields = {"body": gettext("Too long to send: a comment may have at most 10,000 characters. Go back to "
                              "the article to shorten it; your browser keeps what you typed.")}
    return _form_errors_page(slug, thread, {}, fields), 413


def _unknown_thread_page(message: str) -> str:
    try:
        body = request.form.get("body", "")
    except RequestEntityTooLarge:
        body = ""
    return render_template("thread_closed.html", thread=None, heading=gettext("Your comment was not sent"),
                           message=message, body=body, stylesheet=_stylesheet())


def _closed_page(thread: dict, message: str, data) -> str:
    """A reader without JavaScript posted to a thread that closed after the page was built: what
    they wrote comes back, to keep."""
    slug = request.view_args["slug"]
    body = data.get("body") if isinstance(data.get("body"), str) else ""
    return render_template("thread_closed.html", thread=thread, message=message, body=body,
                           article_url=current_hub().article_url(slug), stylesheet=_stylesheet())


# Health and description -----------------------------------------------------------------------

@bp.get("/api/health")
def health():
    h = current_hub()
    answer: dict = {"status": "ok", "time": utcnow().isoformat()}
    code = 200
    try:
        h.database_ready()
        with h.sessions() as s:
            s.execute(text("SELECT 1"))
            now = utcnow()
            due = s.scalar(select(func.count(Job.id)).where(Job.due_at <= now)) or 0
            # The longest-waiting job no one runs, and whether any job runs now: a queue that
            # waits while nothing runs has no runner (a busy one always has a job in hand).
            oldest = s.scalar(select(func.min(Job.due_at)).where(
                Job.due_at <= now, (Job.locked_until.is_(None)) | (Job.locked_until < now)))
            running = s.scalar(select(Job.id).where(Job.locked_until >= now).limit(1)) is not None
            pending = s.scalar(select(func.count(Comment.id)).where(Comment.status == "pending")) or 0
            akismet_state = state.get(s, "akismet")
            publish_state = state.get(s, "publish")
        answer["database"] = {"state": "ok", "dialect": h.engine.dialect.name}
    except Exception as exc:  # reported, not raised: this is the answer monitoring reads
        answer["database"] = {"state": "down", "dialect": h.engine.dialect.name, "error": describe(exc)}
        answer["status"] = "error"
        return jsonify(answer), 503, {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
    failing = _writes_failing(h)
    if failing:
        answer["database"].update(state="failing", error=failing, since=current_app.extensions["hubbub_outage"].since)
        answer["status"] = "error"
        return jsonify(answer), 503, {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
    queue = {"mode": "redis" if h.waker else "in-process", "due_jobs": due, "state": "ok"}
    waiting = (now - oldest).total_seconds() if oldest is not None else 0.0
    if h.waker and not h.waker.ping():
        queue["state"] = "unreachable"
    elif waiting > h.config.queue_stalled_after and not running:
        queue.update(state="stalled", oldest_waiting_seconds=round(waiting),
                     message="Jobs (checks, emails, publishing) wait and nothing runs them: "
                             + ("is `hubbub worker` running?" if h.waker else "restart the service."))
    if queue["state"] != "ok":
        answer["status"] = "degraded"
    answer["queue"] = queue
    answer["comments"] = {"pending": pending}
    answer["akismet"] = akismet_health(h, akismet_state)
    answer["publish"] = publish_health(publish_state)
    if answer["publish"]["state"] == "failing":
        answer["status"] = "degraded"
    answer["threads"] = {"manifest": h.threads.available, "count": len(h.threads.all())}
    return jsonify(answer), code


def akismet_health(h, stored: dict) -> dict:
    """Akismet's state for people: off, ok, failing or invalid_key, with the last error."""
    if not h.akismet.enabled:
        return {"state": "off", "message": "No PYTHON_AKISMET_API_KEY: every comment is held for moderation."}
    result = {"state": stored.get("state", "unknown"), "endpoint": h.config.akismet_endpoint}
    if stored.get("last_error"):
        result["last_error"] = stored["last_error"]
        result["last_error_at"] = stored.get("last_error_at")
    if result["state"] == "invalid_key":
        result["message"] = ("Akismet rejects the key: fix PYTHON_AKISMET_API_KEY / PYTHON_AKISMET_BLOG_URL. "
                             "Comments are held and rechecked a few times an hour.")
    return result


def _writes_failing(h) -> str | None:
    """After a request met an outage: whether writing still fails (SQLite read-only or out of
    disk, while reads work), tried with one small write; None once it works again."""
    seen = current_app.extensions["hubbub_outage"]
    if seen.error is None:
        return None
    try:
        with h.transaction() as s:
            state.put(s, "health", write_checked=utcnow().isoformat())
    except Exception as exc:
        if not database_outage(exc):
            raise
        seen.note(exc)
        return seen.error
    seen.clear()
    return None


def publish_health(stored: dict) -> dict:
    """Whether publishing comments into the site works: ok, or failing with the last error
    (a full disk, say); a failing publish is retried until it works."""
    result = {"state": stored.get("state", "ok")}
    if result["state"] != "ok":
        result.update(last_error=stored.get("last_error"), last_error_at=stored.get("last_error_at"),
                      message="Approved comments are stored but not yet on the site; publishing is retried "
                              "until it works: free space or fix the error shown.")
    return result


@bp.route("/api/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown_api(rest: str):
    """Anything else under /api/ is a JSON 404 (or 405 for a known path), never a site page."""
    adapter = current_app.url_map.bind("localhost")
    allowed = [m for m in ("GET", "POST", "PATCH", "DELETE") if m != request.method
               and adapter.match(request.path, method=m)[0] != "public_api.unknown_api"]
    if allowed:
        response = api_error(405, f"Use {' or '.join(allowed)} for {request.path}.")
        response.headers["Allow"] = ", ".join(allowed)
        return response
    return api_error(404, f"No API at /api/{rest}: see /api/openapi.json for what there is.")


@bp.get("/api/openapi.json")
def openapi():
    path = Path(__file__).with_name("openapi.json")
    return Response(path.read_bytes(), mimetype="application/json")
