"""Per-thread subscriptions with confirmed opt-in, read from a real local SMTP server: one
confirmation and nothing else before it is confirmed, one email per new published comment after,
one-click unsubscribe (List-Unsubscribe), and the subscriber's data in privacy export and erase."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import urlsplit

import pytest
from moderation_helpers import add_moderator, fast_password_hashing
from service_helpers import akismet_env, comment, hub_of, post, run_jobs
from smtp_helpers import SMTPServer

OTHER_SLUG = "email-lists-are-built-on-permission"
READER = "sub@example.org"
URL = re.compile(r"https://comments\.hub\.example(/notifications/(?:confirm|unsubscribe)/\S+)")


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    fast_password_hashing(monkeypatch)


@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def app(make_app, service_env, smtp, akismet):
    app = make_app({**akismet_env(service_env, akismet), **smtp.env(HUBBUB_PUBLIC_URL="https://comments.hub.example")})
    add_moderator(app, "quiet@example.org", notify="off")
    return app


def subscribe(app, slug: str, email: str = READER, **fields) -> int:
    return post(app.test_client(), slug, email=email, subscribe=True, **fields).json["id"]


def moderate(app, comment_id: int, action: str = "approve") -> None:
    from comments_service.models import Comment
    from comments_service.moderation import actions
    from comments_service.moderation.auth import find_moderator

    with hub_of(app).transaction() as s:
        actions.apply(hub_of(app), s, s.get(Comment, comment_id), action, find_moderator(s, "quiet@example.org"))
    run_jobs(app)


def publish(app, comment_id: int) -> None:
    moderate(app, comment_id, "approve")


def link(mail) -> str:
    [found] = URL.findall(mail.body)
    return found


def confirm(app, smtp, email: str = READER) -> None:
    [mail] = smtp.to(email)
    assert app.test_client().post(link(mail)).status_code == 200


def test_one_confirmation_then_nothing_until_confirmed(app, smtp, slug):
    first = subscribe(app, slug, body="Following this one")
    assert smtp.to(READER) == []  # not before the comment's check
    run_jobs(app)
    [mail] = smtp.to(READER)
    assert mail.subject == "Confirm: emails about new comments on “Social Media and Network Marketing”"
    assert "/notifications/confirm/" in link(mail) and "ignore this email" in mail.body
    # Asking again, and new comments on the thread, send nothing to the unconfirmed address.
    subscribe(app, slug, body="Really following")
    other = post(app.test_client(), slug, email="writer@example.org").json["id"]
    run_jobs(app)
    publish(app, other)
    publish(app, first)
    assert len(smtp.to(READER)) == 1
    # A GET shows a button and changes nothing; the POST confirms.
    path = link(mail)
    page = app.test_client().get(path)
    assert page.status_code == 200 and "Yes, subscribe" in page.get_data(as_text=True)
    sitename = hub_of(app).threads.site()["sitename"]
    assert f"<title>Comment emails · {sitename}</title>" in page.get_data(as_text=True)  # the site's name
    from comments_service.moderation.models import Subscription

    with hub_of(app).sessions() as s:
        [sub] = s.query(Subscription).all()
        assert sub.confirmed_at is None and sub.email == READER
    r = app.test_client().post(path)
    assert r.status_code == 200 and "You are subscribed" in r.get_data(as_text=True)
    with hub_of(app).sessions() as s:
        assert s.query(Subscription).one().confirmed_at is not None


def test_spam_never_sends_a_confirmation(app, smtp, slug):
    subscribe(app, slug, email="victim@example.org", author="akismet-guaranteed-spam")
    subscribe(app, slug, email="victim2@example.org", contact_me_by_fax_only="bot")  # honeypot: spam at once
    run_jobs(app)
    assert smtp.messages == []


def test_one_email_per_new_published_comment_with_one_click_unsubscribe(app, smtp, slug):
    subscribe(app, slug)
    run_jobs(app)
    confirm(app, smtp)
    smtp.clear()
    new = post(app.test_client(), slug, author="Bea", email="bea@example.org", body="A new *point* of view").json["id"]
    run_jobs(app)
    assert smtp.to(READER) == []  # pending: not yet
    publish(app, new)
    moderate(app, new, "reject")
    publish(app, new)  # published again after a round trip: still one email
    [mail] = smtp.to(READER)
    assert mail.subject == "New comment on “Social Media and Network Marketing”"
    assert "Bea commented" in mail.body and "A new *point* of view" in mail.body and f"#comment-{new}" in mail.body
    assert "bea@example.org" not in mail.body
    unsubscribe = mail.message["List-Unsubscribe"].strip("<>")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert urlsplit(unsubscribe).path == link(mail)
    # Other threads are not this subscription's business.
    elsewhere = post(app.test_client(), OTHER_SLUG, email="bea@example.org").json["id"]
    run_jobs(app)
    publish(app, elsewhere)
    assert len(smtp.to(READER)) == 1
    # The mail client's one-click POST ends it; the page says so, and nothing more comes.
    client = app.test_client()
    assert "Stop emails about new comments" in client.get(urlsplit(unsubscribe).path).get_data(as_text=True)
    r = client.post(urlsplit(unsubscribe).path, data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200 and "You are unsubscribed" in r.get_data(as_text=True)
    assert client.post(urlsplit(unsubscribe).path).status_code == 404
    later = post(app.test_client(), slug, email="bea@example.org").json["id"]
    run_jobs(app)
    publish(app, later)
    assert len(smtp.to(READER)) == 1


def test_no_email_about_ones_own_comment_nor_twice_for_a_reply(app, smtp, slug):
    mine = subscribe(app, slug, notify=True)
    run_jobs(app)
    confirm(app, smtp)
    smtp.clear()
    publish(app, mine)  # the writer's own comment: the "published" email only
    assert [m.subject for m in smtp.to(READER)] == ["Your comment on “Social Media and Network Marketing” is published"]
    reply = post(app.test_client(), slug, email="bea@example.org", parent=mine, body="Answering you").json["id"]
    run_jobs(app)
    publish(app, reply)
    subjects = [m.subject for m in smtp.to(READER)]
    assert len(subjects) == 2 and subjects[1].endswith("replied to your comment on “Social Media and Network Marketing”")


def test_confirmation_links_expire_and_unconfirmed_requests_are_forgotten(app, smtp, slug, monkeypatch):
    import itsdangerous.timed

    from comments_service.moderation.models import Subscription
    from comments_service.moderation.retention import run_retention

    subscribe(app, slug)
    run_jobs(app)
    [mail] = smtp.to(READER)
    real_time = itsdangerous.timed.time.time

    class EightDaysLater:
        @staticmethod
        def time():
            return real_time() + 8 * 86400

    monkeypatch.setattr(itsdangerous.timed, "time", EightDaysLater)
    r = app.test_client().post(link(mail))
    assert r.status_code == 410 and "expired" in r.get_data(as_text=True)
    monkeypatch.undo()
    assert app.test_client().post("/notifications/confirm/forged").status_code == 404
    done = run_retention(hub_of(app), now=dt.datetime.now(dt.UTC) + dt.timedelta(days=8))
    assert done["unconfirmed_subscriptions_deleted"] == 1
    with hub_of(app).sessions() as s:
        assert s.query(Subscription).count() == 0
    assert app.test_client().post(link(mail)).status_code == 404  # withdrawn


def test_privacy_export_and_erase_cover_subscriptions(app, smtp, slug):
    from comments_service.moderation.models import Subscription
    from comments_service.privacy import erase, personal_data

    subscribe(app, slug, email="  Sub@Example.org ")
    run_jobs(app)
    confirm(app, smtp)
    data = personal_data(hub_of(app), "sub@example.org")
    [entry] = data["subscriptions"]
    assert entry["thread"] == slug and entry["confirmed"]
    report = erase(hub_of(app), "SUB@example.org")
    assert report.other_records == 1
    with hub_of(app).sessions() as s:
        assert s.query(Subscription).count() == 0


def test_the_form_without_javascript_subscribes_too(app, smtp, slug):
    r = app.test_client().post(f"/api/threads/{slug}/comments",
                               data={"author": "Form User", "email": READER, "body": "Hello", "subscribe": "1"})
    assert r.status_code == 303
    run_jobs(app)
    assert len(smtp.to(READER)) == 1
    assert comment(app, 1).notify is False
