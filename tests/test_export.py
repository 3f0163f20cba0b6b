"""`hubbub export` and `hubbub import hubbub`: every field survives SQLite → PostgreSQL → SQLite."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest
from conftest import PG_ADMIN_URL, POSTGRES_UP
from import_helpers import db_comments, hubbub
from service_helpers import hub_of

from comments_service.export import columns

T0 = dt.datetime(2025, 5, 1, 12, 0, 0, 123456, tzinfo=dt.UTC)


def env_for(site, tmp_path, url: str) -> dict:
    return {"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": url,
            "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "x"}


def seed(app) -> None:
    """Comments that use every column with unusual values: the round trip must keep them all."""
    from comments_service.models import Comment

    with hub_of(app).transaction() as s:
        root = Comment(thread="social-media-and-network-marketing", author="Zoë “Quotes” Ng", email="Zoe@Example.org",
                       url="https://zoe.example/ä?x=1&y=2", body="**Bold** and `code`\n\nline two",
                       html="<p><strong>Bold</strong> and <code>code</code></p>\n<p>line two</p>",
                       created=T0, updated=T0 + dt.timedelta(minutes=5), published_at=T0 + dt.timedelta(hours=1),
                       remote_addr="2001:db8::1", user_agent="Mozilla/5.0 (X11) ✓", referrer="https://ref.example/",
                       status="published", akismet="ham", guard_reasons=[], check_attempts=0, notify=True,
                       source="web")
        s.add(root)
        s.flush()
        s.add_all([
            Comment(thread=root.thread, parent_id=root.id, author="Reply", email="r@example.org", url="",
                    body="reply", html="<p>reply</p>", created=T0 + dt.timedelta(days=1),
                    updated=T0 + dt.timedelta(days=1), published_at=T0 + dt.timedelta(days=2), remote_addr=None,
                    user_agent="", referrer="", status="published", akismet="unchecked", guard_reasons=[],
                    check_attempts=0, notify=False, source="import", import_key="wordpress:old.example:77"),
            Comment(thread="local-seo-for-small-businesses-start-with-the-map", author="Held", email="h@example.org",
                    url="", body="too many links", html="<p>too many links</p>", created=T0 + dt.timedelta(days=3),
                    updated=T0 + dt.timedelta(days=3), remote_addr="192.0.2.9", user_agent="ua", referrer="",
                    status="pending", akismet="error", guard_reasons=["links:4", "moderation-word:casino"],
                    check_attempts=3, check_due=T0 + dt.timedelta(days=3, minutes=4), notify=False, source="form"),
            Comment(thread="local-seo-for-small-businesses-start-with-the-map", author="Spammer", email="s@spam.example",
                    url="http://spam.example", body="buy", html="<p>buy</p>", created=T0 + dt.timedelta(days=4),
                    updated=T0 + dt.timedelta(days=4), remote_addr="192.0.2.10", user_agent="bot", referrer="",
                    status="spam", akismet="spam", guard_reasons=[], check_attempts=1, notify=False, source="api"),
            Comment(thread="social-media-and-network-marketing", author="Rejected", email="no@example.org", url="",
                    body="rude", html="<p>rude</p>", created=T0 + dt.timedelta(days=5),
                    updated=T0 + dt.timedelta(days=6), remote_addr="192.0.2.11", user_agent="", referrer="",
                    status="rejected", akismet="ham", guard_reasons=[], check_attempts=0, notify=False, source="web"),
        ])


def export(env, path) -> dict:
    result = hubbub(env, "export", path)
    assert result.exit_code == 0, result.output
    return json.loads(path.read_text(encoding="utf-8"))


def pg_database():
    import psycopg

    name = f"hubbub_export_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def pg_drop(name):
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_export_format(site_dir, tmp_path, sqlite_url, make_app):
    env = env_for(site_dir, tmp_path, sqlite_url)
    seed(make_app(env))
    data = export(env, tmp_path / "out" / "export.json")
    assert data["format"] == "hubbub-comments" and data["version"] == 1 and data["database"] == "sqlite"
    assert data["count"] == len(data["comments"]) == 5
    first = data["comments"][0]
    assert set(first) == set(columns())
    assert first["created"] == "2025-05-01T12:00:00.123456+00:00"
    assert first["email"] == "Zoe@Example.org" and first["remote_addr"] == "2001:db8::1"
    assert data["comments"][1]["parent_id"] == first["id"]
    assert data["comments"][2]["guard_reasons"] == ["links:4", "moderation-word:casino"]
    assert oct((tmp_path / "out" / "export.json").stat().st_mode & 0o777) == "0o600"
    # stdout works too (for pipes), and the file is valid JSON either way
    piped = hubbub(env, "export")
    assert json.loads(piped.stdout)["count"] == 5


@pytest.mark.skipif(not POSTGRES_UP, reason="PostgreSQL is not answering on 127.0.0.1:5432")
def test_round_trip_sqlite_postgresql_sqlite_keeps_every_field(site_dir, tmp_path, sqlite_url, make_app):
    source_env = env_for(site_dir, tmp_path, sqlite_url)
    seed(make_app(source_env))
    original = export(source_env, tmp_path / "a.json")

    name = pg_database()
    try:
        pg_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
        pg_env = env_for(site_dir, tmp_path, pg_url)
        result = hubbub(pg_env, "import", "hubbub", tmp_path / "a.json")
        assert result.exit_code == 0, result.output
        assert "Imported 5 comments" in result.output and "0 were already there" in result.output
        assert "1 pending comment will be checked again" in result.output
        in_pg = export(pg_env, tmp_path / "b.json")
        assert in_pg["database"] == "postgresql"
        assert in_pg["comments"] == original["comments"]

        again = hubbub(pg_env, "import", "hubbub", tmp_path / "a.json")
        assert "Imported 0 comments" in again.output and "5 were already there" in again.output
        # The id sequence moved past the imported ids: a new comment does not collide.
        app = make_app(pg_env)
        from service_helpers import post

        r = post(app.test_client(), "social-media-and-network-marketing")
        assert r.status_code == 202 and r.get_json()["id"] > max(c["id"] for c in original["comments"])
    finally:
        pg_drop(name)

    back_url = f"sqlite:///{tmp_path / 'back.db'}"
    back_env = env_for(site_dir, tmp_path, back_url)
    assert hubbub(back_env, "import", "hubbub", tmp_path / "b.json").exit_code == 0
    assert export(back_env, tmp_path / "c.json")["comments"] == original["comments"]


def test_import_into_a_database_with_other_comments_renumbers_and_stays_idempotent(site_dir, tmp_path, make_app):
    a_env = env_for(site_dir, tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    seed(make_app(a_env))
    export(a_env, tmp_path / "a.json")

    b_url = f"sqlite:///{tmp_path / 'b.db'}"
    b_env = env_for(site_dir, tmp_path, b_url)
    from service_helpers import post, run_jobs

    app = make_app(b_env)
    assert post(app.test_client(), "social-media-and-network-marketing", body="already here").status_code == 202
    run_jobs(app)
    threads = site_dir / "content" / "comments"
    published = {f.name: f.read_bytes() for f in threads.glob("*.json")}
    dry = hubbub(b_env, "import", "hubbub", tmp_path / "a.json", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would import 5 comments" in dry.output and "1 would get new ids" in dry.output
    assert "Nothing was written" in dry.output
    assert len(db_comments(b_url)) == 1  # nothing stored, nothing published
    assert {f.name: f.read_bytes() for f in threads.glob("*.json")} == published
    result = hubbub(b_env, "import", "hubbub", tmp_path / "a.json")
    assert "Imported 5 comments" in result.output and "1 got new ids" in result.output
    rows = db_comments(b_url)
    assert len(rows) == 6
    root = next(c for c in rows if c.author == "Zoë “Quotes” Ng")
    assert root.id != 1 and root.import_key.startswith("hubbub:social-media-and-network-marketing:")
    reply = next(c for c in rows if c.author == "Reply")
    assert reply.parent_id == root.id  # the reply follows its renumbered parent
    again = hubbub(b_env, "import", "hubbub", tmp_path / "a.json")
    assert "Imported 0 comments" in again.output and len(db_comments(b_url)) == 6


@pytest.mark.parametrize("content, message", [
    ("not json", "is not JSON"),
    ('{"format": "something-else"}', "is not a Hubbub export"),
    ('{"format": "hubbub-comments", "version": 99, "comments": []}', "version 99"),
    ('{"format": "hubbub-comments", "version": 1, "comments": [{"id": 1}]}', "field 'thread' is missing"),
    ('{"format": "hubbub-comments", "version": 1, "comments": [{"id": 1, "thread": "t", "author": "a", "email": "",'
     ' "body": "", "html": "", "created": "2020-01-01T00:00:00+00:00", "status": "approved"}]}',
     "status 'approved' is not one of"),
    ('{"format": "hubbub-comments", "version": 1, "comments": [{"id": 1, "thread": "t", "author": "a", "email": "",'
     ' "body": "", "html": "", "created": "2020-01-01 00:00", "status": "pending"}]}', "has no UTC offset"),
])
def test_bad_export_files_are_refused(site_dir, tmp_path, sqlite_url, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    result = hubbub(env_for(site_dir, tmp_path, sqlite_url), "import", "hubbub", path)
    assert result.exit_code == 1 and message in result.output and "nothing was imported" in result.output


def test_export_refuses_a_database_that_is_not_there(site_dir, tmp_path):
    """A cron job with the wrong environment must not write "0 comments" from a new empty database."""
    missing = tmp_path / "nowhere" / "hubbub.db"
    for args in (["export"], ["privacy", "export", "a@example.org"]):
        result = hubbub(env_for(site_dir, tmp_path, f"sqlite:///{missing}"), *args)
        assert result.exit_code == 1, result.output
        assert f"there is no comment database at {missing}" in result.output and "HUBBUB_DATABASE_URL" in result.output
    assert not missing.exists()


def test_a_new_database_is_readable_by_its_owner_only(tmp_path):
    """It holds email and IP addresses and password hashes, like the backups (0600)."""
    from comments_service import db

    path = tmp_path / "new.db"
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        db.migrate(engine, tmp_path)
        for name in ("new.db", "new.db-wal"):
            assert (tmp_path / name).stat().st_mode & 0o777 == 0o600, name
    finally:
        engine.dispose()


@pytest.mark.skipif(not POSTGRES_UP, reason="PostgreSQL is not running on 127.0.0.1:5432")
def test_an_import_never_moves_postgresqls_ids_backwards(site_dir, tmp_path, sqlite_url, make_app):
    """Re-importing an export after the newest comments were deleted: the next new comment must not
    get a deleted one's id (the audit log and sent notifications still name it)."""
    import psycopg
    from service_helpers import post

    seed(make_app(env_for(site_dir, tmp_path, sqlite_url)))
    original = export(env_for(site_dir, tmp_path, sqlite_url), tmp_path / "a.json")
    newest_imported = max(c["id"] for c in original["comments"])
    name = pg_database()
    try:
        pg_env = env_for(site_dir, tmp_path, f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}")
        assert hubbub(pg_env, "import", "hubbub", tmp_path / "a.json").exit_code == 0
        app = make_app(pg_env)
        handed_out = post(app.test_client(), "social-media-and-network-marketing").get_json()["id"]
        with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}", autocommit=True) as conn:
            conn.execute("DELETE FROM comments WHERE id IN (%s, %s)", (handed_out, newest_imported))
        result = hubbub(pg_env, "import", "hubbub", tmp_path / "a.json")
        assert "Imported 1 comment from" in result.output, result.output
        assert post(app.test_client(), "social-media-and-network-marketing").get_json()["id"] > handed_out
    finally:
        pg_drop(name)
