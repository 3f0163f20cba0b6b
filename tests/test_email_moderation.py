"""Moderators act from their email: the links of immediate and digest emails (read from a real
local SMTP server), a GET that only asks, a POST that acts, and links that are used, expired,
tampered with, revoked or out of the moderator's scope."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from moderation_helpers import add_moderator, audit, fast_password_hashing
from service_helpers import comment, hub_of, post, run_jobs
from smtp_helpers import SMTPServer

OTHER_SLUG = "email-lists-are-built-on-permission"  # Priya Raman's
LINK = re.compile(r"^  (Approve|Spam|Trash|Open in the queue): (\S+)\r?$", re.M)


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
    return app


def links(mail) -> list[dict[str, str]]:
    """Per comment of an email, in order: {"Approve": path, "Spam": ..., "Trash": ..., "Open in the queue": ...}."""
    found: list[dict[str, str]] = []
    for label, url in LINK.findall(mail.body):
        assert url.startswith("https://comments.hub.example/moderate/"), url
        if label == "Approve":
            found.append({})
        found[-1][label] = urlsplit(url).path
    return found


def new_comment(app, slug: str, **fields) -> int:
    cid = post(app.test_client(), slug, **fields).json["id"]
    run_jobs(app)
    return cid


def test_each_comment_in_an_email_has_its_links(app, smtp, slug):
    first = new_comment(app, slug, body="First of two")
    [mail] = smtp.to("now@example.org")
    [one] = links(mail)
    assert set(one) == {"Approve", "Spam", "Trash", "Open in the queue"}
    assert one["Open in the queue"] == f"/moderate/comments/{first}"
    assert len({one["Approve"], one["Spam"], one["Trash"]}) == 3
    assert "asks before it acts" in mail.body
    second = new_comment(app, OTHER_SLUG, body="Second")
    third = new_comment(app, slug, body="Third")
    assert len(smtp.to("now@example.org")) == 3
    from comments_service.moderation.notify import send_digests

    send_digests(hub_of(app))
    [digest] = smtp.to("daily@example.org")
    listed = links(digest)
    assert [entry["Open in the queue"] for entry in listed] == [f"/moderate/comments/{c}" for c in (third, second, first)]


def test_get_only_asks_post_acts_once(app, smtp, slug):
    cid = new_comment(app, slug, author="Grace", body="Worth *approving*")
    [entry] = links(smtp.to("now@example.org")[0])
    client = app.test_client()
    for _ in range(3):  # a mail scanner following the link changes nothing
        r = client.get(entry["Approve"])
        assert r.status_code == 200
    page = r.get_data(as_text=True)
    assert "Approve this comment?" in page and "Grace" in page and "<em>approving</em>" in page
    assert "now@example.org" in page and 'method="post"' in page
    assert r.headers["Cache-Control"] == "no-store"
    assert comment(app, cid).status == "pending"
    r = client.post(entry["Approve"])
    assert r.status_code == 200 and "approved and published" in r.get_data(as_text=True)
    assert comment(app, cid).status == "published"
    [entry_log] = audit(app, cid)
    assert (entry_log.moderator, entry_log.action, entry_log.detail["via"]) == ("now@example.org", "approve", "email")
    # Used: this link and its siblings for the same comment say so, and point to the queue.
    for label in ("Approve", "Spam", "Trash"):
        for method in (client.get, client.post):
            r = method(entry[label])
            assert r.status_code == 410, (label, method)
            text = r.get_data(as_text=True)
            assert "already used" in text and "approved and published" in text and "/moderate/" in text
    assert comment(app, cid).status == "published" and len(audit(app, cid)) == 1


def test_spam_and_trash_links(app, smtp, slug):
    spam_id = new_comment(app, slug, body="Cheap pills")
    trash_id = new_comment(app, slug, body="Off topic")
    mails = smtp.to("now@example.org")
    [spam_links], [trash_links] = links(mails[0]), links(mails[1])
    client = app.test_client()
    assert "Spam this comment?" in client.get(spam_links["Spam"]).get_data(as_text=True)
    assert "marked as spam" in client.post(spam_links["Spam"]).get_data(as_text=True)
    assert "Trash this comment?" in client.get(trash_links["Trash"]).get_data(as_text=True)
    assert client.post(trash_links["Trash"]).status_code == 200
    assert comment(app, spam_id).status == "spam" and comment(app, trash_id).status == "rejected"


def test_a_decision_made_elsewhere_first(app, smtp, slug):
    from comments_service.models import Comment
    from comments_service.moderation import actions
    from comments_service.moderation.auth import find_moderator

    cid = new_comment(app, slug)
    [entry] = links(smtp.to("now@example.org")[0])
    with hub_of(app).transaction() as s:
        actions.apply(hub_of(app), s, s.get(Comment, cid), "approve", find_moderator(s, "now@example.org"))
    r = app.test_client().get(entry["Approve"])
    assert "already published" in r.get_data(as_text=True) and 'method="post"' not in r.get_data(as_text=True)
    with hub_of(app).transaction() as s:
        actions.apply(hub_of(app), s, s.get(Comment, cid), "delete", find_moderator(s, "now@example.org"))
    r = app.test_client().get(entry["Spam"])
    assert r.status_code == 404 and "no longer exists" in r.get_data(as_text=True)


def test_expired_and_tampered_links(app, smtp, slug, monkeypatch):
    import itsdangerous.timed

    cid = new_comment(app, slug)
    [entry] = links(smtp.to("now@example.org")[0])
    client = app.test_client()
    real_time = itsdangerous.timed.time.time

    class EightDaysLater:
        @staticmethod
        def time():
            return real_time() + 8 * 86400

    monkeypatch.setattr(itsdangerous.timed, "time", EightDaysLater)
    for method in (client.get, client.post):
        r = method(entry["Approve"])
        assert r.status_code == 410 and "expired" in r.get_data(as_text=True)
    monkeypatch.undo()
    token = entry["Approve"].rsplit("/", 1)[1]
    forged = entry["Approve"][: -len(token)] + token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (forged, "/moderate/email/not-a-token", "/moderate/email/" + "x" * 700):
        r = client.post(bad)
        assert r.status_code == 404 and "does not work" in r.get_data(as_text=True)
    assert comment(app, cid).status == "pending"


def test_links_follow_the_moderators_account_and_scope(app, smtp, slug):
    from comments_service.moderation.auth import find_moderator, hash_password

    add_moderator(app, "priya@example.org", role="moderator", author_slug="priya-raman")
    mine = new_comment(app, OTHER_SLUG)  # on Priya's post
    [entry] = links(smtp.to("priya@example.org")[0])
    # Limited to another author since: the link no longer reaches this post.
    with hub_of(app).transaction() as s:
        find_moderator(s, "priya@example.org").author_slug = "gerry-cooper"
    r = app.test_client().post(entry["Approve"])
    assert r.status_code == 403 and "Not among the comments you moderate" in r.get_data(as_text=True)
    with hub_of(app).transaction() as s:
        find_moderator(s, "priya@example.org").author_slug = "priya-raman"
    assert app.test_client().get(entry["Approve"]).status_code == 200
    # A new password (or a disabled account) ends every link sent before.
    with hub_of(app).transaction() as s:
        find_moderator(s, "priya@example.org").password_hash = hash_password("another long password")
    r = app.test_client().post(entry["Approve"])
    assert r.status_code == 403 and "no longer works" in r.get_data(as_text=True)
    assert comment(app, mine).status == "pending"
    # The author-limited moderator never got a link for the other author's posts.
    new_comment(app, slug)
    assert len(smtp.to("priya@example.org")) == 1


def test_the_article_title_is_shown_as_text_once_escaped(app, smtp, site_dir, slug):
    """The manifest holds the title as HTML: the page shows it as the queue does, not "&amp;amp;"."""
    import json

    from hubbub.core.manifest import manifest_path

    path = manifest_path(site_dir / "output")
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["threads"][slug]["title"] = "Tips &amp; Tricks <b>bold</b>"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    new_comment(app, slug, body="About the tricks")
    [entry] = links(smtp.to("now@example.org")[0])
    client = app.test_client()
    for page in (client.get(entry["Approve"]).get_data(as_text=True),
                 client.post(entry["Approve"]).get_data(as_text=True)):
        assert "Tips &amp; Tricks bold" in page, page
        assert "&amp;amp;" not in page and "&lt;b&gt;" not in page
