"""`hubbub import hubbub FILE --dry-run` writes nothing: not into a database that is there (SQLite
or PostgreSQL: comments, jobs, erasure records, thread files), and it does not make one where there
is none (as `hubbub export` refuses to)."""

from __future__ import annotations

import datetime as dt

from import_helpers import hubbub
from sqlalchemy import create_engine, func, select
from test_export import env_for, export, seed

from comments_service.models import Comment, ErasedEmail, Job


def test_a_dry_run_makes_no_database_where_there_is_none(site_dir, tmp_path, make_app):
    a_env = env_for(site_dir, tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    seed(make_app(a_env))
    export(a_env, tmp_path / "a.json")
    missing = tmp_path / "typo" / "comments.db"
    missing.parent.mkdir()
    dry = hubbub(env_for(site_dir, tmp_path, f"sqlite:///{missing}"), "import", "hubbub", tmp_path / "a.json",
                 "--dry-run")
    assert not missing.exists(), dry.output  # "Nothing was written", and an empty database appeared
    assert str(missing) in dry.output


def counts(url: str) -> dict:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {model.__tablename__: conn.scalar(select(func.count()).select_from(model))
                    for model in (Comment, Job, ErasedEmail)}
    finally:
        engine.dispose()


def test_a_dry_run_leaves_the_database_and_the_thread_files_alone(site_dir, tmp_path, make_app, database_url):
    a_env = env_for(site_dir, tmp_path, f"sqlite:///{tmp_path / 'a.db'}")
    source = make_app(a_env)
    seed(source)
    from service_helpers import hub_of

    with hub_of(source).transaction() as s:  # an erasure the export carries along
        s.add(ErasedEmail(digest="0" * 64, erased=dt.datetime.now(dt.UTC)))
    export(a_env, tmp_path / "a.json")

    b_env = env_for(site_dir, tmp_path, database_url)
    make_app(b_env)  # the database is there, empty
    threads = site_dir / "content" / "comments"
    before = counts(database_url), {f.name: f.read_bytes() for f in threads.glob("*.json")}
    dry = hubbub(b_env, "import", "hubbub", tmp_path / "a.json", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Would import 5 comments" in dry.output
    assert (counts(database_url), {f.name: f.read_bytes() for f in threads.glob("*.json")}) == before
    done = hubbub(b_env, "import", "hubbub", tmp_path / "a.json")
    assert "Imported 5 comments" in done.output
    assert counts(database_url)["comments"] == 5
