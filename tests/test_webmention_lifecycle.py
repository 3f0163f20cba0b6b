"""A webmention after verification: in the moderation UI and API beside comments, kept no longer
than the retention rules allow, and covered by `hubbub privacy export / erase`."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from moderation_helpers import add_moderator, fast_password_hashing, login, make_token, published_ids
from service_helpers import hub_of, post, run_jobs
from web_helpers import Site, h_entry
from webmention_helpers import received, send, target_of

SLUG = "social-media-and-network-marketing"


@pytest.fixture
def app(make_app, service_env, monkeypatch):
    fast_password_hashing(monkeypatch)
    app = make_app({**service_env, "HUBBUB_WEBMENTION_ALLOW_PRIVATE": "1"})
    add_moderator(app)
    return app


@pytest.fixture
def other():
    with Site() as site:
        yield site


def mention(app, other, path="/reply", **entry):
    source = other.page(path, h_entry(target_of(app, SLUG), **entry))
    send(app.test_client(), source, target_of(app, SLUG))
    run_jobs(app)
    return source, received(app, source)[1]


def test_moderation_ui_and_api_show_kind_type_source_and_verification(app, other):
    source, comment = mention(app, other)
    post(app.test_client(), SLUG)  # an ordinary comment beside it
    client = app.test_client()
    login(client)
    page = client.get("/moderate/").get_data(as_text=True)
    assert "Webmention: reply" in page and f'href="{source}"' in page and "verified" in page
    only = client.get("/moderate/?kind=webmention").get_data(as_text=True)
    assert f'id="c-{comment.id}"' in only and only.count('class="comment status-') == 1

    headers = {"Authorization": f"Bearer {make_token(app)[1]}"}
    api = app.test_client()
    listed = api.get("/api/moderation/comments?status=pending", headers=headers).json["comments"]
    assert sorted(c["kind"] for c in listed) == ["comment", "webmention"]
    only = api.get("/api/moderation/comments?status=pending&kind=webmention", headers=headers).json
    assert only["total"] == 1 and only["comments"][0]["webmention"]["source"] == source
    assert api.get("/api/moderation/comments?kind=pingback", headers=headers).status_code == 400
    # Actions work by id, as for comments.
    assert api.post(f"/api/moderation/comments/{comment.id}/spam", headers=headers).json["status"] == "spam"


def test_retention_erases_sender_addresses_and_old_rejected_records(app, other):
    from comments_service.moderation.retention import run_retention
    from comments_service.webmention.models import Webmention

    source, comment = mention(app, other)
    junk = other.page("/junk", "<p>no link here</p>")
    send(app.test_client(), junk, target_of(app, SLUG))
    run_jobs(app)
    assert received(app, junk)[0].status == "rejected"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=40)
    done = run_retention(hub_of(app), now=later)
    assert done["webmention_addresses_erased"] == 2 and done["webmention_records_deleted"] == 1
    with hub_of(app).sessions() as s:
        rows = s.query(Webmention).all()
    assert [(r.source, r.remote_addr) for r in rows] == [(source, None)]


def test_erasure_reaches_the_audit_entry_of_a_mention_its_source_took_down(app, other):
    """A mention removed because its source no longer links here leaves an audit entry with its
    author's name and text; erasing the author's address later takes those out too."""
    from comments_service.moderation.models import AuditEntry
    from comments_service.privacy import erase

    target = target_of(app, SLUG)
    card = h_entry(target).replace(
        "</a></span>", '</a><a class="u-email" href="mailto:alice@example.org">mail</a></span>', 1)
    source = other.page("/card", card)
    client = app.test_client()
    send(client, source, target)
    run_jobs(app)
    comment = received(app, source)[1]
    other.page("/card", "<html><body><p>I changed my mind.</p></body></html>")
    send(client, source, target)
    run_jobs(app)
    assert received(app, source)[1] is None

    def deletion():
        with hub_of(app).sessions() as s:
            return s.query(AuditEntry).filter_by(comment_id=comment.id, action="delete").one().detail

    assert deletion()["author"] == "Alice Example" and deletion()["person"]
    erase(hub_of(app), "Alice@Example.org", "anonymise")
    detail = deletion()
    assert detail["erased"] is True and "Alice" not in json.dumps(detail)
    assert not {"author", "excerpt", "source", "person"} & set(detail)


def test_privacy_export_and_erase_cover_mentions_by_their_authors_email(app, other):
    from comments_service.privacy import erase, personal_data
    from hubbub.core.publisher import comments_dir_for

    target = target_of(app, SLUG)
    card_with_email = h_entry(target).replace(
        "</a></span>", '</a><a class="u-email" href="mailto:Alice@Example.org">mail</a></span>', 1)
    source = other.page("/card", card_with_email)
    send(app.test_client(), source, target)
    run_jobs(app)
    comment = received(app, source)[1]
    assert comment.email == "Alice@Example.org"
    _, token = make_token(app)
    app.test_client().post(f"/api/moderation/comments/{comment.id}/approve", headers={"Authorization": f"Bearer {token}"})
    run_jobs(app)
    assert comment.id in published_ids(app, SLUG)

    data = personal_data(hub_of(app), "alice@example.org")
    assert [c["id"] for c in data["comments"]] == [comment.id]
    assert [w["source"] for w in data["webmentions"]] == [source]
    json.dumps(data)

    report = erase(hub_of(app), "alice@example.org", "anonymise")
    assert report.anonymised == 1 and report.other_records == 1
    from comments_service.webmention.models import Webmention

    with hub_of(app).sessions() as s:
        assert s.query(Webmention).count() == 0
    hub = hub_of(app)
    thread = json.loads((comments_dir_for(hub.config.site_dir, hub.config.output_dir) / f"{SLUG}.json").read_text())
    entry = next(c for c in thread["comments"] if c["id"] == comment.id)
    assert entry["author"] == "Anonymous" and entry["source"] == "" and entry["photo"] == "" and entry["url"] == ""
    assert "alice.example" not in json.dumps(thread) and str(other.port) not in json.dumps(thread)
