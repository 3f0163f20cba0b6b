"""Retention: old spam, discard verdicts and client addresses go, by a periodic background job."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from moderation_helpers import fast_password_hashing, insert_comments, logged_in, queued
from service_helpers import comment, comments, hub_of, run_jobs
from sqlalchemy import update


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    fast_password_hashing(monkeypatch)

def ago(**delta) -> dt.datetime:
    from comments_service.models import utcnow

    return utcnow() - dt.timedelta(**delta)


@pytest.fixture
def app(make_app, service_env):
    return make_app(service_env)


def run_retention(app):
    from comments_service.moderation.retention import run_retention

    return run_retention(hub_of(app))


def test_old_spam_and_discards_are_deleted_the_rest_kept(app, slug):
    [old_spam] = insert_comments(app, 1, slug, status="spam", akismet="spam", start=ago(days=16))
    [young_spam] = insert_comments(app, 1, slug, status="spam", akismet="spam", start=ago(days=14))
    [old_discard] = insert_comments(app, 1, slug, status="spam", akismet="discard", start=ago(hours=25))
    [young_discard] = insert_comments(app, 1, slug, status="spam", akismet="discard", start=ago(hours=23))
    keep = [insert_comments(app, 1, slug, status=s, start=ago(days=400))[0]
            for s in ("pending", "published", "rejected")]
    done = run_retention(app)
    assert done["spam_deleted"] == 1 and done["discard_deleted"] == 1
    assert comment(app, old_spam) is None and comment(app, old_discard) is None
    assert comment(app, young_spam) and comment(app, young_discard)
    assert all(comment(app, i) for i in keep)


def test_client_addresses_are_erased_after_the_period(app, slug):
    [old] = insert_comments(app, 1, slug, status="published", start=ago(days=31), remote_addr="198.51.100.7")
    [recent] = insert_comments(app, 1, slug, start=ago(days=29), remote_addr="198.51.100.8")
    done = run_retention(app)
    assert done["addresses_erased"] == 1
    assert comment(app, old).remote_addr is None and comment(app, old).status == "published"
    assert comment(app, recent).remote_addr == "198.51.100.8"
    assert run_retention(app)["addresses_erased"] == 0  # nothing left to do


def test_periods_come_from_the_settings(make_app, service_env, slug):
    app = make_app({**service_env, "HUBBUB_SPAM_RETENTION_DAYS": "2", "HUBBUB_DISCARD_RETENTION_HOURS": "1",
                    "HUBBUB_IP_RETENTION_DAYS": "1"})
    [spam] = insert_comments(app, 1, slug, status="spam", akismet="spam", start=ago(days=3))
    [discard] = insert_comments(app, 1, slug, status="spam", akismet="discard", start=ago(hours=2))
    [pending] = insert_comments(app, 1, slug, start=ago(hours=30))
    run_retention(app)
    assert comment(app, spam) is None and comment(app, discard) is None
    assert comment(app, pending).remote_addr is None


def test_large_purges_go_in_batches(app, slug, monkeypatch):
    from comments_service.moderation import retention

    monkeypatch.setattr(retention, "BATCH", 7)
    insert_comments(app, 30, slug, status="spam", akismet="spam", start=ago(days=20), step=dt.timedelta(seconds=1))
    insert_comments(app, 3, slug, status="spam", akismet="spam", start=ago(days=1))
    assert run_retention(app)["spam_deleted"] == 30
    assert len(comments(app)) == 3


def test_purged_spam_still_counts_on_the_dashboard(app, slug):
    insert_comments(app, 6, slug, status="spam", akismet="spam", start=ago(days=20), step=dt.timedelta(seconds=1))
    insert_comments(app, 2, slug, status="spam", akismet="unchecked", guard_reasons=["honeypot: filled"],
                    start=ago(days=20), step=dt.timedelta(seconds=1))
    insert_comments(app, 4, slug, status="spam", akismet="discard", start=ago(hours=30), step=dt.timedelta(seconds=1))
    client = logged_in(app)

    def totals():
        page = client.get("/moderate/").get_data(as_text=True)
        return dict(re.findall(r'<li class="total s-(\w+)">.*?<strong>(\d+)</strong>', page))

    before = totals()
    assert before == {"received": "12", "published": "0", "akismet": "10", "guards": "2"}
    run_retention(app)
    assert comments(app) == []
    from comments_service.moderation.queries import forget_dashboard

    forget_dashboard(hub_of(app))  # the dashboard keeps its counts a few minutes; count again now
    assert totals() == before


def test_sent_email_records_are_forgotten_after_a_while(app):
    from comments_service.moderation.models import SentNotification

    with hub_of(app).transaction() as s:
        s.add(SentNotification(kind="pending", comment_id=1, recipient="a" * 64, sent_at=ago(days=91)))
        s.add(SentNotification(kind="pending", comment_id=2, recipient="a" * 64, sent_at=ago(days=1)))
    assert run_retention(app)["sent_records_deleted"] == 1


def test_retention_runs_as_a_periodic_job(app, slug):
    from comments_service import service_state as state
    from comments_service.models import Job

    [first] = queued(app, "retention")  # booked when the service starts
    [old_spam] = insert_comments(app, 1, slug, status="spam", akismet="spam", start=ago(days=30))
    run_jobs(app)
    assert comment(app, old_spam) is not None  # not due yet
    with hub_of(app).transaction() as s:
        s.execute(update(Job).where(Job.kind == "retention").values(due_at=ago(seconds=1)))
    run_jobs(app)
    assert comment(app, old_spam) is None
    [following] = queued(app, "retention")
    assert following != first  # the next run is booked, once
    with hub_of(app).sessions() as s:
        assert state.get(s, "retention")["spam_deleted"] == 1
    assert run_jobs(app) == 0  # and it is not due at once
