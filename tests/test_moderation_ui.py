"""The moderation web UI through the Flask test client: login, CSRF, the queue, actions, bulk,
search, pagination, dashboard, banner and audit log, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from moderation_helpers import (
    PASSWORD,
    add_moderator,
    audit,
    csrf_token,
    fast_password_hashing,
    insert_comments,
    logged_in,
    login,
    queued,
    run_soon_jobs,
)
from service_helpers import akismet_env, comment, hub_of, post, run_jobs

OTHER_SLUG = "email-lists-are-built-on-permission"  # Priya Raman's; `slug` is Alan Whitaker's
CARD = re.compile(r'<article class="comment status-(\w+)" id="c-(\d+)"')


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    fast_password_hashing(monkeypatch)

def cards(html: str) -> list[int]:
    return [int(m.group(2)) for m in CARD.finditer(html)]


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def app(make_app, service_env):
    return make_app(service_env)


@pytest.fixture
def client(app):
    return logged_in(app)


def act(client, cid: int, action: str, fetch: bool = False, next_url: str = "/moderate/"):
    token = csrf_token(client, "/moderate/")
    headers = {"X-Requested-With": "fetch", "Accept": "application/json"} if fetch else {}
    return client.post(f"/moderate/comments/{cid}/{action}", data={"csrf_token": token, "next": next_url},
                       headers=headers)


def bulk(client, ids, action: str, fetch: bool = False):
    token = csrf_token(client, "/moderate/")
    headers = {"X-Requested-With": "fetch"} if fetch else {}
    return client.post("/moderate/bulk", data={"csrf_token": token, "action": action, "ids": [str(i) for i in ids],
                                               "next": "/moderate/"}, headers=headers)


# Access --------------------------------------------------------------------------------------------
def test_everything_under_moderate_needs_a_login(app, slug):
    [cid] = insert_comments(app, 1, slug)
    anonymous = app.test_client()
    for path in ("/moderate/", f"/moderate/comments/{cid}", f"/moderate/comments/{cid}/edit", "/moderate/audit",
                 "/moderate/account", "/moderate/team", "/moderate/?status=spam&q=x"):
        r = anonymous.get(path)
        assert r.status_code == 302 and r.headers["Location"].startswith("/moderate/login?next="), path
    token = csrf_token(anonymous)
    for path in (f"/moderate/comments/{cid}/approve", "/moderate/bulk", f"/moderate/comments/{cid}/edit"):
        r = anonymous.post(path, data={"csrf_token": token, "ids": [str(cid)], "action": "approve"})
        assert r.status_code == 302 and "/moderate/login" in r.headers["Location"], path
    r = anonymous.post(f"/moderate/comments/{cid}/approve", data={"csrf_token": token},
                       headers={"X-Requested-With": "fetch"})
    assert r.status_code == 401
    assert comment(app, cid).status == "pending"


def test_login_logout_and_session_cookie_flags(app):
    add_moderator(app)
    client = app.test_client()
    login(client, password="wrong password!", expect=401)
    assert client.get("/moderate/").status_code == 302
    r = login(client)
    assert r.headers["Location"] == "/moderate/"
    cookies = {c.split("=", 1)[0]: c for c in r.headers.getlist("Set-Cookie")}
    cookie = cookies[app.config["SESSION_COOKIE_NAME"]]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" in cookie
    device = cookies["hubbub_device"]  # this browser has logged in to the account (the login limits)
    assert "HttpOnly" in device and "SameSite=Strict" in device and "Secure" in device and "Path=/moderate/" in device
    assert client.get("/moderate/").status_code == 200
    # After login, the `next` page the moderator wanted.
    other = app.test_client()
    assert other.get("/moderate/audit").headers["Location"] == "/moderate/login?next=/moderate/audit"
    page = text(other.get("/moderate/login?next=/moderate/audit"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = other.post("/moderate/login", data={"email": "MOD@example.org", "password": PASSWORD, "csrf_token": token,
                                            "next": "/moderate/audit"})
    assert r.headers["Location"] == "/moderate/audit"
    # ...but never another site.
    r = other.get("/moderate/login?next=https://evil.example/")
    assert "evil.example" not in text(r)
    # Logging out ends the session.
    r = client.post("/moderate/logout", data={"csrf_token": csrf_token(client, "/moderate/")})
    assert r.status_code == 303
    assert client.get("/moderate/").status_code == 302


def test_development_cookies_are_not_secure(make_app, service_env):
    app = make_app({**service_env, "HUBBUB_DEVELOPMENT": "1"})
    add_moderator(app)
    r = login(app.test_client())
    assert "Secure" not in r.headers["Set-Cookie"] and "HttpOnly" in r.headers["Set-Cookie"]


def test_forms_without_a_csrf_token_are_refused(app, client, slug):
    [cid] = insert_comments(app, 1, slug)
    for path, data in ((f"/moderate/comments/{cid}/approve", {}),
                       ("/moderate/bulk", {"ids": [str(cid)], "action": "spam"}),
                       (f"/moderate/comments/{cid}/delete", {"csrf_token": "forged"}),
                       ("/moderate/account", {"form": "notify", "notify": "off"})):
        r = client.post(path, data=data)
        assert r.status_code == 400, path
        assert "expired" in text(r) or "CSRF" in text(r)
    assert comment(app, cid).status == "pending"
    # The login form is protected too (login CSRF).
    add_moderator(app, "second@example.org")
    r = app.test_client().post("/moderate/login", data={"email": "second@example.org", "password": PASSWORD})
    assert r.status_code == 400


def test_login_attempts_are_rate_limited(make_app, service_env):
    app = make_app({**service_env, "HUBBUB_LOGIN_RATE_LIMIT": "3/minute"})
    add_moderator(app)
    add_moderator(app, "other@example.org")
    client = app.test_client()
    codes = [login(client, password=f"guess {n}", expect=401).status_code for n in range(3)]
    assert codes == [401, 401, 401]
    r = login(client, expect=429)  # even the right password waits now
    assert "Too many" in text(r)
    # Guessing one account from many addresses is limited too.

    def attempt(address: str, password: str, email: str = "other@example.org"):
        c = app.test_client()
        c.environ_base["REMOTE_ADDR"] = address
        token = csrf_token(c)
        return c.post("/moderate/login", data={"email": email, "password": password, "csrf_token": token})

    assert [attempt(f"198.51.100.{n}", "not the password").status_code for n in range(3)] == [401, 401, 401]
    assert attempt("198.51.100.99", PASSWORD).status_code == 429
    # Another account from another address is not affected.
    add_moderator(app, "third@example.org")
    assert attempt("203.0.113.1", PASSWORD, "third@example.org").status_code == 303


def test_guesses_from_elsewhere_do_not_lock_the_owner_out(make_app, service_env):
    """Found by review: wrong passwords from rotating addresses used up the account's allowance,
    and its owner, with the right password, got 429 too. A browser that logged in to the account
    before (a signed cookie) has an allowance of its own; every other browser shares the account's."""
    app = make_app({**service_env, "HUBBUB_LOGIN_RATE_LIMIT": "3/minute", "HUBBUB_TRUSTED_PROXIES": "127.0.0.1"})
    add_moderator(app)
    owner = app.test_client()
    owner.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    login(owner)
    assert owner.post("/moderate/logout", data={"csrf_token": csrf_token(owner, "/moderate/")}).status_code == 303

    def attempt(n: int, password: str, cookie: str | None = None) -> int:
        c = app.test_client()
        if cookie is not None:
            c.set_cookie("hubbub_device", cookie, path="/moderate/")
        token = csrf_token(c)
        return c.post("/moderate/login", data={"email": "mod@example.org", "password": password, "csrf_token": token},
                      headers={"X-Forwarded-For": f"192.0.2.{n}"}).status_code

    # The owner's first login counted for the account (the browser was new): two guesses are left.
    assert [attempt(n, f"guess {n}") for n in range(1, 5)] == [401, 401, 429, 429]
    assert attempt(10, PASSWORD) == 429  # a browser never seen waits, even with the right password
    assert attempt(11, PASSWORD, cookie="forged.cookie.value") == 429
    login(owner)  # the owner's browser is not locked out
    assert owner.post("/moderate/logout", data={"csrf_token": csrf_token(owner, "/moderate/")}).status_code == 303
    login(owner, password="not it", expect=401)
    # That browser is limited on its own, wherever it is (its address's allowance is not used up).
    owner.environ_base["REMOTE_ADDR"] = "203.0.113.8"
    login(owner, password="not it either", expect=401)
    login(owner, expect=429)


