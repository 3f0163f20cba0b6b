"""Accepting comments: validation, storage on SQLite and PostgreSQL, the form flow, reading."""

from __future__ import annotations

import json
import re

import pytest
from service_helpers import GOOD, comment, comments, post, run_jobs, set_status


@pytest.fixture
def app(make_app, service_env):
    return make_app(service_env)


@pytest.fixture
def client(app):
    return app.test_client()


def test_json_comment_is_stored_with_everything_before_any_check(app, client, slug):
    r = post(client, slug)
    assert r.status_code == 202
    assert r.json["status"] == "pending"
    c = comment(app, r.json["id"])
    assert (c.thread, c.author, c.email, c.url) == (slug, GOOD["author"], GOOD["email"], GOOD["url"])
    assert c.body == GOOD["body"]
    assert c.html == "<p>Great post about <strong>networking</strong>.</p>"
    assert c.remote_addr == "127.0.0.1"
    assert c.user_agent == "pytest-browser/1.0"
    assert c.referrer == "http://127.0.0.1:8000/"
    assert (c.status, c.akismet, c.guard_reasons) == ("pending", "unchecked", [])
    assert c.created.tzinfo is not None


def test_unknown_thread_is_404_and_nothing_is_stored(app, client):
    r = post(client, "no-such-article")
    assert r.status_code == 404
    assert "no-such-article" in r.json["error"]
    r = post(client, "..%2F..%2Fpelicanconf")
    assert r.status_code == 404
    assert comments(app) == []


