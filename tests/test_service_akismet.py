"""Checks with Akismet (a real local stand-in server) and the local guards: every verdict and fault."""

from __future__ import annotations

import datetime as dt

import pytest
from service_helpers import akismet_env, comment, hub_of, post, run_jobs, set_status
from sqlalchemy import update


@pytest.fixture
def app(make_app, service_env, akismet):
    return make_app(akismet_env(service_env, akismet))


@pytest.fixture
def client(app):
    return app.test_client()


def test_ham_stays_pending_and_akismet_gets_every_field(app, client, akismet, slug):
    cid = post(client, slug).json["id"]
    run_jobs(app)
    c = comment(app, cid)
    assert (c.status, c.akismet) == ("pending", "ham")
    [req] = akismet.requests_to("comment-check")
    form = req.form
    for name in ("user_ip", "user_agent", "referrer", "permalink", "comment_type", "comment_author",
                 "comment_author_email", "comment_author_url", "comment_content", "comment_date_gmt",
                 "comment_post_modified_gmt", "blog_lang", "blog_charset", "honeypot_field_name"):
        assert form.get(name), f"{name} not sent to Akismet"
    assert form["user_ip"] == "127.0.0.1"
    assert form["permalink"].endswith(f"/posts/{slug}/")
    assert form["comment_type"] == "comment"
    assert form["honeypot_field_name"] == "contact_me_by_fax_only"
    assert form["api_key"] == "test-key"


def test_trusted_returning_commenter_is_published_after_ham(app, client, slug):
    first = post(client, slug).json["id"]
    run_jobs(app)
    set_status(app, first, "published")
    second = post(client, slug, body="Me again").json["id"]
    run_jobs(app)
    assert comment(app, second).status == "published"
    # ...but not when a guard holds it.
    third = post(client, slug, body="[a](https://a.example) [b](https://b.example) "
                                     "[c](https://c.example) [d](https://d.example)").json["id"]
    run_jobs(app)
    c = comment(app, third)
    assert c.status == "pending" and c.akismet == "ham"
    assert any(r.startswith("links:") for r in c.guard_reasons)


def test_trust_can_be_switched_off(make_app, service_env, akismet, slug):
    app = make_app({**akismet_env(service_env, akismet), "HUBBUB_TRUST_RETURNING": "0"})
    client = app.test_client()
    first = post(client, slug).json["id"]
    set_status(app, first, "published")
    second = post(client, slug).json["id"]
    run_jobs(app)
    assert comment(app, second).status == "pending"


def test_spam_and_discard_verdicts(app, client, slug):
    spam = post(client, slug, author="akismet-guaranteed-spam").json
    discard = post(client, slug, author="akismet-discard").json
    assert spam["status"] == discard["status"] == "pending"  # the same answer as anything else
    run_jobs(app)
    assert (comment(app, spam["id"]).status, comment(app, spam["id"]).akismet) == ("spam", "spam")
    assert (comment(app, discard["id"]).status, comment(app, discard["id"]).akismet) == ("spam", "discard")


@pytest.mark.parametrize("mode", ["refuse", "503", "garbage"])
def test_faults_leave_the_comment_pending_and_retry_until_recovery(app, client, akismet, slug, mode):
    akismet.set_mode(mode)
    cid = post(client, slug).json["id"]
    run_jobs(app)
    c = comment(app, cid)
    assert (c.status, c.akismet, c.check_attempts) == ("pending", "error", 1)
    first_retry = (c.check_due - dt.datetime.now(dt.UTC)).total_seconds()
    assert 0 < first_retry <= 30
    assert hub_of(app).runner.run_due() == 0  # not due yet
    akismet.set_mode("ok")
    _make_due(app)
    run_jobs(app)
    c = comment(app, cid)
    assert (c.status, c.akismet) == ("pending", "ham")
    health = client.get("/api/health").json
    assert health["akismet"]["state"] == "ok"


def test_a_hanging_akismet_times_out_and_the_request_path_never_waits(app, client, akismet, slug):
    akismet.set_mode("hang", hang_seconds=10)
    r = post(client, slug)  # answered at once: the check is a background job
    assert r.status_code == 202
    run_jobs(app)  # the check gives up after HUBBUB_AKISMET_TIMEOUT=1 s
    c = comment(app, r.json["id"])
    assert (c.status, c.akismet) == ("pending", "error")
    akismet.set_mode("ok")


def test_backoff_grows_and_gives_up_after_a_day_as_unchecked(app, client, akismet, slug):
    akismet.set_mode("503")
    cid = post(client, slug).json["id"]
    delays = []
    for _ in range(3):
        _make_due(app)
        run_jobs(app)
        c = comment(app, cid)
        delays.append((c.check_due - dt.datetime.now(dt.UTC)).total_seconds())
    assert delays[0] < delays[1] < delays[2]
    from comments_service.models import Comment

    with hub_of(app).transaction() as s:
        s.execute(update(Comment).where(Comment.id == cid)
                  .values(created=dt.datetime.now(dt.UTC) - dt.timedelta(days=2)))
    _make_due(app)
    run_jobs(app)
    c = comment(app, cid)
    assert (c.status, c.akismet) == ("pending", "unchecked")
    from sqlalchemy import select

    from comments_service.models import Job

    with hub_of(app).sessions() as s:
        assert s.scalars(select(Job).where(Job.kind == "check")).all() == []  # no more retries


def test_invalid_key_is_loud_slows_down_and_shows_in_health(app, client, akismet, slug, caplog):
    akismet.set_mode("invalid_key")
    cid = post(client, slug).json["id"]
    run_jobs(app)
    c = comment(app, cid)
    assert (c.status, c.akismet) == ("pending", "error")
    assert (c.check_due - dt.datetime.now(dt.UTC)).total_seconds() > 15 * 60
    assert "AKISMET KEY INVALID" in caplog.text
    health = client.get("/api/health").json
    assert health["akismet"]["state"] == "invalid_key"
    assert "PYTHON_AKISMET_API_KEY" in health["akismet"]["message"]


def test_honeypot_and_blocklist_are_spam_without_asking_akismet(app, client, akismet, site_dir, slug):
    (site_dir / "comment-blocklist.txt").write_text("# WordPress-style\ncheap-pills.example\n")
    (site_dir / "comment-moderation.txt").write_text("crypto\n")
    hp = client.post(f"/api/threads/{slug}/comments",
                     data={"author": "Bot", "email": "b@example.org", "body": "hi", "contact_me_by_fax_only": "555"})
    assert hp.status_code == 303 and hp.headers["Location"].endswith("#comment-pending")
    blocked = post(client, slug, url="https://cheap-pills.example/buy").json["id"]
    held = post(client, slug, body="Let us talk about Crypto").json["id"]
    run_jobs(app)
    from service_helpers import comments

    bot = [c for c in comments(app) if c.author == "Bot"][0]
    assert bot.status == "spam" and bot.guard_reasons[0].startswith("honeypot")
    assert comment(app, blocked).status == "spam"
    assert "blocklist: matched 'cheap-pills.example'" in comment(app, blocked).guard_reasons
    h = comment(app, held)
    assert h.status == "pending" and h.guard_reasons == ["moderation words: matched 'crypto'"]
    sent = [r.form["comment_author"] for r in akismet.requests_to("comment-check")]
    assert "Bot" not in sent and len(sent) == 1  # only the held comment was asked about


def _make_due(app):
    from comments_service.models import Job

    with hub_of(app).transaction() as s:
        s.execute(update(Job).values(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