def test_disabled_moderator_cannot_log_in_and_loses_the_session(app):
    from comments_service.moderation.models import Moderator

    client = logged_in(app)
    with hub_of(app).transaction() as s:
        s.query(Moderator).one().disabled = True
    assert client.get("/moderate/").status_code == 302
    r = login(app.test_client(), expect=401)
    assert "disabled" in text(r)


# The queue ------------------------------------------------------------------------------------------
def test_queue_shows_everything_a_moderator_needs(app, client, slug):
    public = app.test_client()
    parent = post(public, slug, author="Pat", body="The parent comment").json["id"]
    act(client, parent, "approve")
    reply = public.post(f"/api/threads/{slug}/comments",
                        json={"author": "Robin <b>", "email": "robin@example.org", "url": "https://robin.example",
                              "body": "A reply with [four](https://a.example) [b](https://b.example) "
                                      "[c](https://c.example) [d](https://d.example) links", "parent": parent},
                        headers={"User-Agent": "Firefox/999"}).json["id"]
    insert_comments(app, 2, slug, status="published", email="robin@example.org")
    insert_comments(app, 1, slug, status="spam", email="robin@example.org")
    page = text(client.get("/moderate/"))
    assert cards(page) == [reply]
    for expected in ("Robin &lt;b&gt;", "robin@example.org", "https://robin.example", "127.0.0.1", "Firefox/999",
                     "Social Media and Network Marketing", f"/posts/{slug}/", "Reply to", "Pat", "The parent comment",
                     "links: 4 links", "Akismet: not checked", "2 published", "1 spam"):
        assert expected in page, expected
    assert '<a href="https://a.example" rel="nofollow ugc noopener">four</a>' in page
    # Names sit in their own <bdi>: a right-to-left mark in one cannot reorder the card's line.
    assert '<strong class="author"><bdi>Robin &lt;b&gt;</bdi></strong>' in page
    assert re.search(r'Reply to <a href="[^"]*comments/\d+"><bdi>Pat</bdi></a>', page)
    assert re.search(r'Pending <span class="count" data-count="pending">1</span>', page)
    assert re.search(r'Published <span class="count" data-count="published">3</span>', page)
    assert re.search(r'Spam <span class="count" data-count="spam">1</span>', page)


