"""Receiving webmentions end to end: the real app, real sources served by local HTTP servers
(HUBBUB_WEBMENTION_ALLOW_PRIVATE=1 lets the verifier fetch 127.0.0.1), background jobs run by
the test, moderation through the API, the page and feeds in output/."""

from __future__ import annotations

import pytest
from moderation_helpers import add_moderator, make_token
from publish_helpers import section
from service_helpers import hub_of, run_jobs
from web_helpers import Route, Site, h_entry
from webmention_helpers import fixture, received, send, target_of

SLUG = "social-media-and-network-marketing"


@pytest.fixture
def env(service_env):
    return {**service_env, "HUBBUB_WEBMENTION_ALLOW_PRIVATE": "1"}


@pytest.fixture
def app(make_app, env):
    app = make_app(env)
    add_moderator(app)
    return app


@pytest.fixture
def other():
    with Site() as site:
        yield site


def moderate(app, comment_id: int, action: str):
    _, token = make_token(app, name=f"t{comment_id}{action}")
    r = app.test_client().post(f"/api/moderation/comments/{comment_id}/{action}",
                               headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.get_data(as_text=True)
    run_jobs(app)


def page(app) -> str:
    out = hub_of(app).config.output_dir
    return section((out / "posts" / SLUG / "index.html").read_text(encoding="utf-8"), SLUG)


# The endpoint's cheap checks -------------------------------------------------------------------
def test_bad_requests_get_400_with_a_reason_and_nothing_is_stored(app, other):
    client = app.test_client()
    target = target_of(app, SLUG)
    source = other.page("/post", h_entry(target))
    cases = [
        ({"target": target}, "source"),
        ({"source": source}, "target"),
        ({"source": "ftp://example.org/x", "target": target}, "source"),
        ({"source": "javascript:alert(1)", "target": target}, "source"),
        ({"source": source, "target": "mailto:someone@example.org"}, "target"),
        ({"source": target, "target": target}, "source"),
        ({"source": source, "target": "https://elsewhere.example/posts/x/"}, "target"),
        ({"source": source, "target": target.rsplit("/posts/", 1)[0] + "/about/"}, "target"),
        ({"source": "http://user:secret@example.org/p", "target": target}, "source"),
        ({"source": "http://example.org/" + "a" * 2100, "target": target}, "source"),
    ]
    for form, field in cases:
        r = client.post("/api/webmention", data=form)
        assert r.status_code == 400, (form, r.get_data(as_text=True))
        assert field in r.json["fields"] and r.json["error"], form
    r = client.post("/api/webmention", json={"source": source, "target": target})
    assert r.status_code == 415 and "form" in r.json["error"]
    assert received(app, source) == (None, None)
    assert other.requests == []  # the cheap checks fetch nothing


def test_accepted_with_a_status_url_and_verified_in_the_background(app, other):
    client = app.test_client()
    target = target_of(app, SLUG)
    source = other.page("/reply", h_entry(target))
    r = send(client, source, target)
    assert r.status_code == 202
    location = r.headers["Location"]
    assert location.startswith("http://") and "/api/webmention/" in location
    status = client.get(location).json
    assert status["status"] == "queued" and status["source"] == source and status["published"] is False
    assert other.requests == []  # nothing was fetched while the sender waited

    run_jobs(app)
    assert [r.headers.get("Accept", "").split(",")[0] for r in other.requests] == ["text/html"]
    assert "Cookie" not in other.requests[0].headers and "Authorization" not in other.requests[0].headers
    status = client.get(location).json
    assert status["status"] == "verified" and status["type"] == "reply"
    assert status["reason"] == "verified: a new mention; waiting for moderation" and status["published"] is False
    wm, comment = received(app, source)
    assert comment.kind == "webmention" and comment.status == "pending" and comment.thread == SLUG
    assert comment.author == "Alice Example" and comment.url == "https://alice.example/"
    assert comment.html == "<p>Great post, I agree.</p>" and comment.body == "Great post, I agree."
    assert comment.mention["type"] == "reply" and comment.mention["photo"] == "https://alice.example/me.jpg"
    assert comment.mention["published"] == "2026-11-20T09:30:00+00:00"
    assert comment.user_agent.startswith("Bridgy") and comment.remote_addr == "127.0.0.1"
    assert client.get("/api/webmention/" + "x" * 22).status_code == 404
    moderate(app, comment.id, "approve")
    status = client.get(location).json
    assert status["published"] is True and status["reason"] == "verified: a new mention; published"


def test_rate_limited_like_comments(make_app, env, other):
    app = make_app({**env, "HUBBUB_RATE_LIMIT": "2/minute"})
    client = app.test_client()
    target = target_of(app, SLUG)
    codes = [send(client, other.url(f"/p{i}"), target).status_code for i in range(3)]
    assert codes == [202, 202, 429]


# Types, the Bridgy reply, and the page ------------------------------------------------------------
@pytest.mark.parametrize("kind, expected", [("in-reply-to", "reply"), ("like-of", "like"), ("repost-of", "repost"),
                                            ("bookmark-of", "bookmark"), ("mention", "mention")])
def test_each_type_is_recognised(app, other, kind, expected):
    target = target_of(app, SLUG)
    source = other.page(f"/{expected}", h_entry(target, kind=kind))
    assert send(app.test_client(), source, target).status_code == 202
    run_jobs(app)
    wm, comment = received(app, source)
    assert wm.status == "verified" and comment.mention["type"] == expected
    assert bool(comment.html) == (expected in ("reply", "mention"))


def test_a_bridgy_mastodon_reply_is_moderated_then_published_sanitised_with_a_local_avatar(app, other, site_dir,
                                                                                             tmp_path):
    target = target_of(app, SLUG)
    source = other.page("/comment/mastodon/@ines/113344556677889900", fixture("bridgy-mastodon-reply.html",
                                                                             target=target))
    send(app.test_client(), source, target)
    run_jobs(app)
    wm, comment = received(app, source)
    assert comment.author == "Ines Duarte" and comment.url == "https://mastodon.example/@ines"
    assert comment.mention["url"] == "https://mastodon.example/@ines/113344556677889900"
    assert "<script" not in comment.html and "onerror" not in comment.html and "Give first, then ask." in comment.html
    assert 'href="https://mastodon.example/tags/networking"' in comment.html

    listed = app.test_client().get("/api/moderation/comments?status=pending",
                                   headers={"Authorization": f"Bearer {make_token(app)[1]}"}).json["comments"]
    assert [(c["kind"], c["webmention"]["type"], c["webmention"]["source"], c["webmention"]["verification"])
            for c in listed] == [("webmention", "reply", source, "verified")]

    assert "Ines Duarte" not in page(app)
    moderate(app, comment.id, "approve")
    block = page(app)
    assert "Ines Duarte" in block and "Give first, then ask." in block
    assert 'via <a href="https://mastodon.example/@ines/113344556677889900" rel="nofollow ugc">mastodon.example</a>' in block
    assert "files.mastodon.example" not in block  # no remote avatar unless the operator allows it
    assert "1 comment on" in block
    feed = (site_dir / "output" / "feeds" / "comments" / f"{SLUG}.atom.xml").read_text()
    assert "Give first, then ask." in feed

    # A full build of the same thread file writes the same section and feeds.
    from hubbub.build import build_site

    full = tmp_path / "full"
    build_site(site_dir, OUTPUT_PATH=str(full))
    assert section((full / "posts" / SLUG / "index.html").read_text(), SLUG) == block
    for rel in (f"feeds/comments/{SLUG}.atom.xml", "feeds/comments.atom.xml", "feeds/comments.rss.xml"):
        assert (full / rel).read_bytes() == (site_dir / "output" / rel).read_bytes(), rel


def test_a_reply_to_one_of_our_comments_is_threaded_under_it(app, other):
    from service_helpers import post

    client = app.test_client()
    first = post(client, SLUG).json["id"]
    moderate(app, first, "approve")
    target = target_of(app, SLUG)
    source = other.page("/answer", h_entry(f"{target}#comment-{first}"))
    send(client, source, target)
    run_jobs(app)
    _, comment = received(app, source)
    assert comment.parent_id == first


# Updates and deletes ---------------------------------------------------------------------------------
def test_update_replaces_content_and_410_removes_it_from_the_site(app, other):
    client = app.test_client()
    target = target_of(app, SLUG)
    source = other.page("/reply", h_entry(target, content="<p>First version.</p>"))
    send(client, source, target)
    run_jobs(app)
    _, comment = received(app, source)
    moderate(app, comment.id, "approve")
    assert "First version." in page(app)

    # Akismet is off: nothing vouches for the new text, so the mention goes back to the moderators.
    other.page("/reply", h_entry(target, content="<p>Second, better version.</p>"))
    location = send(client, source, target).headers["Location"]
    run_jobs(app)
    wm, updated = received(app, source)
    assert updated.id == comment.id and (updated.status, updated.akismet) == ("pending", "unchecked")
    assert "Second, better version." not in page(app) and "First version." not in page(app)
    listed = client.get(f"/api/threads/{SLUG}/comments").json["comments"]
    assert listed == []
    assert client.get(location).json["reason"] == "verified: the mention is updated; waiting for moderation"
    moderate(app, comment.id, "approve")
    assert "Second, better version." in page(app) and "First version." not in page(app)
    status = client.get(location).json  # the approval shows in the status, not only in "published"
    assert status["published"] is True and status["reason"] == "verified: the mention is updated; published"

    send(client, source, target)  # the same content again: nothing changes
    run_jobs(app)
    assert received(app, source)[0].reason == "verified: nothing changed"

    other.routes["/reply"] = Route("gone", 410, {"Content-Type": "text/plain"})
    send(client, source, target)
    run_jobs(app)
    wm, gone = received(app, source)
    assert gone is None and wm.status == "removed" and "410" in wm.reason
    assert "Second, better version." not in page(app) and "0 comments on" in page(app)
    assert client.get(location).json["status"] == "removed"


def test_a_source_that_no_longer_links_removes_its_mention(app, other):
    client = app.test_client()
    target = target_of(app, SLUG)
    source = other.page("/note", h_entry(target))
    send(client, source, target)
    run_jobs(app)
    moderate(app, received(app, source)[1].id, "approve")
    other.page("/note", "<html><body><p>I changed my mind.</p></body></html>")
    send(client, source, target)
    run_jobs(app)
    wm, comment = received(app, source)
    assert comment is None and wm.status == "removed" and "does not link" in wm.reason
    assert "Alice Example" not in page(app)


@pytest.mark.parametrize("action, status", [("spam", "spam"), ("reject", "rejected")])
def test_a_moderators_decision_stands_when_the_source_is_gone_for_a_while(app, other, action, status):
    from comments_service.models import Comment

    client = app.test_client()
    target = target_of(app, SLUG)
    source = other.page("/reply", h_entry(target))
    send(client, source, target)
    run_jobs(app)
    first = received(app, source)[1].id
    moderate(app, first, action)
    other.routes["/reply"] = Route("not here", 404, {"Content-Type": "text/plain"})
    location = send(client, source, target).headers["Location"]
    run_jobs(app)
    assert client.get(location).json["status"] == "removed"  # as for any mention: a spammer learns nothing
    other.page("/reply", h_entry(target))  # back again
    send(client, source, target)
    run_jobs(app)
    _, mention = received(app, source)
    assert (mention.id, mention.status) == (first, status)
    with hub_of(app).sessions() as s:
        assert s.query(Comment).filter(Comment.status == "pending").count() == 0


def test_a_source_without_a_link_is_rejected(app, other):
    target = target_of(app, SLUG)
    source = other.page("/unrelated", "<p>Nothing to see.</p>")
    send(app.test_client(), source, target)
    run_jobs(app)
    wm, comment = received(app, source)
    assert wm.status == "rejected" and "does not link" in wm.reason and comment is None


# Hard sources --------------------------------------------------------------------------------------
def test_redirects_are_followed_to_the_page(app, other):
    target = target_of(app, SLUG)
    other.page("/final", h_entry(target))
    other.routes["/start"] = Route(b"", 301, {"Location": "/middle"})
    other.routes["/middle"] = Route(b"", 307, {"Location": other.url("/final")})
    send(app.test_client(), other.url("/start"), target)
    run_jobs(app)
    wm, comment = received(app, other.url("/start"))
    assert wm.status == "verified" and comment is not None
    assert other.paths() == ["/start", "/middle", "/final"]


def test_oversized_garbage_and_binary_sources_are_rejected_with_reasons(app, other):
    target = target_of(app, SLUG)
    big = other.page("/big", "<p>" + "x" * 1_100_000 + f'<a href="{target}">link</a></p>')
    garbage = other.page("/garbage", bytes(range(256)) * 50 + b"<a href=" + target.encode() + b"><<<>>>\x00\xff",
                         headers={"Content-Type": "text/html"})
    image = other.page("/image.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, headers={"Content-Type": "image/png"})
    client = app.test_client()
    for source in (big, garbage, image):
        send(client, source, target)
    run_jobs(app)
    assert "larger than 1 MB" in received(app, big)[0].reason
    wm, comment = received(app, garbage)
    assert wm.status in ("verified", "rejected")  # whatever it holds, it is read without an error
    assert comment is None or "<" not in comment.author
    assert "image/png" in received(app, image)[0].reason


def test_a_slow_source_is_retried_then_rejected(app, other, monkeypatch):
    from comments_service.webmention import fetch

    monkeypatch.setattr(fetch, "TIMEOUT", 0.5)  # the real limit is 5 s; the behaviour is the same
    target = target_of(app, SLUG)
    slow = other.page("/slow", h_entry(target), delay=2.0)
    drip = other.page("/drip", h_entry(target), drip=0.01)
    client = app.test_client()
    send(client, slow, target)
    send(client, drip, target)
    run_jobs(app)
    for source in (slow, drip):
        wm, comment = received(app, source)
        assert wm.status == "queued" and wm.reason.startswith("retrying in") and comment is None, wm.reason
    from comments_service.webmention.models import Webmention
    from comments_service.webmention.verify import MAX_ATTEMPTS

    with hub_of(app).transaction() as s:
        for wm in s.query(Webmention):
            wm.attempts = MAX_ATTEMPTS - 1
    run_jobs(app, within=4000)
    for source in (slow, drip):
        wm, _ = received(app, source)
        assert wm.status == "rejected" and "could not be fetched" in wm.reason, wm.reason


# Checks: Akismet and the local guards ----------------------------------------------------------------
def test_spam_via_akismet_never_reaches_the_page(make_app, env, akismet, other):
    from service_helpers import akismet_env

    app = make_app(akismet_env(env, akismet))
    target = target_of(app, SLUG)
    spam = other.page("/spam", h_entry(target, author="akismet-guaranteed-spam", content="<p>Cheap pills</p>"))
    ham = other.page("/ham", h_entry(target, author="Real Person"))
    client = app.test_client()
    send(client, spam, target)
    send(client, ham, target)
    run_jobs(app)
    assert received(app, spam)[1].status == "spam" and received(app, ham)[1].akismet == "ham"
    checks = akismet.requests_to("comment-check")
    assert {r.form["comment_type"] for r in checks} == {"webmention"}
    assert {r.form["comment_author_url"] for r in checks} == {spam, ham}
    assert "Cheap pills" not in page(app)


def test_a_changed_source_keeps_the_approved_text_on_the_site_until_akismet_vouches(make_app, env, akismet,
                                                                                     other):
    """As a commenter's edit: the approved text stays until a verdict on the new one."""
    from service_helpers import akismet_env

    app = make_app(akismet_env(env, akismet))
    add_moderator(app)
    client = app.test_client()
    target = target_of(app, SLUG)
    source = other.page("/reply", h_entry(target, content="<p>Approved words.</p>"))
    send(client, source, target)
    run_jobs(app)
    moderate(app, received(app, source)[1].id, "approve")

    def shown() -> str:
        return page(app) + str(client.get(f"/api/threads/{SLUG}/comments").json["comments"])

    akismet.set_mode("503")
    other.page("/reply", h_entry(target, content="<p>Buy cheap pills.</p>"))
    send(client, source, target)
    run_jobs(app)
    _, mention = received(app, source)
    assert (mention.status, mention.akismet) == ("published", "error")
    assert "Approved words." in shown() and "pills" not in shown()

    akismet.set_mode("ok")  # the retry's verdict: ham puts the new text live
    run_jobs(app, within=60)
    assert "pills" in shown() and "Approved words." not in shown()

    # Spam takes it off the site; meanwhile the approved text stayed.
    spammy = h_entry(target, content="<p>Now spam.</p>").replace(
        "</a></span>", '</a><a class="u-email" href="mailto:akismet-guaranteed-spam@example.com">m</a></span>', 1)
    other.page("/reply", spammy)
    send(client, source, target)
    run_jobs(app)
    _, mention = received(app, source)
    assert (mention.status, mention.akismet) == ("spam", "spam")
    assert "Now spam." not in shown() and "pills" not in shown()


def test_a_changed_author_of_a_published_mention_goes_back_to_the_moderators(make_app, env, akismet, other):
    """Only the text can wait, as approved, for the verdict: a new name or link goes to the queue."""
    from service_helpers import akismet_env

    app = make_app(akismet_env(env, akismet))
    add_moderator(app)
    target = target_of(app, SLUG)
    source = other.page("/reply", h_entry(target))
    send(app.test_client(), source, target)
    run_jobs(app)
    moderate(app, received(app, source)[1].id, "approve")
    other.page("/reply", h_entry(target, author="Cheap Pills Shop", author_url="https://pills.example/"))
    send(app.test_client(), source, target)
    run_jobs(app)
    _, mention = received(app, source)
    assert mention.status == "pending" and mention.akismet == "ham"
    assert "Cheap Pills" not in page(app) and "pills.example" not in page(app)


def test_claiming_a_published_authors_site_earns_no_trust(make_app, env, akismet, other):
    """HUBBUB_TRUST_RETURNING trusts no webmention: its h-card is whatever the sender writes."""
    from service_helpers import akismet_env

    app = make_app(akismet_env(env, akismet))  # trusting returning commenters, the default
    add_moderator(app)
    target = target_of(app, SLUG)
    source = other.page("/reply", h_entry(target, author_url="https://alice.example/"))
    send(app.test_client(), source, target)
    run_jobs(app)
    moderate(app, received(app, source)[1].id, "approve")
    with Site() as impostor:
        forged = impostor.page("/post", h_entry(target, author="Impostor Inc", author_url="https://alice.example/",
                                                content="<p>Visit our shop.</p>"))
        send(app.test_client(), forged, target)
        run_jobs(app)
    _, mention = received(app, forged)
    assert (mention.status, mention.akismet) == ("pending", "ham")
    assert "Visit our shop." not in page(app)


def test_the_same_mention_sent_to_another_form_of_the_address_is_one_mention(app, other):
    """With or without the trailing slash (or index.html), it names the same article: one mention."""
    from sqlalchemy import func, select

    from comments_service.webmention.models import Webmention

    client = app.test_client()
    target = target_of(app, SLUG)
    source = other.page("/reply", h_entry(target, content="<p>Said once.</p>"))
    for form in (target, target.rstrip("/"), target + "index.html"):
        assert send(client, source, form).status_code == 202
        run_jobs(app)
    with hub_of(app).sessions() as s:
        assert s.scalar(select(func.count(Webmention.id))) == 1
    _, comment = received(app, source)
    moderate(app, comment.id, "approve")
    assert page(app).count("Said once.") == 1


def test_a_closed_conversation_takes_no_mentions(app, other):
    hub = hub_of(app)
    target = target_of(app, SLUG)
    hub.threads.get(SLUG)["comments_closed"] = True  # as a build that closed it records it
    source = other.page("/reply", h_entry(target, content="<p>Too late.</p>"))
    r = send(app.test_client(), source, target)
    assert r.status_code == 400 and "its conversation is closed" in r.json["error"]
