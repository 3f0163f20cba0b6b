"""Commenters fix their own words: the edit token of the 202 answer, PATCH and DELETE inside and
outside the window, wrong tokens, replies, and an edit that goes through markup, the local guards
and Akismet again (the stand-in) before the fast publisher puts it on the page. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from moderation_helpers import add_moderator, audit, fast_password_hashing, login, published_ids
from publish_helpers import section
from service_helpers import akismet_env, comment, comments, hub_of, post, run_jobs, set_status

SLUG = "social-media-and-network-marketing"
PAGE = f"posts/{SLUG}/index.html"


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    fast_password_hashing(monkeypatch)


@pytest.fixture
def app(make_app, service_env, akismet):
    return make_app(akismet_env(service_env, akismet))


def page(app) -> str:
    return section((hub_of(app).config.output_dir / PAGE).read_text(encoding="utf-8"), SLUG)


def patch(client, comment_id: int, token, body: str = "Second thoughts, better put.", slug: str = SLUG):
    return client.patch(f"/api/threads/{slug}/comments/{comment_id}", json={"body": body, "edit_token": token})


def delete(client, comment_id: int, token, slug: str = SLUG):
    return client.delete(f"/api/threads/{slug}/comments/{comment_id}", json={"edit_token": token})


def age(app, comment_id: int, **delta) -> None:
    from comments_service.models import Comment

    with hub_of(app).transaction() as s:
        c = s.get(Comment, comment_id)
        c.created = c.created - dt.timedelta(**delta)


def published(app, **fields) -> dict:
    """A comment posted, checked by Akismet and approved: on the page."""
    answer = post(app.test_client(), SLUG, **fields).json
    run_jobs(app)
    set_status(app, answer["id"], "published")
    run_jobs(app)
    assert answer["id"] in published_ids(app, SLUG)
    return answer


def test_the_202_carries_a_token_kept_only_as_a_hash(app):
    before = dt.datetime.now(dt.UTC)
    r = post(app.test_client(), SLUG)
    assert r.status_code == 202 and set(r.json) == {"id", "status", "edit_token", "editable_until"}
    until = dt.datetime.fromisoformat(r.json["editable_until"])
    assert dt.timedelta(minutes=14) < until - before <= dt.timedelta(minutes=15, seconds=1)
    stored = comment(app, r.json["id"])
    assert stored.edit_token_hash == hashlib.sha256(r.json["edit_token"].encode()).hexdigest()
    assert r.json["edit_token"] not in repr(vars(stored))


def test_editing_a_pending_comment_renders_sanitises_and_checks_again(app, akismet):
    client = app.test_client()
    answer = post(client, SLUG, body="Frist!").json
    run_jobs(app)
    assert comment(app, answer["id"]).akismet == "ham"
    r = patch(client, answer["id"], answer["edit_token"], body="First, and *bold* <script>alert(1)</script>")
    assert r.status_code == 200 and r.json == {"id": answer["id"], "status": "pending"}
    c = comment(app, answer["id"])
    assert c.body.startswith("First, and") and "<em>bold</em>" in c.html and "<script>" not in c.html
    assert c.akismet == "unchecked"
    run_jobs(app)
    checks = akismet.requests_to("comment-check")
    assert checks[-1].get("recheck_reason") == "edit" and checks[-1].get("comment_content").startswith("First")
    assert comment(app, answer["id"]).akismet == "ham" and comment(app, answer["id"]).status == "pending"
    [entry] = audit(app, answer["id"])
    assert (entry.moderator, entry.action, entry.detail["before"]["body"]) == ("commenter", "edit", "Frist!")
    # The same text again changes nothing and asks Akismet nothing.
    assert patch(client, answer["id"], answer["edit_token"], body=c.body).status_code == 200
    run_jobs(app)
    assert len(akismet.requests_to("comment-check")) == len(checks) and len(audit(app, answer["id"])) == 1


def test_a_clean_edit_of_a_published_comment_goes_live_after_its_check(app, akismet):
    answer = published(app, body="The old words.")
    r = patch(app.test_client(), answer["id"], answer["edit_token"], body="The **new** words.")
    assert r.status_code == 200 and r.json["status"] == "published"
    # Until Akismet has answered, the page (and the public API) keep the old text.
    assert "The old words." in page(app)
    api = app.test_client().get(f"/api/threads/{SLUG}/comments").json["comments"]
    assert [c["html"] for c in api if c["id"] == answer["id"]] == ["<p>The old words.</p>"]
    run_jobs(app)
    html = page(app)
    assert "The <strong>new</strong> words." in html and "The old words." not in html
    c = comment(app, answer["id"])
    assert (c.status, c.akismet, c.published_html) == ("published", "ham", None)
    assert akismet.requests_to("comment-check")[-1].get("recheck_reason") == "edit"
    assert [(e.action, e.from_status, e.to_status) for e in audit(app, answer["id"])] == \
        [("edit", "published", "published")]


def test_an_edit_that_turns_into_spam_leaves_the_page(app):
    answer = published(app, body="Innocent at first.")
    r = patch(app.test_client(), answer["id"], answer["edit_token"], body="Buy now! akismet-guaranteed-spam")
    assert r.status_code == 200  # the writer learns nothing more
    run_jobs(app)
    c = comment(app, answer["id"])
    assert (c.status, c.akismet, c.published_at) == ("spam", "spam", None)
    assert answer["id"] not in published_ids(app, SLUG) and "Innocent at first." not in page(app)


def test_a_suspicious_edit_goes_back_to_the_queue(app, site_dir):
    answer = published(app, body="One link is fine.")
    many = " ".join(f"[l{n}](https://spam{n}.example/)" for n in range(5))
    r = patch(app.test_client(), answer["id"], answer["edit_token"], body=f"Now with links: {many}")
    assert r.status_code == 200 and r.json["status"] == "pending"
    run_jobs(app)
    c = comment(app, answer["id"])
    assert c.status == "pending" and any(reason.startswith("links:") for reason in c.guard_reasons)
    assert answer["id"] not in published_ids(app, SLUG)
    # A word from the blocklist makes it spam at once, without asking Akismet.
    other = published(app, body="Fine words.")
    (site_dir / "comment-blocklist.txt").write_text("casino\n", encoding="utf-8")
    assert patch(app.test_client(), other["id"], other["edit_token"], body="Visit my casino").status_code == 200
    run_jobs(app)
    assert comment(app, other["id"]).status == "spam" and other["id"] not in published_ids(app, SLUG)


def test_without_akismet_a_published_edit_waits_for_a_moderator(make_app, service_env):
    app = make_app(service_env)  # Akismet off: nothing vouches for the new text
    answer = post(app.test_client(), SLUG).json
    set_status(app, answer["id"], "published")
    run_jobs(app)
    assert patch(app.test_client(), answer["id"], answer["edit_token"]).json["status"] == "pending"
    run_jobs(app)
    assert comment(app, answer["id"]).status == "pending" and answer["id"] not in published_ids(app, SLUG)


def test_spam_can_be_edited_and_stays_spam(app):
    answer = post(app.test_client(), SLUG, author="akismet-guaranteed-spam").json
    run_jobs(app)
    assert comment(app, answer["id"]).status == "spam"
    r = patch(app.test_client(), answer["id"], answer["edit_token"], body="Now I look harmless")
    assert r.status_code == 200 and r.json["status"] == "pending"  # as any pending comment would
    run_jobs(app)
    assert comment(app, answer["id"]).status == "spam"


def test_wrong_tokens_and_wrong_addresses(app):
    client = app.test_client()
    mine = post(client, SLUG).json
    theirs = post(client, SLUG).json
    for token in ("", "x" * 43, theirs["edit_token"], None, 12, "y" * 5000):
        assert patch(client, mine["id"], token).status_code == 403, token
        assert delete(client, mine["id"], token).status_code == 403, token
    assert "wrong or has expired" in patch(client, mine["id"], "nope").json["error"]
    assert patch(client, 999_999, mine["edit_token"]).status_code == 404
    assert patch(client, mine["id"], mine["edit_token"], slug="email-lists-are-built-on-permission").status_code == 404
    assert patch(client, mine["id"], mine["edit_token"], slug="no-such-article").status_code == 404
    # Bad requests say what to send.
    r = client.patch(f"/api/threads/{SLUG}/comments/{mine['id']}", json={"body": "", "edit_token": mine["edit_token"]})
    assert r.status_code == 400 and "body" in r.json["fields"]
    r = client.patch(f"/api/threads/{SLUG}/comments/{mine['id']}",
                     json={"body": "x", "edit_token": mine["edit_token"], "author": "Someone Else"})
    assert r.status_code == 400 and "author" in r.json["fields"]
    r = client.patch(f"/api/threads/{SLUG}/comments/{mine['id']}", data={"body": "x"})
    assert r.status_code == 415
    assert client.get(f"/api/threads/{SLUG}/comments/{mine['id']}").status_code == 405
    assert comment(app, mine["id"]).body == comment(app, theirs["id"]).body  # nothing changed


def test_after_the_window_or_a_reply_the_comment_is_fixed(app):
    client = app.test_client()
    late = post(client, SLUG).json
    age(app, late["id"], minutes=16)
    r = patch(client, late["id"], late["edit_token"])
    assert r.status_code == 409 and "15 minutes" in r.json["error"]
    assert delete(client, late["id"], late["edit_token"]).status_code == 409
    # A day after the window the token is forgotten: then it is simply wrong.
    from comments_service.moderation.retention import run_retention

    age(app, late["id"], days=2)
    assert run_retention(hub_of(app))["edit_tokens_erased"] == 1
    assert comment(app, late["id"]).edit_token_hash is None
    assert patch(client, late["id"], late["edit_token"]).status_code == 403

    answered = published(app)
    reply = post(client, SLUG, parent=answered["id"], body="I disagree").json
    r = patch(client, answered["id"], answered["edit_token"])
    assert r.status_code == 409 and "replied" in r.json["error"]
    assert delete(client, answered["id"], answered["edit_token"]).status_code == 409
    # A reply a moderator threw out does not count.
    set_status(app, reply["id"], "rejected")
    assert patch(client, answered["id"], answered["edit_token"]).status_code == 200


def test_a_rejected_comment_cannot_be_changed(app):
    answer = post(app.test_client(), SLUG).json
    set_status(app, answer["id"], "rejected")
    r = patch(app.test_client(), answer["id"], answer["edit_token"])
    assert r.status_code == 409 and "moderator" in r.json["error"]


def test_deleting_takes_it_off_the_page_and_leaves_an_audit_entry(app):
    answer = published(app, body="Regrettable.")
    r = delete(app.test_client(), answer["id"], answer["edit_token"])
    assert r.status_code == 200 and r.json == {"id": answer["id"], "status": "deleted"}
    assert comment(app, answer["id"]) is None
    run_jobs(app)
    assert answer["id"] not in published_ids(app, SLUG) and "Regrettable." not in page(app)
    [entry] = audit(app, answer["id"])
    assert (entry.moderator, entry.action, entry.from_status, entry.to_status) == ("commenter", "delete", "published", None)
    assert entry.detail["excerpt"] == "Regrettable."
    assert delete(app.test_client(), answer["id"], answer["edit_token"]).status_code == 404


def test_a_moderators_edit_settles_an_edit_awaiting_its_check(app, akismet):
    from comments_service.models import Comment
    from comments_service.moderation import actions
    from comments_service.moderation.auth import find_moderator

    add_moderator(app)
    answer = published(app, body="Before.")
    akismet.set_mode("503")
    patch(app.test_client(), answer["id"], answer["edit_token"], body="After, unchecked.")
    run_jobs(app)
    assert comment(app, answer["id"]).published_html == "<p>Before.</p>" and "Before." in page(app)
    moderator = app.test_client()
    login(moderator)
    card = moderator.get(f"/moderate/comments/{answer['id']}").get_data(as_text=True)
    assert "After, unchecked." in card and "the site shows the earlier text" in card
    with hub_of(app).transaction() as s:
        actions.apply(hub_of(app), s, s.get(Comment, answer["id"]), "edit", find_moderator(s, "mod@example.org"),
                      edit={"body": "After, as the moderator put it."})
    run_jobs(app)
    assert "After, as the moderator put it." in page(app) and comment(app, answer["id"]).published_html is None


def test_the_window_is_a_setting(make_app, service_env):
    from comments_service.config import ConfigError, load_config

    app = make_app({**service_env, "HUBBUB_EDIT_WINDOW": "0"})
    r = post(app.test_client(), SLUG)
    assert r.json["edit_token"] is None and r.json["editable_until"] is None
    assert comments(app)[0].edit_token_hash is None
    assert load_config({**service_env, "HUBBUB_EDIT_WINDOW": "1h"}).edit_window == 3600
    with pytest.raises(ConfigError, match="HUBBUB_EDIT_WINDOW='soon' is not a duration: use seconds"):
        load_config({**service_env, "HUBBUB_EDIT_WINDOW": "soon"})


def test_an_edit_made_while_akismet_judges_the_old_text_is_judged_itself(app, akismet):
    """The check asks Akismet outside any transaction; an edit landing meanwhile must not inherit
    the old text's verdict."""
    from comments_service.check import check_comment

    answer = post(app.test_client(), SLUG, body="Harmless at first").json
    hub = hub_of(app)
    real_check = hub.akismet.check

    def check_then_edit(ip, arguments):
        verdict = real_check(ip, arguments)  # ham, for the old text
        r = patch(app.test_client(), answer["id"], answer["edit_token"], body="Now akismet-guaranteed-spam")
        assert r.status_code == 200
        return verdict

    hub.akismet.check = check_then_edit
    try:
        check_comment(hub, {"comment": answer["id"]})
    finally:
        hub.akismet.check = real_check
    assert comment(app, answer["id"]).akismet == "unchecked"  # the old verdict was not applied
    run_jobs(app)
    c = comment(app, answer["id"])
    assert (c.status, c.akismet) == ("spam", "spam")