def test_pages_follow_the_content_security_policy(app, client, slug):
    insert_comments(app, 2, slug)
    for path in ("/moderate/", "/moderate/login", "/moderate/audit", "/moderate/account", "/moderate/team"):
        html = text(client.get(path))
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path  # no inline scripts
        assert not re.search(r"\sstyle=", html), path  # no inline styles
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers
    for asset in ("moderate.css", "moderate.js"):
        r = client.get(f"/moderate/static/{asset}")
        assert r.status_code == 200 and len(r.data) > 1000
    r = client.get("/moderate/")
    assert "script-src 'self'" in r.headers["Content-Security-Policy"] and r.headers["Cache-Control"] == "no-store"


def test_approve_reject_and_delete_without_javascript(app, client, slug):
    a, b, c = insert_comments(app, 3, slug)
    r = act(client, a, "approve", next_url="/moderate/?status=pending")
    assert r.status_code == 303 and r.headers["Location"] == "/moderate/?status=pending"
    page = text(client.get(r.headers["Location"]))
    assert f"Comment {a} approved." in page and cards(page) == [c, b]
    assert comment(app, a).status == "published"
    assert queued(app, "publish") == [slug]
    act(client, b, "reject")
    act(client, c, "delete")
    assert comment(app, b).status == "rejected" and comment(app, c) is None
    # Next pointing elsewhere is not followed.
    r = act(client, b, "approve", next_url="https://evil.example/")
    assert r.headers["Location"] == "/moderate/"


def test_actions_with_javascript_answer_json_with_counts(app, client, slug):
    a, b = insert_comments(app, 2, slug)
    r = act(client, a, "spam", fetch=True)
    assert r.status_code == 200
    assert r.json["results"] == [{"id": a, "status": "spam", "changed": True}]
    assert r.json["counts"]["pending"] == 1 and r.json["counts"]["spam"] == 1
    r = act(client, 999999, "approve", fetch=True)
    assert r.status_code == 404
    assert act(client, a, "frobnicate").status_code == 404


