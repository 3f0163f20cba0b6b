"""The Alembic revisions build exactly the schema the models describe, on SQLite and PostgreSQL,
and a database of every earlier revision upgrades with its rows intact and the service using them."""

from __future__ import annotations

import datetime as dt

import pytest
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
