"""The moderation API (CONTRACT.md) with bearer tokens, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from moderation_helpers import (
    add_moderator,
    audit,
    fast_password_hashing,
    insert_comments,
    make_token,
    published_ids,
    queued,
    run_soon_jobs,
)
from service_helpers import akismet_env, comment, hub_of, post, run_jobs

OTHER_SLUG = "email-lists-are-built-on-permission"  # by Priya Raman; `slug` is Alan Whitaker's


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    fast_password_hashing(monkeypatch)

@pytest.fixture
def app(make_app, service_env):
    app = make_app(service_env)
    add_moderator(app)
    return app


@pytest.fixture
def token(app):
    return make_token(app)[1]


def api(client, token, path, method="get", **kw):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return getattr(client, method)(f"/api/moderation{path}", headers=headers, **kw)


def test_every_route_refuses_a_missing_or_wrong_token(app, token, slug):
    client = app.test_client()
    [cid] = insert_comments(app, 1, slug)
    for bad in (None, "hbb_wrong", token + "x", ""):
        for method, path in (("get", "/comments"), ("post", f"/comments/{cid}/approve")):
            r = api(client, bad, path, method)
            assert r.status_code == 401, (bad, path)
            assert r.is_json and "hubbub token create" in r.json["error"]
            assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = client.get("/api/moderation/comments", headers={"Authorization": f"Basic {token}"})
    assert r.status_code == 401
    assert comment(app, cid).status == "pending"
    # The right token works.
    assert api(client, token, "/comments").status_code == 200


def test_revoked_tokens_and_disabled_moderators_are_refused(app, slug):
    client = app.test_client()
    token_id, token = make_token(app)
    assert api(client, token, "/comments").status_code == 200
    from comments_service.models import utcnow
    from comments_service.moderation.models import ApiToken, Moderator

    with hub_of(app).transaction() as s:
        s.get(ApiToken, token_id).revoked = utcnow()
    assert api(client, token, "/comments").status_code == 401

    _, second = make_token(app, name="second")
    assert api(client, second, "/comments").status_code == 200
    with hub_of(app).transaction() as s:
        s.query(Moderator).one().disabled = True
    assert api(client, second, "/comments").status_code == 401


def test_tokens_are_stored_hashed_and_last_use_is_recorded(app, token):
    from comments_service.moderation.models import ApiToken

    api(app.test_client(), token, "/comments")
    with hub_of(app).sessions() as s:
        row = s.query(ApiToken).one()
    assert token not in (row.token_hash, row.prefix) and len(row.token_hash) == 64
    assert token.startswith(row.prefix) and row.last_used is not None


def test_list_is_newest_first_with_the_contract_fields(app, token, slug):
    client = app.test_client()
    first = post(client, slug, body="first *one*").json["id"]
    second = post(client, slug, body="second", url="").json["id"]
    r = api(client, token, "/comments")
    assert r.status_code == 200
    body = r.json
    assert body["total"] == 2
    assert [c["id"] for c in body["comments"]] == [second, first]
    c = body["comments"][1]
    for name in ("id", "thread", "status", "author", "email", "url", "ip", "body", "akismet", "created",
                 "parent", "html", "guard_reasons"):
        assert name in c, name
    assert (c["thread"], c["status"], c["email"], c["ip"], c["akismet"]) == (
        slug, "pending", "ada@example.org", "127.0.0.1", "unchecked")
    assert c["body"] == "first *one*" and c["html"] == "<p>first <em>one</em></p>"
    assert dt.datetime.fromisoformat(c["created"]).tzinfo is not None
    assert c["parent"] is None and c["guard_reasons"] == []


def test_status_filter_limit_offset_and_total(app, token, slug):
    client = app.test_client()
    pending = insert_comments(app, 120, slug)
    insert_comments(app, 3, slug, status="spam")
    r = api(client, token, "/comments")
    assert r.json["total"] == 120 and len(r.json["comments"]) == 50  # default limit
    assert r.json["comments"][0]["id"] == pending[-1]
    r = api(client, token, "/comments?limit=500")
    assert len(r.json["comments"]) == 120
    r = api(client, token, "/comments?limit=30&offset=100")
    assert [c["id"] for c in r.json["comments"]] == list(reversed(pending[:20]))
    # Pages put together are the whole queue, each comment once.
    seen = []
    for offset in range(0, 120, 45):
        seen += [c["id"] for c in api(client, token, f"/comments?limit=45&offset={offset}").json["comments"]]
    assert sorted(seen) == sorted(pending)
    r = api(client, token, "/comments?status=spam")
    assert r.json["total"] == 3 and {c["status"] for c in r.json["comments"]} == {"spam"}
    for bad in ("limit=501", "limit=0", "limit=x", "offset=-1", "status=deleted"):
        r = api(client, token, f"/comments?{bad}")
        assert r.status_code == 400 and r.json["fields"], bad


def test_search_parameter(app, token, slug):
    client = app.test_client()
    post(client, slug, author="Grace", email="grace@example.net", body="About compilers")
    post(client, slug, body="Something else")
    r = api(client, token, "/comments?q=compilers")
    assert [c["author"] for c in r.json["comments"]] == ["Grace"] and r.json["total"] == 1
    assert api(client, token, "/comments?q=email:grace@").json["total"] == 1
    assert api(client, token, "/comments?q=100%25").json["total"] == 0  # % is text, not a wildcard


def test_actions_change_status_publish_and_audit(app, token, slug):
    client = app.test_client()
    cid = post(client, slug, body="Worth *publishing*").json["id"]
    r = api(client, token, f"/comments/{cid}/approve", "post")
    assert r.status_code == 200 and r.json["id"] == cid and r.json["status"] == "published"
    assert comment(app, cid).published_at is not None
    assert queued(app, "publish") == [slug]
    run_soon_jobs(app)
    assert published_ids(app, slug) == [cid]

    r = api(client, token, f"/comments/{cid}/reject", "post")
    assert r.json["status"] == "rejected" and comment(app, cid).published_at is None
    assert queued(app, "publish") == [slug]
    run_soon_jobs(app)
    assert published_ids(app, slug) == []

    entries = audit(app, cid)
    assert [(e.action, e.from_status, e.to_status) for e in entries] == [
        ("approve", "pending", "published"), ("reject", "published", "rejected")]
    assert entries[0].moderator == "mod@example.org" and entries[0].detail["via"] == "api:test"

    r = api(client, token, f"/comments/{cid}/delete", "post")
    assert r.status_code == 200 and r.json == {"id": cid, "status": "deleted", "changed": True}
    assert comment(app, cid) is None
    assert audit(app, cid)[-1].action == "delete"  # the history outlives the comment


def test_unknown_comment_or_action_is_404(app, token, slug):
    client = app.test_client()
    [cid] = insert_comments(app, 1, slug)
    assert api(client, token, "/comments/99999/approve", "post").status_code == 404
    assert api(client, token, f"/comments/{2**40}/approve", "post").status_code == 404
    assert api(client, token, f"/comments/{cid}/publish-everything", "post").status_code == 404
    assert api(client, token, "/comments/abc/approve", "post").status_code == 404
    assert comment(app, cid).status == "pending"


def test_edit_re_renders_and_sanitises(app, token, slug):
    client = app.test_client()
    cid = post(client, slug, body="Original").json["id"]
    r = api(client, token, f"/comments/{cid}/edit", "post",
            json={"body": "Fixed <script>alert(1)</script> [link](javascript:alert(1))"})
    assert r.status_code == 200 and r.json["changed"]
    c = comment(app, cid)
    assert "<script" not in c.html and "javascript:" not in c.html and "&lt;script&gt;" in c.html
    assert audit(app, cid)[-1].detail["before"] == {"body": "Original"}
    r = api(client, token, f"/comments/{cid}/edit", "post", json={"body": "  "})
    assert r.status_code == 400 and "body" in r.json["fields"]
    r = api(client, token, f"/comments/{cid}/edit", "post", data='{"author": "x\\ud800"}',
            content_type="application/json")
    assert r.status_code == 400 and "author" in r.json["fields"]
    r = api(client, token, f"/comments/{cid}/edit", "post", json=["not", "an", "object"])
    assert r.status_code == 400
    # A misspelt field is an error naming it, not a silent "changed: false".
    r = api(client, token, f"/comments/{cid}/edit", "post", json={"text": "New words"})
    assert r.status_code == 400 and set(r.json["fields"]) == {"text"}
    assert comment(app, cid).body.startswith("Fixed")


def test_author_moderator_sees_and_acts_on_own_posts_only(app, slug):
    add_moderator(app, "alan@example.org", role="moderator", author_slug="Alan Whitaker")
    _, token = make_token(app, "alan@example.org")
    client = app.test_client()
    [own] = insert_comments(app, 1, slug)
    [other] = insert_comments(app, 1, OTHER_SLUG)
    r = api(client, token, "/comments")
    assert [c["id"] for c in r.json["comments"]] == [own] and r.json["total"] == 1
    assert api(client, token, f"/comments/{other}/approve", "post").status_code == 404
    assert comment(app, other).status == "pending"
    assert api(client, token, f"/comments/{own}/approve", "post").json["status"] == "published"


def test_spam_and_ham_send_feedback_to_akismet_in_the_background(make_app, service_env, akismet, slug):
    app = make_app(akismet_env(service_env, akismet))
    add_moderator(app)
    _, token = make_token(app)
    client = app.test_client()
    cid = post(client, slug, author="Eve", body="Buy cheap things", url="https://eve.example").json["id"]
    run_jobs(app)  # Akismet says ham: pending
    # An edit by a moderator must not change what Akismet learns: it wants the original.
    api(client, token, f"/comments/{cid}/edit", "post", json={"body": "[edited by moderator]"})
    r = api(client, token, f"/comments/{cid}/spam", "post")
    assert r.json["status"] == "spam"
    assert akismet.requests_to("submit-spam") == []  # not sent in the request
    run_jobs(app)
    [sent] = akismet.requests_to("submit-spam")
    [checked] = akismet.requests_to("comment-check")
    for name in ("comment_content", "comment_author", "comment_author_email", "comment_author_url", "user_ip",
                 "user_agent", "referrer", "permalink", "comment_type", "comment_date_gmt", "blog"):
        assert sent.form.get(name) == checked.form.get(name), name
    assert sent.form["comment_content"] == "Buy cheap things"

    r = api(client, token, f"/comments/{cid}/ham", "post")
    assert r.json["status"] == "pending"
    run_jobs(app)
    [ham] = akismet.requests_to("submit-ham")
    assert ham.form["comment_author"] == "Eve" and ham.form["user_ip"] == "127.0.0.1"


def test_search_with_a_nul_is_a_clear_400(app, token):
    r = api(app.test_client(), token, "/comments?q=a%00b")
    assert r.status_code == 400 and "q" in r.json["fields"]
