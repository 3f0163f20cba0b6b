"""Publishing from a database that did not publish the thread file must not wipe its comments.

The thread files (content/comments/) hold what is published; the database holds every comment. A
service started on another database than the one that published a site's threads (a new empty
one after switching HUBBUB_DATABASE_URL, an older backup restored without its thread files, an
import not done yet) used to rewrite a thread file from its own rows at the first approval: the
published comments it did not know vanished from the file and the page, for good, and new
comments took their ids. Now that publish waits, says why on /api/health, and goes through once
the comments are in the database (`hubbub import hubbub`); deleting comments the database did
publish still takes them off the page.
"""

from __future__ import annotations

import json

import pytest
from import_helpers import hubbub
from service_helpers import hub_of, post, run_jobs, set_status

SLUG = "welcome"


@pytest.fixture
def site(tmp_path):
    from hubbub.build import build_site
    from hubbub.init_site import init_site

    root = tmp_path / "site"
    init_site(root, "Foreign threads", "Jane Doe", None)
    build_site(root)
    return root


def env_for(site, tmp_path, name: str) -> dict:
    url = name if "://" in name else f"sqlite:///{tmp_path / name}"
    return {"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": url,
            "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "test-secret",
            "HUBBUB_RATE_LIMIT": "1000/minute", "HUBBUB_REBUILD_AFTER_PUBLISH": "0"}


def approve_new(app, author: str, body: str, created: str | None = None) -> int:
    """Post a comment through the API and approve it; `created` dates it (ISO), so that comments of
    two databases are never written in the same second, as they are not on a real site."""
    answer = post(app.test_client(), SLUG, author=author, email=f"{author.lower()}@example.org", body=body)
    assert answer.status_code == 202, answer.get_json()
    comment_id = answer.get_json()["id"]
    if created:
        import datetime as dt

        from comments_service.models import Comment

        with hub_of(app).transaction() as s:
            s.get(Comment, comment_id).created = dt.datetime.fromisoformat(created)
    set_status(app, comment_id, "published")
    run_jobs(app)
    return comment_id


def thread_file(site) -> list[tuple[int, str]]:
    data = json.loads((site / "content" / "comments" / f"{SLUG}.json").read_text(encoding="utf-8"))
    return [(c["id"], c["author"]) for c in data["comments"]]


def page(site) -> str:
    return (site / "output" / "posts" / SLUG / "index.html").read_text(encoding="utf-8")


def test_a_new_database_does_not_wipe_the_published_comments_of_the_old(site, tmp_path, make_app, database_url):
    old = make_app(env_for(site, tmp_path, "old.db"))
    approve_new(old, "Alice", "Alice was here first", "2024-03-01T10:00:00+00:00")
    approve_new(old, "Bob", "Bob replied on the old database", "2024-03-01T10:05:00+00:00")
    assert thread_file(site) == [(1, "Alice"), (2, "Bob")]
    assert hubbub(env_for(site, tmp_path, "old.db"), "export", tmp_path / "old.json").exit_code == 0

    # The operator points the service at a new database and forgets to import the old comments.
    new_env = env_for(site, tmp_path, database_url)
    new = make_app(new_env)
    approve_new(new, "Carol", "Carol on the new database")

    # Alice's and Bob's published comments are still on the site; Carol's waits.
    assert thread_file(site) == [(1, "Alice"), (2, "Bob")]
    assert "Alice was here first" in page(site) and "Bob replied on the old database" in page(site)
    health = new.test_client().get("/api/health").get_json()
    assert health["publish"]["state"] == "failing", health
    error = health["publish"]["last_error"]
    assert f"{SLUG}.json" in error and "hubbub import hubbub" in error, error
    doctor = hubbub(new_env, "doctor")
    assert doctor.exit_code == 1
    assert "FAIL  threads" in doctor.output and "2 published comments in 1 thread file (welcome)" in doctor.output

    # Bringing the old comments in (ids taken by the new database's are renumbered) lets it through.
    imported = hubbub(new_env, "import", "hubbub", tmp_path / "old.json")
    assert imported.exit_code == 0, imported.output
    run_jobs(new)
    assert sorted(author for _id, author in thread_file(site)) == ["Alice", "Bob", "Carol"]
    text = page(site)
    assert "Alice was here first" in text and "Bob replied on the old database" in text and "Carol on the new database" in text
    assert new.test_client().get("/api/health").get_json()["publish"]["state"] == "ok"
    assert "ok    threads           the database has every published comment of 1 thread file" in \
        hubbub(new_env, "doctor").output


def test_doctor_names_a_thread_file_the_build_cannot_read(site, tmp_path, make_app):
    env = env_for(site, tmp_path, "comments.db")
    approve_new(make_app(env), "Alice", "Alice was here")
    (site / "content" / "comments" / f"{SLUG}.json").write_text('{"thread": "welcome", "comm', encoding="utf-8")
    doctor = hubbub(env, "doctor")
    assert doctor.exit_code == 1
    assert f"FAIL  threads           {site / 'content' / 'comments' / SLUG}.json: not valid JSON" in doctor.output


def test_deleting_the_newest_published_comment_still_takes_it_off_the_page(site, tmp_path, make_app, database_url):
    env = env_for(site, tmp_path, database_url)
    app = make_app(env)
    approve_new(app, "Alice", "Alice stays")
    newest = approve_new(app, "Bob", "Bob goes")
    assert hubbub(env, "moderator", "add", "mod@example.org", "--role", "admin", "--password-stdin",
                  input="a long enough password\n").exit_code == 0
    token = hubbub(env, "token", "create", "mod@example.org").output.split()[0]
    deleted = app.test_client().post(f"/api/moderation/comments/{newest}/delete",
                                     headers={"Authorization": f"Bearer {token}"})
    assert deleted.status_code == 200, deleted.get_json()
    run_jobs(app)
    assert thread_file(site) == [(1, "Alice")]
    assert "Bob goes" not in page(site)
    assert app.test_client().get("/api/health").get_json()["publish"]["state"] == "ok"
