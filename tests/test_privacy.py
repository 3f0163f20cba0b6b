"""`hubbub privacy export|erase EMAIL`: a commenter's data out, or gone, and the site republished."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from import_helpers import db_comments, hubbub, rebuild
from service_helpers import hub_of, run_jobs

T1 = "social-media-and-network-marketing"
T2 = "email-lists-are-built-on-permission"


@pytest.fixture
def site(site_dir):
    rebuild(site_dir)  # publishing must patch this copy's output/
    return site_dir


def add(app, thread, author, email, status="published", parent=None, body=None) -> int:
    from comments_service.check import request_publish
    from comments_service.models import Comment, utcnow

    now = utcnow()
    with hub_of(app).transaction() as s:
        c = Comment(thread=thread, parent_id=parent, author=author, email=email, url=f"https://{author.split()[0].lower()}.example/",
                    body=body or f"{author} says hello", html=f"<p>{body or author + ' says hello'}</p>",
                    created=now, updated=now, published_at=now if status == "published" else None,
                    remote_addr="198.51.100.77", user_agent="PatBrowser/1.0", referrer="https://ref.example/",
                    status=status, akismet="ham", guard_reasons=[], notify=True)
        s.add(c)
        s.flush()
        if status == "published":
            request_publish(s, thread, delay=0)
        return c.id


@pytest.fixture
def conversation(site, service_env, make_app):
    """Pat wrote comments in two threads, with replies around them; the pages show them."""
    app = make_app(service_env)
    ids = {}
    ids["other_root"] = add(app, T1, "Olive Other", "olive@example.org", body="Olive starts")
    ids["pat_root"] = add(app, T1, "Pat Smith", "Pat@Example.org", body="Pat's first thought")
    ids["pat_reply"] = add(app, T1, "Pat Smith", "pat@example.org", parent=ids["pat_root"], body="Pat adds more")
    ids["olive_reply"] = add(app, T1, "Olive Other", "olive@example.org", parent=ids["pat_reply"], body="Olive answers")
    ids["pat_to_olive"] = add(app, T1, "Pat Smith", " PAT@example.org ", parent=ids["other_root"], body="Pat replies")
    ids["olive_deep"] = add(app, T1, "Olive Other", "olive@example.org", parent=ids["pat_to_olive"], body="Olive again")
    ids["pat_t2"] = add(app, T2, "Pat Smith", "pat@example.org", body="Pat on email lists")
    ids["pat_pending"] = add(app, T2, "Pat Smith", "pat@example.org", status="pending", body="Pat waits")
    ids["pat_spam"] = add(app, T2, "Pat Smith", "pat@example.org", status="spam", body="Pat spam?")
    run_jobs(app)
    page = (site / "output" / "posts" / T1 / "index.html").read_text(encoding="utf-8")
    assert "Pat Smith" in page and "Pat adds more" in page
    return app, ids


def page(site, slug):
    return (site / "output" / "posts" / slug / "index.html").read_text(encoding="utf-8")


def thread_file(site, slug):
    return json.loads((site / "content" / "comments" / f"{slug}.json").read_text(encoding="utf-8"))


def test_export_gives_everything_stored_under_the_address(site, service_env, conversation, tmp_path):
    _app, ids = conversation
    result = hubbub(service_env, "privacy", "export", "PAT@example.org")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["format"] == "hubbub-personal-data" and data["email"] == "pat@example.org"
    mine = {c["id"] for c in data["comments"]}
    assert mine == {ids[k] for k in ("pat_root", "pat_reply", "pat_to_olive", "pat_t2", "pat_pending", "pat_spam")}
    one = data["comments"][0]
    assert one["remote_addr"] == "198.51.100.77" and one["user_agent"] == "PatBrowser/1.0" and one["notify"] is True

    out = tmp_path / "pat.json"
    assert hubbub(service_env, "privacy", "export", "pat@example.org", "--output", out).exit_code == 0
    assert len(json.loads(out.read_text(encoding="utf-8"))["comments"]) == 6
    assert oct(out.stat().st_mode & 0o777) == "0o600"


def test_export_includes_what_other_parts_register(site, service_env, conversation):
    from comments_service.signals import personal_data_exported

    def guestbook(hub, session, email):  # a part of its own name: "subscriptions" is a real one
        return "guestbook", [f"entry by {email}"]

    personal_data_exported.connect(guestbook)
    try:
        data = json.loads(hubbub(service_env, "privacy", "export", "pat@example.org").stdout)
    finally:
        personal_data_exported.disconnect(guestbook)
    assert data["guestbook"] == ["entry by pat@example.org"]


def test_erase_anonymises_published_comments_deletes_the_rest_and_republishes(site, service_env, database_url,
                                                                              conversation):
    _app, ids = conversation
    result = hubbub(service_env, "privacy", "erase", "pat@EXAMPLE.org", "--yes")
    assert result.exit_code == 0, result.output
    assert "4 comments anonymised, 2 removed" in result.output
    assert "Republished 2 threads" in result.output

    rows = {c.id: c for c in db_comments(database_url)}
    assert ids["pat_pending"] not in rows and ids["pat_spam"] not in rows
    for key in ("pat_root", "pat_reply", "pat_to_olive", "pat_t2"):
        c = rows[ids[key]]
        assert (c.author, c.email, c.url, c.remote_addr, c.user_agent, c.referrer, c.notify) == (
            "Anonymous", "", "", None, "", "", False)
        assert c.status == "published"
    assert rows[ids["pat_reply"]].body == "Pat adds more"  # the text stays, only who wrote it goes
    assert rows[ids["olive_reply"]].parent_id == ids["pat_reply"]

    for slug in (T1, T2):
        text = json.dumps(thread_file(site, slug))
        assert "Pat Smith" not in text and "pat.example" not in text
        html = page(site, slug)
        assert "Pat Smith" not in html and "pat.example" not in html
    assert "Pat adds more" in page(site, T1) and "Anonymous" in page(site, T1)
    assert json.loads(hubbub(service_env, "privacy", "export", "pat@example.org").stdout)["comments"] == []


def test_erase_remove_keeps_replies_in_the_conversation(site, service_env, database_url, conversation):
    _app, ids = conversation
    result = hubbub(service_env, "privacy", "erase", "pat@example.org", "--remove", "--yes")
    assert result.exit_code == 0, result.output
    assert "0 comments anonymised, 6 removed" in result.output
    rows = {c.id: c for c in db_comments(database_url)}
    assert set(rows) == {ids["other_root"], ids["olive_reply"], ids["olive_deep"]}
    # Olive's reply to Pat's (removed) reply to Pat's (removed) root moves to the top level;
    # her reply under Pat's reply to her own root moves up to that root.
    assert rows[ids["olive_reply"]].parent_id is None
    assert rows[ids["olive_deep"]].parent_id == ids["other_root"]
    assert rows[ids["olive_deep"]].updated == rows[ids["olive_deep"]].created  # not an edit of Olive's comment
    assert [c["author"] for c in thread_file(site, T1)["comments"]] == ["Olive Other"] * 3
    assert "Pat" not in page(site, T1) and "Olive answers" in page(site, T1)
    gone = site / "content" / "comments" / f"{T2}.json"  # no comments left: no file, or an empty list
    assert not gone.exists() or thread_file(site, T2)["comments"] == []
    assert "Pat on email lists" not in page(site, T2)


@pytest.mark.parametrize("how", [[], ["--remove"]])
def test_erase_leaves_the_audit_log_without_the_persons_name_or_text(site, service_env, conversation, how):
    """Moderators' edits keep what they replaced, deletions what was deleted: erasure takes that out
    (of entries of comments deleted before it too), leaving who did what and when."""
    from sqlalchemy import select

    from comments_service.models import Comment
    from comments_service.moderation.actions import apply
    from comments_service.moderation.models import AuditEntry

    app, ids = conversation
    hub, mod = hub_of(app), SimpleNamespace(email="mod@example.org", limited_to_author=None)
    with hub.transaction() as s:
        apply(hub, s, s.get(Comment, ids["pat_root"]), "edit", mod, edit={"author": "P. Smith"})
        # Edited, then deleted before the erasure: both entries are found through the deletion's.
        apply(hub, s, s.get(Comment, ids["pat_t2"]), "edit", mod, edit={"author": "Patricia Smith"})
        apply(hub, s, s.get(Comment, ids["pat_t2"]), "delete", mod)
        apply(hub, s, s.get(Comment, ids["olive_reply"]), "edit", mod, edit={"body": "Olive, edited"})
    assert hubbub(service_env, "privacy", "erase", "pat@example.org", "--yes", *how).exit_code == 0
    with hub.transaction() as s:
        entries = [(e.comment_id, e.action, e.moderator, e.detail) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    text = json.dumps([detail for *_rest, detail in entries])
    assert "Pat" not in text and "pat.example" not in text
    of = {key: [(action, who, detail) for cid, action, who, detail in entries if cid == ids[key]]
          for key in ("pat_root", "pat_t2", "olive_reply")}
    assert [(action, who) for action, who, _ in of["pat_root"]] == [("edit", "mod@example.org")]
    assert of["pat_root"][0][2]["erased"]
    assert [action for action, _, _ in of["pat_t2"]] == ["edit", "delete"]
    assert of["pat_t2"][1][2] == {"via": "ui", "thread": T2, "erased": True}
    assert of["olive_reply"][0][2]["before"] == {"body": "Olive answers"}  # someone else's stays


def test_erase_asks_first_and_changes_nothing_on_no(site, service_env, database_url, conversation):
    before = [(c.id, c.author) for c in db_comments(database_url)]
    result = hubbub(service_env, "privacy", "erase", "pat@example.org", input="n\n")
    assert result.exit_code == 1 and "6 comments were written with pat@example.org" in result.output
    assert [(c.id, c.author) for c in db_comments(database_url)] == before


def test_erase_unknown_and_invalid_addresses(site, service_env, conversation):
    nobody = hubbub(service_env, "privacy", "erase", "nobody@example.org", "--yes").output
    assert "Erased nobody@example.org: 0 comments anonymised, 0 removed." in nobody
    assert "No import will bring back what was written with this address until now." in nobody
    asked = hubbub(service_env, "privacy", "erase", "other@example.org", input="n\n")
    assert "0 comments were written with other@example.org: erase their other records" in asked.output
    assert asked.exit_code == 1 and "Erased" not in asked.output
    bad = hubbub(service_env, "privacy", "erase", "not-an-email", "--yes")
    assert bad.exit_code == 1 and "is not an email address" in bad.output


@pytest.mark.parametrize("how, left_out", [(["--remove"], 6), ([], 2)])
def test_an_export_made_before_an_erasure_does_not_bring_the_person_back(site, service_env, database_url,
                                                                         conversation, tmp_path, how, left_out):
    """Restoring a backup export re-applies every erasure made since: the address is not kept, a
    keyed digest of it is (and nothing else of the person). Anonymised comments are recognised as
    already there; removed ones and the never-published ones are left out."""
    _app, ids = conversation
    assert hubbub(service_env, "export", tmp_path / "before.json").exit_code == 0
    assert hubbub(service_env, "privacy", "erase", "pat@example.org", "--yes", *how).exit_code == 0
    kept = {c.id for c in db_comments(database_url)}
    restored = hubbub(service_env, "import", "hubbub", tmp_path / "before.json")
    assert restored.exit_code == 0, restored.output
    assert f"{left_out} comments of people erased since (hubbub privacy erase) were left out" in restored.output
    rows = db_comments(database_url)
    assert not [c for c in rows if "pat" in c.email.lower() or c.author == "Pat Smith"]
    assert {c.id for c in rows} == kept
    assert "Pat Smith" not in page(site, T1) and "Olive answers" in page(site, T1)
    # What is kept of Pat: one digest, not the address.
    import sqlite3

    if database_url.startswith("sqlite"):
        with sqlite3.connect(database_url.split("///", 1)[1]) as conn:
            kept = [row for table in ("erased_emails",) for row in conn.execute(f"SELECT * FROM {table}")]
        assert len(kept) == 1 and "pat" not in str(kept).lower()


def test_an_erasure_moves_with_the_export_and_spares_what_was_written_after(site, service_env, database_url,
                                                                            conversation, tmp_path, make_app):
    """The export carries the erasures (digests), so a database made from it (SQLite to
    PostgreSQL, say) keeps them; a comment the person wrote after being erased is theirs to keep."""
    app, _ids = conversation
    assert hubbub(service_env, "export", tmp_path / "before.json").exit_code == 0
    assert hubbub(service_env, "privacy", "erase", "pat@example.org", "--yes", "--remove").exit_code == 0
    add(app, T1, "Pat Smith", "pat@example.org", body="Pat is back, by choice")
    after = hubbub(service_env, "export", tmp_path / "after.json")
    assert after.exit_code == 0
    data = json.loads((tmp_path / "after.json").read_text(encoding="utf-8"))
    assert len(data["erased_emails"]) == 1 and "pat" not in json.dumps(data["erased_emails"]).lower()

    moved = {**service_env, "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'moved.db'}"}
    assert hubbub(moved, "import", "hubbub", tmp_path / "after.json").exit_code == 0
    again = hubbub(moved, "import", "hubbub", tmp_path / "before.json")
    assert "6 comments of people erased since (hubbub privacy erase) were left out" in again.output, again.output
    pats = [c for c in db_comments(moved["HUBBUB_DATABASE_URL"]) if c.author == "Pat Smith"]
    assert [c.body for c in pats] == ["Pat is back, by choice"]
