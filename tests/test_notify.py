"""Emails, read from a real local SMTP server (aiosmtpd): moderators (immediate, digest, held while
Akismet fails) and commenters (published, replies, one-click unsubscribe)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from moderation_helpers import add_moderator, fast_password_hashing, insert_comments, make_token, queued, run_soon_jobs
from service_helpers import akismet_env, comment, hub_of, post, run_jobs
from smtp_helpers import SMTPServer
from sqlalchemy import update

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS", "ignore:Session.login_data")

OTHER_SLUG = "email-lists-are-built-on-permission"  # Priya Raman's


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    fast_password_hashing(monkeypatch)

@pytest.fixture
def smtp():
    with SMTPServer() as server:
        yield server


@pytest.fixture
def app(make_app, service_env, smtp):
    app = make_app({**service_env, **smtp.env(HUBBUB_PUBLIC_URL="https://comments.hub.example")})
    add_moderator(app, "now@example.org")
    add_moderator(app, "daily@example.org", role="moderator", notify="digest")
    add_moderator(app, "never@example.org", role="moderator", notify="off")
    return app


def age(app, comment_id: int, **delta) -> None:
    from comments_service.models import Comment

    with hub_of(app).transaction() as s:
        c = s.get(Comment, comment_id)
        c.created = c.created - dt.timedelta(**delta)


def later(app, kind: str, seconds: float) -> None:
    from comments_service.models import Job, utcnow

    with hub_of(app).transaction() as s:
        s.execute(update(Job).where(Job.kind == kind).values(due_at=utcnow() + dt.timedelta(seconds=seconds)))


def approve(app, comment_id: int, action: str = "approve") -> None:
    from comments_service.models import Comment
    from comments_service.moderation import actions
    from comments_service.moderation.auth import find_moderator

    with hub_of(app).transaction() as s:
        actions.apply(hub_of(app), s, s.get(Comment, comment_id), action, find_moderator(s, "now@example.org"))


def send_digests(app) -> None:
    from comments_service.moderation.notify import send_digests

    send_digests(hub_of(app))


# Moderators ---------------------------------------------------------------------------------------
def test_immediate_moderators_hear_about_each_new_pending_comment_once(app, smtp, slug):
    client = app.test_client()
    first = post(client, slug, author="Ada", body="A thoughtful comment about networking").json["id"]
    run_jobs(app)
    [mail] = smtp.to("now@example.org")
    assert mail.subject == "New comment awaiting moderation on “Social Media and Network Marketing”"
    assert f"https://comments.hub.example/moderate/comments/{first}" in mail.body
    assert "A thoughtful comment about networking" in mail.body and "Ada" in mail.body
    assert "ada@example.org" not in mail.body  # the commenter's address stays in the queue
    assert mail.message["From"] == "Hubbub <comments@hub.example>" and mail.message["Message-ID"]
    assert smtp.to("never@example.org") == [] and smtp.to("daily@example.org") == []
    run_jobs(app)
    assert len(smtp.to("now@example.org")) == 1  # never twice
    second = post(client, slug, body="Another one").json["id"]
    third = post(client, OTHER_SLUG, body="And a third").json["id"]
    run_jobs(app)
    mails = smtp.to("now@example.org")
    assert len(mails) == 2  # the two new ones in one email
    assert mails[1].subject == "2 new comments awaiting moderation"
    assert f"/moderate/comments/{second}" in mails[1].body and f"/moderate/comments/{third}" in mails[1].body
    assert f"/moderate/comments/{first}" not in mails[1].body


def test_disabled_and_author_moderators(app, smtp, slug):
    add_moderator(app, "alan@example.org", role="moderator", author_slug="alan-whitaker")
    add_moderator(app, "gone@example.org", role="moderator")
    from comments_service.moderation.models import Moderator

    with hub_of(app).transaction() as s:
        s.query(Moderator).filter_by(email="gone@example.org").one().disabled = True
    client = app.test_client()
    post(client, OTHER_SLUG)
    run_jobs(app)
    assert smtp.to("alan@example.org") == [] and smtp.to("gone@example.org") == []
    post(client, slug)
    run_jobs(app)
    assert len(smtp.to("alan@example.org")) == 1 and len(smtp.to("now@example.org")) == 2


def test_digest_lists_what_arrived_since_the_last_one(app, smtp, slug):
    from comments_service.moderation.models import Moderator

    client = app.test_client()
    ids = [post(client, slug, body=f"comment {n}").json["id"] for n in range(3)]
    run_jobs(app)
    assert smtp.to("daily@example.org") == []
    approve(app, ids[2])  # decided before the digest: not in it
    send_digests(app)
    [digest] = smtp.to("daily@example.org")
    assert digest.subject == "Digest: 2 new comments awaiting moderation"
    assert f"/moderate/comments/{ids[0]}" in digest.body and f"/moderate/comments/{ids[2]}" not in digest.body
    send_digests(app)
    assert len(smtp.to("daily@example.org")) == 1  # not due again yet
    newer = post(client, slug, body="a late one").json["id"]
    run_jobs(app)
    with hub_of(app).transaction() as s:
        daily = s.query(Moderator).filter_by(email="daily@example.org").one()
        daily.last_digest_at -= dt.timedelta(hours=25)
    send_digests(app)
    latest = smtp.to("daily@example.org")[-1]
    assert latest.subject == "Digest: 1 new comment awaiting moderation"
    assert f"/moderate/comments/{newer}" in latest.body and "(3 pending in all)" in latest.body


def test_digest_job_runs_periodically(app, smtp, slug):
    from comments_service.models import Job

    assert [k.split("@")[0] for k in queued(app, "notify-digest")] == ["notify-digest"]
    post(app.test_client(), slug)
    run_jobs(app)
    with hub_of(app).transaction() as s:
        s.execute(update(Job).where(Job.kind == "notify-digest").values(due_at=Job.created))
    run_jobs(app)
    assert len(smtp.to("daily@example.org")) == 1
    [next_run] = queued(app, "notify-digest")  # and the next run is booked
    assert next_run.startswith("notify-digest@")


@pytest.fixture
def akismet_app(make_app, service_env, smtp, akismet):
    app = make_app({**akismet_env(service_env, akismet), **smtp.env()})
    add_moderator(app, "now@example.org")
    return app


def test_held_back_while_akismet_fails_and_sent_when_it_is_back(akismet_app, akismet, smtp, slug):
    app = akismet_app
    client = app.test_client()
    checked = post(client, slug, body="checked before the outage").json["id"]
    from comments_service.check import check_comment

    check_comment(hub_of(app), {"comment": checked})  # ham: an announcement is queued...
    later(app, "notify-moderators", seconds=2)
    akismet.set_mode("503")
    wave = [post(client, slug, body=f"wave {n}").json["id"] for n in range(5)]
    run_jobs(app)  # ...but before it goes, the wave's checks fail: Akismet is failing
    assert {comment(app, i).akismet for i in wave} == {"error"}
    run_soon_jobs(app, within=5)
    assert smtp.messages == []  # nothing while Akismet cannot tell spam from ham
    assert queued(app, "notify-moderators") == ["pending"]
    approve(app, wave[0], "spam")  # a moderator got to one meanwhile
    akismet.set_mode("ok")
    run_soon_jobs(app, within=600)
    [mail] = smtp.to("now@example.org")
    assert mail.subject == "5 new comments awaiting moderation"
    for cid in [checked] + wave[1:]:
        assert f"/moderate/comments/{cid}" in mail.body
    assert f"/moderate/comments/{wave[0]}\n" not in mail.body


def test_akismet_probe_and_comments_that_waited_a_day(akismet_app, akismet, smtp, slug):
    from comments_service import service_state as state
    from comments_service.jobs import RetryLater
    from comments_service.models import utcnow
    from comments_service.moderation.notify import notify_moderators

    app = akismet_app
    hub = hub_of(app)
    cid = post(app.test_client(), slug).json["id"]
    from comments_service.check import check_comment

    check_comment(hub, {"comment": cid})  # ham, not announced yet
    old_error = (utcnow() - dt.timedelta(minutes=10)).isoformat()
    with hub.transaction() as s:
        state.put(s, "akismet", state="failing", last_error="x", last_error_at=old_error)
    akismet.set_mode("503")
    with pytest.raises(RetryLater, match="held back"):
        notify_moderators(hub, {})  # asks Akismet (verify-key), which is still down: held
    assert len(akismet.requests_to("verify-key")) == 1 and smtp.messages == []
    # A comment still pending after a day goes out even while Akismet fails.
    age(app, cid, days=2)
    notify_moderators(hub, {})
    [mail] = smtp.to("now@example.org")
    assert f"/moderate/comments/{cid}" in mail.body
    [fresh] = insert_comments(app, 1, slug)
    with pytest.raises(RetryLater, match="held back"):
        notify_moderators(hub, {})
    # Akismet back: the probe sees it and the rest goes out.
    akismet.set_mode("ok")
    with hub.transaction() as s:
        state.put(s, "akismet", last_error_at=old_error)
    notify_moderators(hub, {})
    assert f"/moderate/comments/{fresh}" in smtp.to("now@example.org")[1].body
    with hub.sessions() as s:
        assert state.get(s, "akismet")["state"] == "ok"


def test_smtp_failure_is_retried_without_duplicates(app, smtp, slug):
    from sqlalchemy import select

    from comments_service.models import Job

    smtp.refuse = True
    post(app.test_client(), slug)
    run_jobs(app)
    assert smtp.messages == []
    with hub_of(app).sessions() as s:
        job = s.scalar(select(Job).where(Job.kind == "notify-moderators"))
    assert "did not take the message" in job.last_error and job.due_at > job.created
    smtp.refuse = False
    run_soon_jobs(app, within=120)
    assert len(smtp.to("now@example.org")) == 1
    run_soon_jobs(app, within=3600)
    assert len(smtp.to("now@example.org")) == 1


def test_smtp_login(make_app, service_env, slug):
    with SMTPServer(user="mailer", password="s3cret") as server:
        app = make_app({**service_env, **server.env(HUBBUB_SMTP_USER="mailer", HUBBUB_SMTP_PASSWORD="s3cret")})
        add_moderator(app, "now@example.org")
        post(app.test_client(), slug)
        run_jobs(app)
        assert server.logins == ["mailer"] and len(server.to("now@example.org")) == 1


def test_starttls_checks_the_certificate(make_app, service_env, slug, tmp_path, monkeypatch):
    from smtp_helpers import self_signed_certificate

    cert = self_signed_certificate(tmp_path)
    if cert is None:
        pytest.skip("the openssl command is not installed")
    with SMTPServer(user="mailer", password="s3cret", tls_cert=cert) as server:
        env = server.env(HUBBUB_SMTP_USER="mailer", HUBBUB_SMTP_PASSWORD="s3cret", HUBBUB_SMTP_STARTTLS="1")
        app = make_app({**service_env, **env})
        add_moderator(app, "now@example.org")
        post(app.test_client(), slug)
        run_jobs(app)  # the certificate is not trusted: nothing goes out, the job waits for a retry
        assert server.messages == [] and "CERTIFICATE_VERIFY_FAILED" in (queued_error(app) or "")
        monkeypatch.setenv("SSL_CERT_FILE", str(cert[0]))  # now it is
        run_soon_jobs(app, within=120)
        assert server.logins == ["mailer"] and len(server.to("now@example.org")) == 1


def queued_error(app) -> str | None:
    from sqlalchemy import select

    from comments_service.models import Job

    with hub_of(app).sessions() as s:
        return s.scalar(select(Job.last_error).where(Job.kind == "notify-moderators"))


def test_no_smtp_host_means_no_email_jobs(make_app, service_env, slug):
    app = make_app(service_env)
    add_moderator(app)
    cid = post(app.test_client(), slug, notify="1").json["id"]
    run_jobs(app)
    approve_app = app
    from comments_service.models import Comment
    from comments_service.moderation import actions
    from comments_service.moderation.auth import find_moderator

    with hub_of(approve_app).transaction() as s:
        actions.apply(hub_of(app), s, s.get(Comment, cid), "approve", find_moderator(s, "mod@example.org"))
    assert queued(app, "notify-moderators") == [] and queued(app, "notify-commenter") == []


# Commenters ---------------------------------------------------------------------------------------
def unsubscribe_link(mail) -> str:
    return re.search(r"https://comments\.hub\.example(/notifications/unsubscribe/\S+)", mail.body).group(1)


def test_commenter_hears_when_published_and_replied_to_and_can_unsubscribe(app, smtp, slug):
    client = app.test_client()
    asker = post(client, slug, author="Quinn", email="quinn@example.org", body="A question?", notify="1").json["id"]
    quiet = post(client, slug, author="Sam", email="sam@example.org", body="No emails please").json["id"]
    run_jobs(app)
    smtp.clear()
    approve(app, asker)
    approve(app, quiet)
    run_soon_jobs(app)
    [published] = smtp.to("quinn@example.org")
    assert smtp.to("sam@example.org") == []
    assert published.subject == "Your comment on “Social Media and Network Marketing” is published"
    assert f"http://127.0.0.1:8000/posts/{slug}/#comment-{asker}" in published.body
    link = unsubscribe_link(published)
    assert published.message["List-Unsubscribe"] == f"<https://comments.hub.example{link}>"
    # On the wire as it is: mail clients read the header's address without decoding RFC 2047 words.
    assert f"List-Unsubscribe: <https://comments.hub.example{link}>".encode() in published.raw
    assert published.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    # A reply by someone else: an email; the asker answering themselves: none.
    reply = post(client, slug, author="Riley", email="riley@example.org", body="Here is the answer", parent=asker)
    own = post(client, slug, author="Quinn", email="QUINN@example.org", body="Thanks!", parent=asker)
    run_jobs(app)
    approve(app, reply.json["id"])
    approve(app, own.json["id"])
    run_soon_jobs(app)
    mails = smtp.to("quinn@example.org")
    assert len(mails) == 2
    assert mails[1].subject == "Riley replied to your comment on “Social Media and Network Marketing”"
    assert "Here is the answer" in mails[1].body and f"#comment-{reply.json['id']}" in mails[1].body

    # Unpublished and published again: no second "published" email.
    approve(app, asker, "reject")
    approve(app, asker)
    run_soon_jobs(app)
    assert len(smtp.to("quinn@example.org")) == 2

    # The link shows a page (a link scanner's GET changes nothing); one click unsubscribes.
    web = app.test_client()
    page = web.get(link)
    assert page.status_code == 200 and "Unsubscribe" in page.get_data(as_text=True)
    assert comment(app, asker).notify is True
    assert web.get(link[:-3] + "abc").status_code == 404
    assert web.post(link[:-3] + "abc").status_code == 404
    r = web.post(link, data={"List-Unsubscribe": "One-Click"})  # what mail clients send (RFC 8058)
    assert r.status_code == 200 and "unsubscribed" in r.get_data(as_text=True)
    assert comment(app, asker).notify is False and comment(app, own.json["id"]).notify is False
    another = post(client, slug, author="Riley", email="riley@example.org", body="More", parent=asker).json["id"]
    run_jobs(app)
    approve(app, another)
    run_soon_jobs(app)
    assert len(smtp.to("quinn@example.org")) == 2


def test_trusted_commenter_published_by_the_check_is_told(make_app, service_env, smtp, akismet, slug):
    app = make_app({**akismet_env(service_env, akismet), **smtp.env()})
    add_moderator(app, "now@example.org", notify="off")
    client = app.test_client()
    first = post(client, slug, email="old@example.org").json["id"]
    run_jobs(app)
    approve(app, first)
    run_soon_jobs(app)
    second = post(client, slug, email="old@example.org", body="Back again", notify="1").json["id"]
    run_soon_jobs(app)
    assert comment(app, second).status == "published"
    [mail] = smtp.to("old@example.org")
    assert "is published" in mail.subject and f"#comment-{second}" in mail.body


def test_api_token_actions_notify_too(app, smtp, slug):
    _, token = make_token(app, "now@example.org")
    cid = post(app.test_client(), slug, email="fan@example.org", notify="1").json["id"]
    app.test_client().post(f"/api/moderation/comments/{cid}/approve", headers={"Authorization": f"Bearer {token}"})
    run_soon_jobs(app)
    assert len(smtp.to("fan@example.org")) == 1
