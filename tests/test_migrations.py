"""The Alembic revisions build exactly the schema the models describe, on SQLite and PostgreSQL,
and a database of every earlier revision upgrades with its rows intact and the service using them."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.orm import Session

import comments_service.moderation.models  # noqa: F401  (the moderation tables are in the metadata)
from comments_service import db
from comments_service.models import Base


# SQLite cannot reflect the lower(email) index, so neither compares it (the query plans below check it).
@pytest.mark.filterwarnings("ignore:.*expression-based index")
def test_the_newest_revision_matches_the_models(database_url, tmp_path):
    from alembic.autogenerate import compare_metadata

    engine = db.make_engine(database_url)
    try:
        db.migrate(engine, tmp_path)
        with engine.connect() as conn:
            differences = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert differences == []
    finally:
        engine.dispose()


def test_an_older_database_upgrades_with_its_comments(database_url, tmp_path):
    engine = db.make_engine(database_url)
    try:
        cfg = db.alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002")
        now = dt.datetime(2026, 11, 1, 12, 0)
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO comments (thread, author, email, url, body, html, created, updated, user_agent, referrer, "
                "status, akismet, guard_reasons, check_attempts, notify, source) VALUES ('t', 'Old', 'old@example.org', "
                "'', 'kept', '<p>kept</p>', :now, :now, '', '', 'published', 'ham', '[]', 0, false, 'web')"),
                {"now": now})
        db.migrate(engine, tmp_path)
        with engine.connect() as conn:
            row = conn.execute(text("SELECT body, edit_token_hash, published_html FROM comments")).one()
            assert tuple(row) == ("kept", None, None)
            assert conn.execute(text("SELECT count(*) FROM subscriptions")).scalar() == 0
            assert conn.execute(text("SELECT count(*) FROM email_link_uses")).scalar() == 0
    finally:
        engine.dispose()


def _revisions() -> list[str]:
    """Every revision this version of Hubbub has, oldest first."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    return [script.revision for script in reversed(list(ScriptDirectory.from_config(cfg).walk_revisions()))]


@pytest.mark.parametrize("revision", _revisions()[:-1])
def test_a_database_of_every_earlier_revision_upgrades_with_everything_in_it(revision, service_env, make_app):
    """Rows of every kind written at an old revision survive `hubbub migrate`, and the service
    started on the result lists, logs in, runs the waiting job and moderates as usual."""
    from durability_helpers import assert_rows_kept, assert_service_finds_everything, seed
    from import_helpers import hubbub

    url = service_env["HUBBUB_DATABASE_URL"]
    engine = db.make_engine(url)
    try:
        cfg = db.alembic_config(engine)
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        with engine.begin() as conn:
            written = seed(conn)
        result = hubbub(service_env, "migrate")
        assert result.exit_code == 0 and f"migrated from {revision} to {_revisions()[-1]}" in result.output, \
            result.output
        assert_rows_kept(engine, written)
    finally:
        engine.dispose()
    assert_service_finds_everything(make_app(service_env), written)


def test_comments_by_email_whatever_its_case_use_an_index(database_url, tmp_path):
    """The returning-commenter check (every new comment) and unsubscribing match writers by
    lower(email): an index keeps them from reading the whole table (SQLite cannot reflect the index
    for the comparison above, so the query plans are checked instead)."""
    from sqlalchemy import func, select, update
    from sqlalchemy.dialects import postgresql, sqlite

    from comments_service.models import Comment

    engine = db.make_engine(database_url)
    try:
        db.migrate(engine, tmp_path)
        returning = select(Comment.id).where(func.lower(Comment.email) == "a@example.org",
                                             Comment.status == "published").limit(1)
        unsubscribe = update(Comment).where(func.lower(Comment.email) == "a@example.org",
                                            Comment.notify.is_(True)).values(notify=False)
        with engine.begin() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                conn.execute(text("SET LOCAL enable_seqscan = off"))  # an empty table: only whether it can
            for statement in (returning, unsubscribe):
                sql = str(statement.compile(dialect=postgresql.dialect() if postgres else sqlite.dialect(),
                                            compile_kwargs={"literal_binds": True}))
                plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(
                    ("EXPLAIN " if postgres else "EXPLAIN QUERY PLAN ") + sql))
                assert "ix_comments_email_lower" in plan, plan
    finally:
        engine.dispose()


def _upgrade_to(engine, revision: str) -> None:
    """The schema as an earlier Hubbub left it."""
    cfg = db.alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def _new_comment_id(engine) -> int:
    from durability_helpers import SEED

    from comments_service.models import Comment, insert_row, utcnow

    row = {**{k: v for k, v in SEED["comments"][0].items() if k != "id"}, "created": utcnow(), "updated": utcnow(),
           "published_at": utcnow()}
    with Session(engine) as session, session.begin():
        return insert_row(session, Comment, row)


def test_a_deleted_comments_id_is_never_handed_out_again(database_url, tmp_path):
    """The audit log, sent notifications, used email links and subscriptions name comments by id:
    a new comment taking a deleted one's id would inherit its history (and, say, count as already
    announced to the moderators)."""
    engine = db.make_engine(database_url)
    try:
        db.migrate(engine, tmp_path)
        first, newest = _new_comment_id(engine), _new_comment_id(engine)
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM comments WHERE id = :id"), {"id": newest})
        assert _new_comment_id(engine) == newest + 1 and newest == first + 1
    finally:
        engine.dispose()


def test_upgrading_keeps_replies_and_mentions_and_skips_the_ids_still_named(tmp_path):
    """Migration 0006 rebuilds SQLite's comments table (for AUTOINCREMENT): replies keep their
    parent, webmentions their comment, and ids the audit log still names are not handed out."""
    from durability_helpers import seed

    engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _upgrade_to(engine, "0005")
        with engine.begin() as conn:
            written = seed(conn)
            conn.execute(text("UPDATE webmentions SET comment_id = 2"))
            conn.execute(text("UPDATE audit_log SET comment_id = 40"))  # a comment deleted since
        db.migrate(engine, tmp_path)
        with engine.connect() as conn:
            parents = dict(conn.execute(text("SELECT id, parent_id FROM comments")).all())
            assert parents == {row["id"]: row["parent_id"] for row in written["comments"]}
            assert any(parents.values())
            assert conn.execute(text("SELECT comment_id FROM webmentions")).scalar() == 2
        assert _new_comment_id(engine) == 41
    finally:
        engine.dispose()


def test_a_reply_left_dangling_by_hand_does_not_stop_the_service(tmp_path):
    """A comment deleted with the sqlite3 shell (foreign keys off there) leaves its reply pointing
    nowhere: not the migration's doing, so neither a later start nor an upgrade refuses to run."""
    import sqlite3

    path = tmp_path / "hand.db"
    engine = db.make_engine(f"sqlite:///{path}")
    try:
        _upgrade_to(engine, "0005")
        parent, reply = _new_comment_id(engine), _new_comment_id(engine)
        with engine.begin() as conn:
            conn.execute(text("UPDATE comments SET parent_id = :p WHERE id = :r"), {"p": parent, "r": reply})
        engine.dispose()
        shell = sqlite3.connect(path)
        with shell:
            shell.execute("DELETE FROM comments WHERE id = ?", (parent,))
        shell.close()
        db.migrate(engine, tmp_path)  # the upgrade to the newest revision
        db.migrate(engine, tmp_path)  # and a start with the schema current
        with engine.connect() as conn:
            assert conn.execute(text("SELECT parent_id FROM comments WHERE id = :r"), {"r": reply}).scalar() == parent
    finally:
        engine.dispose()