def test_bulk_approve_clears_the_queue(app, client, slug):
    ids = insert_comments(app, 12, slug) + insert_comments(app, 3, OTHER_SLUG)
    r = bulk(client, ids, "approve")
    assert r.status_code == 303
    page = text(client.get("/moderate/"))
    assert "15 comments approved." in page and "The queue is clear" in page
    assert {comment(app, i).status for i in ids} == {"published"}
    assert sorted(queued(app, "publish")) == sorted([slug, OTHER_SLUG])  # one publish per thread
    run_soon_jobs(app)
    r = bulk(client, ids[:2], "spam", fetch=True)
    assert [x["status"] for x in r.json["results"]] == ["spam", "spam"] and r.json["counts"]["published"] == 13
    r = bulk(client, [], "approve")
    assert r.status_code == 303
    assert bulk(client, ids, "explode").status_code == 404


def test_edit_re_sanitises_and_reports_errors(app, client, slug):
    cid = post(app.test_client(), slug, body="Typo here").json["id"]
    page = text(client.get(f"/moderate/comments/{cid}/edit"))
    assert "Typo here" in page
    token = csrf_token(client, f"/moderate/comments/{cid}/edit")
    r = client.post(f"/moderate/comments/{cid}/edit", data={
        "csrf_token": token, "author": "Ada", "url": "javascript:alert(1)", "body": "x"})
    assert r.status_code == 400 and "http:// or https://" in text(r)
    r = client.post(f"/moderate/comments/{cid}/edit", data={
        "csrf_token": token, "author": "Ada", "url": "http://[::1", "body": "x"})
    assert r.status_code == 400 and "http:// or https://" in text(r)
    r = client.post(f"/moderate/comments/{cid}/edit", data={
        "csrf_token": token, "author": "Ada Reader", "url": "", "body": "Fixed <img src=x onerror=alert(1)> **now**"})
    assert r.status_code == 303
    c = comment(app, cid)
    assert c.body.startswith("Fixed") and c.url == ""
    assert "<img" not in c.html and "<strong>now</strong>" in c.html
    [entry] = audit(app, cid)
    assert entry.action == "edit" and entry.detail["before"] == {"body": "Typo here", "url": "https://ada.example.org"}


def test_search_by_text_author_email_and_address(app, client, slug):
    public = app.test_client()
    post(public, slug, author="Grace Hopper", email="grace@navy.example", body="Compilers are great")
    post(public, slug, author="Alan", email="alan@example.org", body="Machines can think",
         )
    public.post(f"/api/threads/{slug}/comments", json={"author": "Bot", "email": "bot@spam.example", "body": "buy"},
                environ_base={"REMOTE_ADDR": "203.0.113.77"})

    def found(query):
        return [comment(app, i).author for i in cards(text(client.get(f"/moderate/?{query}")))]

    assert found("q=compilers") == ["Grace Hopper"]
    assert found("q=ALAN&field=author") == ["Alan"]
    assert found("q=navy.example&field=email") == ["Grace Hopper"]
    assert found("q=email:bot@") == ["Bot"]
    assert found("q=203.0.113&field=address") == ["Bot"]
    assert found("q=machines&field=author") == []
    assert found("q=%25") == []  # a % is searched for, not a wildcard
    assert "Nothing matches" in text(client.get("/moderate/?q=zzz"))
    act(client, cards(text(client.get("/moderate/?q=bot")))[0], "spam")
    assert found("status=spam&q=bot") == ["Bot"] and found("status=all&q=bot") == ["Bot"]


