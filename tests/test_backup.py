"""`hubbub backup DEST`: a consistent, self-contained copy of a live SQLite database."""

from __future__ import annotations

import json
import sqlite3
import threading

from import_helpers import hubbub
from service_helpers import hub_of


def env_for(site, tmp_path, url):
    return {"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": url,
            "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "x"}


def write_comments(app, stop: threading.Event, written: list) -> None:
    """Keep writing: each transaction adds a comment and its check job, which must never be apart."""
    from comments_service.check import request_check
    from comments_service.models import Comment, utcnow

    n = 0
    while not stop.is_set():
        with hub_of(app).transaction() as s:
            c = Comment(thread="social-media-and-network-marketing", author=f"Writer {n}", email="w@example.org",
                        url="", body=f"comment {n}", html=f"<p>comment {n}</p>", created=utcnow(),
                        remote_addr="192.0.2.1", status="pending", akismet="unchecked", guard_reasons=[])
            s.add(c)
            s.flush()
            request_check(s, c)
        written.append(c.id)
        n += 1


def test_backup_while_another_thread_writes_is_consistent(site_dir, tmp_path, make_app):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    env = env_for(site_dir, tmp_path, url)
    app = make_app(env)
    stop, written = threading.Event(), []
    writer = threading.Thread(target=write_comments, args=(app, stop, written))
    writer.start()
    copies = []
    try:
        while len(written) < 20:  # the writer is going
            threading.Event().wait(0.01)
        for i in range(3):
            before = len(written)
            result = hubbub(env, "backup", tmp_path / "backups" / f"copy{i}.db")
            assert result.exit_code == 0, result.output
            copies.append((tmp_path / "backups" / f"copy{i}.db", before, len(written)))
    finally:
        stop.set()
        writer.join(10)
    assert len(written) > 20
    for path, before, after in copies:
        assert not path.with_name(path.name + "-wal").exists()
        assert oct(path.stat().st_mode & 0o777) == "0o600"
        with sqlite3.connect(path) as db:
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
            comments = {row[0] for row in db.execute("SELECT id FROM comments")}
            jobs = {json.loads(row[0])["comment"] for row in db.execute("SELECT payload FROM jobs WHERE kind = 'check'")}
        # A snapshot: between what was committed before and after the backup ran...
        assert before <= len(comments) <= after + 1
        # ...and never a comment without its job, nor a job without its comment.
        assert jobs == comments


def test_backup_into_a_directory_gets_a_dated_name(site_dir, tmp_path, make_app):
    url = f"sqlite:///{tmp_path / 'live.db'}"
    env = env_for(site_dir, tmp_path, url)
    make_app(env)
    (tmp_path / "backups").mkdir()
    result = hubbub(env, "backup", tmp_path / "backups")
    assert result.exit_code == 0, result.output
    made = list((tmp_path / "backups").glob("hubbub-*.db"))
    assert len(made) == 1 and str(made[0]) in result.output
    assert "Backed up 0 comments" in result.output and "secret_key" in result.output


def test_a_new_directory_named_with_a_slash_gets_a_dated_file_for_backups_and_exports(site_dir, tmp_path, make_app):
    env = env_for(site_dir, tmp_path, f"sqlite:///{tmp_path / 'live.db'}")
    make_app(env)
    for command, folder, suffix in (("backup", "new backups", ".db"), ("export", "exports", ".json")):
        result = hubbub(env, command, f"{tmp_path / folder}/")
        assert result.exit_code == 0, result.output
        made = list((tmp_path / folder).glob(f"hubbub-*{suffix}"))
        assert len(made) == 1 and str(made[0]) in result.output


def test_nothing_holding_addresses_is_written_where_the_site_is_published(site_dir, tmp_path, make_app):
    env = env_for(site_dir, tmp_path, f"sqlite:///{tmp_path / 'live.db'}")
    make_app(env)
    output = site_dir / "output"
    before = sorted(output.rglob("*"))
    for args in (("backup", output), ("backup", output / "old.db"), ("export", output / "c.json"),
                 ("privacy", "export", "someone@example.org", "--output", output / "p.json")):
        result = hubbub(env, *args)
        assert result.exit_code == 1 and "which is published as it is" in result.output, (args, result.output)
    assert sorted(output.rglob("*")) == before
    # Nor in its content, whose static files (content/images/...) the next build copies there.
    content = site_dir / "content"
    before = sorted(content.rglob("*"))
    for args in (("backup", content / "images" / "old.db"), ("export", content / "images" / "c.json"),
                 ("privacy", "export", "someone@example.org", "--output", content / "p.json")):
        result = hubbub(env, *args)
        assert result.exit_code == 1 and "the next build may publish" in result.output, (args, result.output)
    assert sorted(content.rglob("*")) == before


def test_postgresql_is_pointed_to_pg_dump(site_dir, tmp_path):
    env = env_for(site_dir, tmp_path, "postgresql+psycopg://hubbub:secret@db.example:5432/hubbub")
    result = hubbub(env, "backup", tmp_path / "x.db")
    assert result.exit_code == 1
    assert "pg_dump" in result.output and "secret" not in result.output  # the password is not printed
    assert not (tmp_path / "x.db").exists()


def test_clear_errors(site_dir, tmp_path, make_app):
    missing = env_for(site_dir, tmp_path, f"sqlite:///{tmp_path / 'none.db'}")
    result = hubbub(missing, "backup", tmp_path / "x.db")
    assert result.exit_code == 1 and "there is no database at" in result.output
    assert not (tmp_path / "none.db").exists()  # a backup never creates the live database

    live = tmp_path / "live.db"
    env = env_for(site_dir, tmp_path, f"sqlite:///{live}")
    make_app(env)
    onto_itself = hubbub(env, "backup", live)
    assert onto_itself.exit_code == 1 and "is the live database itself" in onto_itself.output


def test_restore_drill_the_service_started_on_a_backup_finds_everything(site_dir, tmp_path, make_app):
    """Back up a live database with rows in every table, put the copy in place of a lost one, and
    start the service on it: every comment, account and waiting job is there and works."""
    import shutil

    from durability_helpers import OTHER, assert_rows_kept, assert_service_finds_everything, seed
    from service_helpers import post

    env = env_for(site_dir, tmp_path, f"sqlite:///{tmp_path / 'live.db'}")
    live = make_app(env)
    with hub_of(live).engine.begin() as conn:
        written = seed(conn)
    client = live.test_client()
    posted = []
    for i in range(3):  # and comments posted through the service, each waiting for its check
        r = post(client, OTHER, body=f"Posted before the backup {i}")
        assert r.status_code == 202, r.get_data(as_text=True)
        posted.append(r.get_json()["id"])
    result = hubbub(env, "backup", tmp_path / "backups" / "drill.db")
    assert result.exit_code == 0, result.output
    assert post(client, OTHER, body="Posted after the backup").status_code == 202  # not in the copy

    restored_db = tmp_path / "restored" / "comments.db"  # the lost server's replacement
    restored_db.parent.mkdir()
    shutil.copy(tmp_path / "backups" / "drill.db", restored_db)
    restored = make_app(env_for(site_dir, tmp_path / "restored", f"sqlite:///{restored_db}"))
    assert_rows_kept(hub_of(restored).engine, written)
    assert_service_finds_everything(restored, written, tuple(posted))
