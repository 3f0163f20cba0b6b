"""The Alembic revisions build exactly the schema the models describe, on SQLite and PostgreSQL,
and a database of the previous revision upgrades with its rows intact."""

from __future__ import annotations

import datetime as dt

from alembic import command
from alembic.migration import MigrationContext
from sqlalchemy import text

import comments_service.moderation.models  # noqa: F401  (the moderation tables are in the metadata)
from comments_service import db
from comments_service.models import Base


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