def test_pagination_walks_a_large_queue_by_keyset(app, client, slug):
    ids = insert_comments(app, 1234, slug)
    newest_first = list(reversed(ids))
    page = text(client.get("/moderate/"))
    assert cards(page) == newest_first[:50]
    assert 'data-count="pending">1234</span> pending' in page and 'rel="prev"' not in page
    seen, url, pages = [], "/moderate/", 0
    while url:
        page = text(client.get(url))
        seen += cards(page)
        pages += 1
        match = re.search(r'<a rel="next" href="([^"]+)"', page)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == newest_first and pages == 25
    # ...and back again from the last page.
    back = re.search(r'<a rel="prev" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert cards(text(client.get(back))) == newest_first[1150:1200]
    # Comments created in the same instant keep a stable order (id breaks ties).
    same = insert_comments(app, 60, OTHER_SLUG, step=dt.timedelta(0))
    page = text(client.get("/moderate/?q=Reader&field=author&status=pending"))
    first = cards(page)
    nxt = re.search(r'<a rel="next" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    second = cards(text(client.get(nxt)))
    assert not set(first) & set(second) and first[:50] == sorted(same, reverse=True)[:50]
    assert client.get("/moderate/?before=garbage").status_code == 200


# Akismet feedback -----------------------------------------------------------------------------------
@pytest.fixture
def akismet_app(make_app, service_env, akismet):
    return make_app(akismet_env(service_env, akismet))


def test_spam_and_not_spam_reach_akismet_with_the_original_submission(akismet_app, akismet, slug):
    app = akismet_app
    client = logged_in(app)
    cid = post(app.test_client(), slug, author="Mallory", body="Totally normal text").json["id"]
    run_jobs(app)
    act(client, cid, "spam")
    run_jobs(app)
    [spam] = akismet.requests_to("submit-spam")
    [check] = akismet.requests_to("comment-check")
    assert spam.form == {**check.form}  # exactly what was checked, field for field
    # Akismet's own spam verdict, overruled by a moderator: submit-ham.
    sid = post(app.test_client(), slug, author="akismet-guaranteed-spam", body="Really me").json["id"]
    run_jobs(app)
    assert comment(app, sid).status == "spam"
    r = act(client, sid, "ham", fetch=True)
    assert r.json["results"][0]["status"] == "pending"
    run_jobs(app)
    [ham] = akismet.requests_to("submit-ham")
    assert ham.form["comment_author"] == "akismet-guaranteed-spam" and ham.form["comment_content"] == "Really me"
    # Approving straight from spam is a "not spam" too.
    tid = post(app.test_client(), slug, author="akismet-guaranteed-spam", body="Again").json["id"]
    run_jobs(app)
    act(client, tid, "approve")
    run_jobs(app)
    assert [r.form["comment_content"] for r in akismet.requests_to("submit-ham")] == ["Really me", "Again"]


def test_feedback_is_retried_while_akismet_fails_and_never_blocks(akismet_app, akismet, slug):
    from sqlalchemy import select

    from comments_service.models import Job

    app = akismet_app
    client = logged_in(app)
    cid = post(app.test_client(), slug).json["id"]
    run_jobs(app)
    akismet.set_mode("503")
    r = act(client, cid, "spam", fetch=True)
    assert r.status_code == 200 and r.json["results"][0]["status"] == "spam"  # the moderator is done
    run_jobs(app)
    with hub_of(app).sessions() as s:
        job = s.scalar(select(Job).where(Job.kind == "akismet-feedback"))
    assert job is not None and "submit-spam" in job.last_error and job.due_at > job.created
    assert len(akismet.requests_to("submit-spam")) == 1  # tried once, answered 503
    akismet.set_mode("ok")
    run_soon_jobs(app, within=3600)
    assert [r.mode for r in akismet.requests_to("submit-spam")] == ["503", "ok"]
    assert queued(app, "akismet-feedback") == []


def test_no_feedback_when_akismet_is_off(app, client, slug):
    [cid] = insert_comments(app, 1, slug)
    act(client, cid, "spam")
    assert queued(app, "akismet-feedback") == []


# Dashboard, banner, audit -------------------------------------------------------------------------------
def test_dashboard_counts_the_last_30_days(app, client, slug):
    from comments_service.models import utcnow

    today = utcnow().replace(hour=12, minute=0, second=0, microsecond=0)
    three_days_ago = today - dt.timedelta(days=3)
    insert_comments(app, 4, slug, status="published", start=three_days_ago, step=dt.timedelta(seconds=1))
    insert_comments(app, 3, slug, status="spam", akismet="spam", start=three_days_ago, step=dt.timedelta(seconds=1))
    insert_comments(app, 2, slug, status="spam", akismet="unchecked", guard_reasons=["honeypot: filled"],
                    start=today - dt.timedelta(hours=1), step=dt.timedelta(seconds=1))
    insert_comments(app, 5, slug, start=today - dt.timedelta(days=40))  # too old to count
    page = text(client.get("/moderate/"))
    totals = dict(re.findall(r'<li class="total s-(\w+)">.*?<strong>(\d+)</strong>', page))
    assert totals == {"received": "9", "published": "4", "akismet": "3", "guards": "2"}
    assert page.count('<g class="day">') == 30
    day = three_days_ago.date().isoformat()
    assert f"{day}: 7 received, 4 published, 3 caught by Akismet, 0 caught by guards" in page
    assert "<svg" in page and "polyline" in page


@pytest.mark.parametrize("stored,expected", [
    ({}, None),
    ({"state": "ok"}, None),
    ({"state": "failing", "last_error": "Akismet unreachable: 503", "last_error_at": "2026-01-01T10:00:00+00:00"},
     "Akismet is not answering"),
    ({"state": "invalid_key", "last_error": "rejected"}, "Akismet rejects the key"),
])
def test_banner_says_when_akismet_is_failing_or_the_key_is_invalid(akismet_app, slug, stored, expected):
    from comments_service import service_state as state

    app = akismet_app
    if stored:
        with hub_of(app).transaction() as s:
            state.put(s, "akismet", **stored)
    page = text(logged_in(app).get("/moderate/"))
    if expected is None:
        assert 'class="banner' not in page
    else:
        assert expected in page and 'role="alert"' in page
    if stored.get("last_error"):
        assert stored["last_error"] in page


def test_banner_when_akismet_is_off(client):
    page = text(client.get("/moderate/"))
    assert "Akismet is off" in page and "PYTHON_AKISMET_API_KEY" in page


def test_audit_log_is_shown_with_the_comment_and_on_its_own_page(app, client, slug):
    [cid] = insert_comments(app, 1, slug)
    act(client, cid, "approve")
    act(client, cid, "spam")
    page = text(client.get(f"/moderate/comments/{cid}"))
    assert "Audit log (2)" in page
    assert re.search(r"mod@example.org <strong>approve</strong> pending → published", page)
    assert re.search(r"mod@example.org <strong>spam</strong> published → spam", page)
    log = text(client.get("/moderate/audit"))
    assert log.count(f"#{cid}</a>") == 2
    act(client, cid, "delete")
    assert "deleted" in text(client.get("/moderate/audit"))
    assert client.get(f"/moderate/comments/{cid}").status_code == 404


# Scope and accounts --------------------------------------------------------------------------------------
def test_author_moderator_sees_only_their_posts(app, slug):
    [own] = insert_comments(app, 1, slug)
    [other] = insert_comments(app, 1, OTHER_SLUG)
    client = logged_in(app, "alan@example.org", role="moderator", author_slug="alan-whitaker")
    page = text(client.get("/moderate/"))
    assert cards(page) == [own] and re.search(r'data-count="pending">1<', page)
    assert client.get(f"/moderate/comments/{other}").status_code == 404
    assert act(client, other, "approve", fetch=True).status_code == 404
    bulk(client, [own, other], "approve")
    assert comment(app, own).status == "published" and comment(app, other).status == "pending"
    assert client.get("/moderate/team").status_code == 403


def test_account_settings_and_password_change(app, client):
    from comments_service.moderation.models import Moderator

    token = csrf_token(client, "/moderate/account")
    r = client.post("/moderate/account", data={"csrf_token": token, "form": "notify", "notify": "digest"})
    assert r.status_code == 303
    with hub_of(app).sessions() as s:
        assert s.query(Moderator).one().notify == "digest"
    other_session = app.test_client()
    login(other_session)
    r = client.post("/moderate/account", data={"csrf_token": token, "form": "password", "password": PASSWORD,
                                               "new_password": "a brand new secret",
                                               "confirm_password": "a brand new secret"})
    assert r.status_code == 303
    assert client.get("/moderate/").status_code == 200  # this session goes on
    assert other_session.get("/moderate/").status_code == 302  # every other one ends
    login(app.test_client(), password="a brand new secret")


def test_admins_manage_the_team(app, client):
    token = csrf_token(client, "/moderate/team")
    r = client.post("/moderate/team", data={"csrf_token": token, "form": "add", "email": "new@example.org",
                                            "password": "long enough pw", "role": "moderator",
                                            "author_slug": "dana-okafor"})
    assert r.status_code == 303
    newbie = app.test_client()
    login(newbie, "new@example.org", "long enough pw")
    assert newbie.get("/moderate/team").status_code == 403
    from comments_service.moderation.models import Moderator

    with hub_of(app).sessions() as s:
        new_id = s.query(Moderator).filter_by(email="new@example.org").one().id
    client.post("/moderate/team", data={"csrf_token": token, "form": "disable", "id": new_id})
    assert newbie.get("/moderate/").status_code == 302
    r = client.post("/moderate/team", data={"csrf_token": token, "form": "add", "email": "new@example.org",
                                            "password": "long enough pw", "role": "moderator"})
    assert r.status_code == 400 and "already a moderator" in text(r)


def test_an_author_with_no_posts_sees_an_empty_queue(app, slug):
    insert_comments(app, 2, slug)
    client = logged_in(app, "nobody@example.org", role="moderator", author_slug="no-such-author")
    page = text(client.get("/moderate/"))
    assert cards(page) == [] and re.search(r'data-count="pending">0<', page)


def test_nul_characters_are_refused_plainly(app, client, slug):
    insert_comments(app, 1, slug)
    assert client.get("/moderate/?q=a%00b").status_code == 400
    token = csrf_token(client, "/moderate/team")
    r = client.post("/moderate/team", data={"csrf_token": token, "form": "add", "email": "x\x00@example.org",
                                            "password": "long enough pw", "role": "moderator"})
    assert r.status_code == 400
    anonymous = app.test_client()
    r = anonymous.post("/moderate/login", data={"csrf_token": csrf_token(anonymous), "email": "a\x00@b.org",
                                                "password": "x"})
    assert r.status_code == 400
    assert client.get("/moderate/").status_code == 200


def test_ids_too_big_for_the_database_are_refused_plainly(app, client, slug):
    """Found by review: a page link or team form with an id past 64 bits gave 500 (SQLite's OverflowError)."""
    insert_comments(app, 3, slug)
    huge = "9" * 20
    for cursor in ("after", "before"):  # a page link no page made: the first page, as for any such link
        r = client.get(f"/moderate/?{cursor}=20261201T000000.000000_{huge}")
        assert r.status_code == 200 and len(cards(text(r))) == 3
    assert client.get(f"/moderate/audit?before={huge}").status_code == 200
    assert client.get(f"/moderate/comments/{huge}").status_code == 404
    token = csrf_token(client, "/moderate/team")
    for form in ("disable", "enable", "role"):
        r = client.post("/moderate/team", data={"csrf_token": token, "form": form, "id": huge, "role": "admin"})
        assert r.status_code == 400 and "No such moderator." in text(r), form
    r = client.post("/moderate/bulk", data={"csrf_token": token, "action": "approve", "ids": [huge, "-1"]},
                    headers={"X-Requested-With": "fetch"})
    assert r.status_code == 200 and r.json["results"] == []
    assert act(client, int(huge), "approve", fetch=True).status_code == 404

def test_the_dashboard_follows_the_moderators_actions(app, client, slug):
    a, b = insert_comments(app, 2, slug)

    def published_today():
        page = text(client.get("/moderate/"))
        return int(re.search(r'<li class="total s-published">.*?<strong>(\d+)</strong>', page).group(1))

    assert published_today() == 0
    act(client, a, "approve")
    assert published_today() == 1
    bulk(client, [b], "approve", fetch=True)
    assert published_today() == 2


def test_article_titles_are_shown_as_text(make_app, service_env, site_dir, slug):
    """The manifest holds a title as HTML ("Tips &amp; ..."): shown once escaped, never "&amp;amp;",
    and as text in emails."""
    import json

    from comments_service.moderation.notify import article_title
    from hubbub.core.manifest import manifest_path

    path = manifest_path(site_dir / "output")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["threads"][slug]["title"] = "Tips &amp; <em>Tricks</em>"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    app = make_app(service_env)
    pending = insert_comments(app, 1, slug)[0]
    client = logged_in(app)
    for page in (text(client.get("/moderate/")), text(client.get(f"/moderate/comments/{pending}/edit"))):
        assert "Tips &amp; Tricks</a>" in page and "&amp;amp;" not in page and "&lt;em&gt;" not in page
    assert article_title(hub_of(app), slug) == "Tips & Tricks"