@pytest.mark.parametrize("fields, bad", [
    ({"author": ""}, "author"),
    ({"author": "x" * 101}, "author"),
    ({"body": "   "}, "body"),
    ({"body": "x" * 10_001}, "body"),
    ({"email": ""}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": "ftp://example.org"}, "url"),
    ({"author": 42}, "author"),
    ({"parent": "abc"}, "parent"),
    ({"parent": 10**12}, "parent"),
    ({"colour": "blue"}, "colour"),
])
def test_invalid_fields_get_field_errors(app, client, slug, fields, bad):
    r = post(client, slug, **fields)
    assert r.status_code == 400
    assert bad in r.json["fields"], r.json
    assert r.json["error"]
    assert comments(app) == []


def test_parent_must_be_a_published_comment_of_the_same_thread(app, client, slug):
    first = post(client, slug).json["id"]
    r = post(client, slug, parent=first)  # still pending
    assert r.status_code == 400 and "parent" in r.json["fields"]
    set_status(app, first, "published")
    run_jobs(app)
    other = "email-lists-are-built-on-permission"
    assert post(client, other, parent=first).status_code == 400
    r = post(client, slug, parent=first)
    assert r.status_code == 202
    assert comment(app, r.json["id"]).parent_id == first


def test_malformed_bodies_get_clear_errors(app, client, slug):
    url = f"/api/threads/{slug}/comments"
    r = client.post(url, data="{not json", content_type="application/json")
    assert r.status_code == 400 and "JSON" in r.json["error"]
    r = client.post(url, data=b"\xff\xfe{}", content_type="application/json")
    assert r.status_code == 400 and "UTF-8" in r.json["error"]
    r = client.post(url, data="[1, 2]", content_type="application/json")
    assert r.status_code == 400
    r = client.post(url, data="hello", content_type="text/plain")
    assert r.status_code == 415 and "application/json" in r.json["error"]
    r = client.post(url, data=json.dumps({**GOOD, "body": "x" * 300_000}), content_type="application/json")
    assert r.status_code == 413 and r.json["error"]
    assert comments(app) == []


def test_form_post_redirects_back_to_the_article_with_a_marker(app, client, slug):
    r = client.post(f"/api/threads/{slug}/comments", data={**GOOD, "contact_me_by_fax_only": "", "notify": "1"})
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/posts/{slug}/#comment-pending")
    [c] = comments(app)
    assert c.notify is True and c.source == "form"


def test_form_post_with_errors_comes_back_with_what_was_typed(app, client, slug):
    typed = {**GOOD, "email": "broken", "body": "My <b>thoughts</b> & more"}
    r = client.post(f"/api/threads/{slug}/comments", data=typed)
    assert r.status_code == 400
    page = r.get_data(as_text=True)
    assert "This does not look like an email address" in page
    assert 'value="broken"' in page
    assert "My &lt;b&gt;thoughts&lt;/b&gt; &amp; more" in page  # kept, and escaped
    assert 'aria-invalid="true"' in page
    assert comments(app) == []


def test_form_errors_are_listed_in_the_forms_order(app, client, slug):
    r = client.post(f"/api/threads/{slug}/comments", data={"author": "", "email": "", "body": "", "parent": "999"})
    page = r.get_data(as_text=True)
    summary = page[page.index('role="alert"'):page.index("</ul>")]
    labels = re.findall(r"<li>(?:<a href=\"#comment-(\w+)\">)?([^<:]+)", summary)
    assert [label for _anchor, label in labels] == ["Comment", "Name", "Email"], summary
    r = client.post(f"/api/threads/{slug}/comments", data={**GOOD, "parent": "999"})  # gone meanwhile
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "<li>In reply to: " in page
    assert "#comment-parent" not in page  # not a field the reader can fix here: named, not linked


def test_a_form_sent_to_an_article_the_site_no_longer_has_gets_its_text_back(app, client):
    r = client.post("/api/threads/gone-since/comments", data={**GOOD, "body": "Kept <words>"})
    page = r.get_data(as_text=True)
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert "Your comment was not sent" in page and "gone-since" in page
    assert "Kept &lt;words&gt;</textarea>" in page
    assert client.post("/api/threads/gone-since/comments", json=GOOD).is_json  # the API answers JSON


def test_a_reply_without_javascript_goes_through_the_comments_own_form(app, client, slug, site_dir):
    """A comment's Reply link (comments.js fills the page's form instead) leads to a form of the
    service whose reply is set: the reply is threaded, not a new top-level comment."""
    parent = post(client, slug, author="Bob <b>Reader</b>").json["id"]
    set_status(app, parent, "published")
    run_jobs(app)
    built = (site_dir / "output" / "posts" / slug / "index.html").read_text(encoding="utf-8")
    link = f"/api/threads/{slug}/comments/{parent}/reply"
    assert f'class="comment-reply" href="{link}"' in built
    r = client.get(link)
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and r.mimetype == "text/html"
    assert "Replying to Bob &lt;b&gt;Reader&lt;/b&gt;" in page and "<b>Reader" not in page
    assert f'name="parent" value="{parent}"' in page and f'action="/api/threads/{slug}/comments"' in page
    # This service has neither Akismet nor email: its form does not say otherwise.
    assert "Akismet" not in page and 'name="notify"' not in page and 'name="subscribe"' not in page
    r = client.post(f"/api/threads/{slug}/comments", data={**GOOD, "parent": str(parent), "body": "A reply"})
    assert r.status_code == 303
    [reply] = [c for c in comments(app) if c.body == "A reply"]
    assert reply.parent_id == parent
    # A comment gone since the page was built: the article's own form; an unknown article: a page.
    assert client.get(f"/api/threads/{slug}/comments/999/reply").status_code == 303
    assert client.get("/api/threads/gone-since/comments/1/reply").status_code == 404


def test_reading_a_thread_shows_published_comments_only_and_never_emails(app, client, slug):
    ids = [post(client, slug, body=f"comment {n}").json["id"] for n in range(3)]
    set_status(app, ids[0], "published")
    set_status(app, ids[2], "published")
    assert run_jobs(app) >= 1
    r = client.get(f"/api/threads/{slug}/comments")
    assert r.status_code == 200
    assert r.json["thread"] == slug
    assert [c["id"] for c in r.json["comments"]] == [ids[0], ids[2]]
    assert set(r.json["comments"][0]) == {"id", "parent", "author", "url", "html", "created"}
    assert "ada@example.org" not in r.get_data(as_text=True)
    assert "127.0.0.1" not in r.get_data(as_text=True)
    assert "max-age" in r.headers["Cache-Control"]
    again = client.get(f"/api/threads/{slug}/comments", headers={"If-None-Match": r.headers["ETag"]})
    assert again.status_code == 304
    assert client.get("/api/threads/nope/comments").status_code == 404


def test_health_reports_database_queue_and_akismet(app, client):
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json["status"] == "ok"
    assert r.json["database"]["state"] == "ok"
    assert r.json["queue"]["mode"] == "in-process"
    assert r.json["akismet"]["state"] == "off"
    assert r.json["threads"]["count"] >= 8


def test_without_akismet_every_comment_is_held_unchecked(app, client, slug):
    ids = [post(client, slug).json["id"] for _ in range(2)]
    set_status(app, ids[0], "published")  # a returning commenter is still held without Akismet
    third = post(client, slug).json["id"]
    run_jobs(app)
    c = comment(app, third)
    assert (c.status, c.akismet) == ("pending", "unchecked")


def test_api_errors_are_json_everywhere_under_api(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.is_json
    r = client.delete("/api/health")
    assert r.status_code == 405 and r.is_json


def test_openapi_description_is_served(client):
    r = client.get("/api/openapi.json")
    assert r.status_code == 200
    spec = r.json
    assert spec["openapi"].startswith("3.")
    assert "/api/threads/{slug}/comments" in spec["paths"]


def test_the_longest_comment_in_any_script_fits_however_it_is_sent(app, client, slug):
    """10,000 characters is the limit whatever they are: four-byte characters take 12 bytes each
    percent-encoded by a form, or as a JSON surrogate pair, and still fit the default body limit."""
    from urllib.parse import urlencode

    body = "😀" * 9_990 + "阿" * 10
    url = f"/api/threads/{slug}/comments"
    form = urlencode({**GOOD, "body": body}).encode()
    r = client.post(url, data=form, content_type="application/x-www-form-urlencoded")
    assert len(form) > 120_000 and r.status_code == 303, r.data[:300]
    escaped = json.dumps({**GOOD, "body": body}, ensure_ascii=True)
    r = client.post(url, data=escaped, content_type="application/json")
    assert len(escaped) > 120_000 and r.status_code == 202, r.json
    assert [c.body for c in comments(app)] == [body, body]


def test_a_forms_line_breaks_count_once_as_the_browser_counts_them(app, client, slug):
    """A textarea's maxlength counts a line break once; the form sends it as CRLF."""
    typed = ("a" * 99 + "\n") * 100  # 10,000 characters in the browser
    r = client.post(f"/api/threads/{slug}/comments", data={**GOOD, "body": typed.replace("\n", "\r\n")})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    assert [c.body for c in comments(app)] == [typed.strip()]


def test_a_name_is_one_line_whatever_was_sent(app, client, slug):
    """A name goes into email subjects, where a line break is refused (the notification would fail)."""
    from service_helpers import hub_of

    from comments_service.moderation.notify import message

    r = post(client, slug, author="Mallory\r\nBcc: victim@example.org\t x")
    assert r.status_code == 202, r.json
    author = comment(app, r.json["id"]).author
    assert author == "Mallory Bcc: victim@example.org x"
    assert message(hub_of(app), "a@example.org", f"{author} replied", "text")["Bcc"] is None


def test_a_form_past_the_body_limit_gets_the_form_page(app, client, slug):
    """A reader without JavaScript is not shown JSON: the form again, saying what to do."""
    r = client.post(f"/api/threads/{slug}/comments", data={**GOOD, "body": "x" * 300_000})
    assert r.status_code == 413 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "at most 10,000 characters" in page and "<form" in page and 'name="body"' in page
    assert "was not sent." in page and "what you typed is kept" not in page  # none of it was read
    assert comments(app) == []
