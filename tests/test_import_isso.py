"""`hubbub import isso DB`: a database made by the real Isso 0.14 (tests/data/make_isso_db.py made
tests/data/isso-comments.db through Isso's own HTTP API), matched to the site's articles, stored
once, published; votes dropped with a note."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import sqlite3

import pytest
from import_helpers import DATA, db_comments, hubbub, rebuild

ISSO_DB = DATA / "isso-comments.db"
SOCIAL = "social-media-and-network-marketing"
SEO = "local-seo-for-small-businesses-start-with-the-map"
EMAIL = "email-lists-are-built-on-permission"
OLD_SOCIAL = "isso:/2009/09/social-media-and-network-marketing/"
OLD_SEO = "isso:/posts/local-seo-for-small-businesses-start-with-the-map/"


@pytest.fixture
def site(site_dir):
    rebuild(site_dir)
    return site_dir


@pytest.fixture
def isso_db(tmp_path):
    """A copy, so that a test can never change the fixture."""
    copy = tmp_path / "isso.db"
    shutil.copy2(ISSO_DB, copy)
    return copy


def test_the_fixture_was_made_by_isso():
    with sqlite3.connect(ISSO_DB) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 5  # Isso's schema version
        modes = dict(conn.execute("SELECT mode, COUNT(*) FROM comments GROUP BY mode").fetchall())
    assert modes == {1: 7, 2: 1, 4: 1}


def test_import_matches_threads_and_keeps_what_isso_kept(site, service_env, database_url, isso_db):
    result = hubbub(service_env, "import", "isso", isso_db)
    assert result.exit_code == 0, result.output
    assert "7 new (6 published, 1 pending), 0 already imported" in result.output
    assert "1 comment on a thread with no matching article" in result.output
    assert "a-post-that-was-never-moved" in result.output
    assert "4 likes and dislikes on 2 comments were not imported" in result.output
    assert "1 comment asked Isso for reply emails" in result.output
    assert "1 reply to comments deleted in Isso is shown as top-level" in result.output

    rows = {c.import_key: c for c in db_comments(database_url)}
    assert len(rows) == 7
    first, reply, thanks = rows[f"{OLD_SOCIAL}:1"], rows[f"{OLD_SOCIAL}:2"], rows[f"{OLD_SOCIAL}:3"]
    assert (first.thread, first.author, first.email, first.url, first.remote_addr) == (
        SOCIAL, "Nina Petrova", "nina@readers.example", "http://nina.example", "203.0.113.0")
    assert first.created == dt.datetime(2011, 3, 1, 9, 0, tzinfo=dt.UTC)
    assert first.body.startswith("I agree with **most** of this.")
    assert '<a href="https://nina.example/notes"' in first.html and "<strong>most</strong>" in first.html
    assert reply.author == "Alan & Co <Consulting>"  # Isso stored it escaped
    assert reply.parent_id == first.id and thanks.parent_id == first.id
    assert rows[f"{OLD_SOCIAL}:4"].status == "pending" and rows[f"{OLD_SOCIAL}:4"].email == ""
    orphan = rows[f"{OLD_SEO}:7"]
    assert orphan.thread == SEO and orphan.parent_id is None  # its parent was deleted in Isso
    assert f"{OLD_SEO}:6" not in rows  # the deleted placeholder, with the email Isso left behind
    assert "regret@example.org" not in {c.email for c in rows.values()}
    pat = rows["isso:/blog/?p=77:9"]
    assert pat.thread == EMAIL and pat.url == "https://pat.example/?a=1&b='x'"  # matched by title
    assert all(c.akismet == "unchecked" and c.source == "import" and not c.notify for c in rows.values())

    thread = json.loads((site / "content" / "comments" / f"{SOCIAL}.json").read_text(encoding="utf-8"))
    assert [c["author"] for c in thread["comments"]] == ["Nina Petrova", "Alan & Co <Consulting>", "Nina Petrova"]
    page = (site / "output" / "posts" / SOCIAL / "index.html").read_text(encoding="utf-8")
    assert "Alan &amp; Co &lt;Consulting&gt;" in page and "Thanks both!" in page
    assert "Still in the queue" not in page and "nina@readers.example" not in page
    rebuild(site)
    assert (site / "output" / "posts" / SOCIAL / "index.html").read_text(encoding="utf-8") == page

    again = hubbub(service_env, "import", "isso", isso_db)
    assert "0 new, 7 already imported" in again.output
    assert len(db_comments(database_url)) == 7


def test_dry_run_writes_nothing(site, tmp_path, sqlite_url, isso_db):
    env = {"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": sqlite_url,
           "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "x"}
    result = hubbub(env, "import", "isso", isso_db, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "7 comments (1 pending, 6 published)" in result.output and "Nothing was written" in result.output
    assert not (site / "content" / "comments" / f"{SOCIAL}.json").exists()
    assert not (tmp_path / "comments.db").exists()


@pytest.mark.parametrize("make, message", [
    (lambda p: p.write_bytes(b"not a database at all, just text" * 10), "is not a SQLite database"),
    (lambda p: sqlite3.connect(p).execute("CREATE TABLE notes (x)").connection.commit(), "it has no threads table"),
    (lambda p: sqlite3.connect(p).executescript(
        "CREATE TABLE threads (id INTEGER, uri TEXT); CREATE TABLE comments (id INTEGER, tid INTEGER);"),
     "its comments table lacks created, mode, parent, text"),
    (lambda p: None, "does not exist"),
])
def test_files_that_are_not_isso_databases_fail_clearly(site_dir, tmp_path, sqlite_url, make, message):
    path = tmp_path / "isso.db"
    make(path)
    env = {"HUBBUB_SITE_DIR": str(site_dir), "HUBBUB_DATABASE_URL": sqlite_url,
           "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "x"}
    result = hubbub(env, "import", "isso", path)
    assert result.exit_code == 1
    assert message in result.output and "nothing was imported" in result.output, result.output
