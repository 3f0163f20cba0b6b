"""Moderator accounts and API tokens through the real `hubbub` command (click's CliRunner)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from moderation_helpers import PASSWORD, fast_password_hashing, insert_comments, login
from service_helpers import comment, hub_of

OTHER_SLUG = "email-lists-are-built-on-permission"  # Priya Raman's; `slug` is Alan Whitaker's


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    fast_password_hashing(monkeypatch)

@pytest.fixture
def hubbub(service_env):
    """Run `hubbub ARGS...` with this test's site and database; returns click's result."""
    from hubbub.cli import main

    runner = CliRunner()

    def run(*args, input=None, ok=True):
        result = runner.invoke(main, list(args), input=input, env=service_env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


@pytest.fixture
def app(make_app, service_env, hubbub):
    hubbub("moderator", "add", "boss@example.org", "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
    return make_app(service_env)


def moderator(app, email):
    from comments_service.moderation.auth import find_moderator

    with hub_of(app).sessions() as s:
        return find_moderator(s, email)


def test_add_stores_an_argon2_hash(app, hubbub):
    boss = moderator(app, "boss@example.org")
    assert boss.role == "admin" and boss.password_hash.startswith("$argon2id$")
    assert PASSWORD not in boss.password_hash
    hubbub("moderator", "add", "Two@Example.org", "--password-stdin", input=PASSWORD + "\n")
    two = moderator(app, "two@example.org")
    assert two.role == "moderator" and two.notify == "immediate"
    assert two.password_hash != boss.password_hash  # salted
    login(app.test_client(), "two@example.org")


def test_add_prompts_twice_without_stdin(app, hubbub):
    result = hubbub("moderator", "add", "typed@example.org", input="long password 1\nlong password 1\n")
    assert "Password" in result.output and "Repeat" in result.output
    login(app.test_client(), "typed@example.org", "long password 1")
    result = hubbub("moderator", "add", "typo@example.org", input="long password 1\nlong password 2\n"
                    "long password 3\nlong password 3\n")
    assert "match" in result.output.lower()
    login(app.test_client(), "typo@example.org", "long password 3")


@pytest.mark.parametrize("args,stdin,message", [
    (["boss@example.org"], PASSWORD, "already a moderator"),
    (["short@example.org"], "short", "too short"),
    (["not-an-email"], PASSWORD, "not an email address"),
    (["x@example.org"], "", "No password on standard input"),
])
def test_add_refuses_with_a_clear_message(app, hubbub, args, stdin, message):
    result = hubbub("moderator", "add", *args, "--password-stdin", input=stdin + "\n", ok=False)
    assert result.exit_code == 1 and message in result.output


def test_list_disable_enable(app, hubbub):
    hubbub("moderator", "add", "alan@example.org", "--author", "alan-whitaker", "--notify", "digest",
           "--password-stdin", input=PASSWORD + "\n")
    listing = hubbub("moderator", "list").output
    assert "boss@example.org" in listing and "admin" in listing
    assert "alan@example.org" in listing and "alan-whitaker" in listing and "digest" in listing
    client = app.test_client()
    login(client, "alan@example.org")
    hubbub("moderator", "disable", "alan@example.org")
    assert "disabled" in hubbub("moderator", "list").output
    assert client.get("/moderate/").status_code == 302  # the open session ends
    login(app.test_client(), "alan@example.org", expect=401)
    hubbub("moderator", "enable", "alan@example.org")
    login(app.test_client(), "alan@example.org")
    result = hubbub("moderator", "disable", "nobody@example.org", ok=False)
    assert result.exit_code == 1 and "No moderator" in result.output


def test_reset_sets_a_new_password_and_ends_sessions(app, hubbub):
    client = app.test_client()
    login(client, "boss@example.org")
    hubbub("moderator", "reset", "boss@example.org", "--password-stdin", input="a different passphrase\n")
    assert client.get("/moderate/").status_code == 302
    login(app.test_client(), "boss@example.org", expect=401)
    login(app.test_client(), "boss@example.org", "a different passphrase")


def test_tokens_create_list_revoke(app, hubbub, slug):
    result = hubbub("token", "create", "boss@example.org", "--name", "nightly script")
    token = result.stdout.strip()
    assert token.startswith("hbb_") and len(token) > 40
    assert "not shown again" in result.stderr
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.get("/api/moderation/comments", headers=headers).status_code == 200

    listing = hubbub("token", "list").output
    assert "nightly script" in listing and "boss@example.org" in listing and "active" in listing
    assert token not in listing and token[:10] in listing  # recognisable, never shown again
    from comments_service.moderation.models import ApiToken

    with hub_of(app).sessions() as s:
        row = s.query(ApiToken).one()
    assert token not in row.token_hash
    hubbub("token", "revoke", str(row.id))
    assert client.get("/api/moderation/comments", headers=headers).status_code == 401
    assert "revoked" in hubbub("token", "list", "boss@example.org").output
    assert "No token 999" in hubbub("token", "revoke", "999", ok=False).output
    assert "No moderator" in hubbub("token", "create", "ghost@example.org", ok=False).output


def test_disabled_moderators_tokens_stop_working(app, hubbub):
    token = hubbub("token", "create", "boss@example.org").stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    hubbub("moderator", "disable", "boss@example.org")
    assert app.test_client().get("/api/moderation/comments", headers=headers).status_code == 401
    assert "disabled" in hubbub("token", "create", "boss@example.org", ok=False).output
    hubbub("moderator", "enable", "boss@example.org")
    assert app.test_client().get("/api/moderation/comments", headers=headers).status_code == 200


def test_a_mistyped_author_limit_is_refused_with_the_authors_there_are(app, hubbub):
    added = hubbub("moderator", "add", "typo@example.org", "--author", "priya-ramen", "--password-stdin",
                   input=PASSWORD + "\n", ok=False)
    assert added.exit_code == 1 and "No post of this site is by priya-ramen: use one of" in added.output
    assert "priya-raman" in added.output and "typo@example.org" not in hubbub("moderator", "list").output
    assert hubbub("moderator", "add", "ok@example.org", "--password-stdin", input=PASSWORD + "\n").exit_code == 0
    updated = hubbub("moderator", "update", "ok@example.org", "--author", "Nobody Here", ok=False)
    assert updated.exit_code == 1 and "No post of this site is by Nobody Here" in updated.output


def test_an_author_limit_is_the_writers_pelican_slug_given_as_slug_or_name(site_dir, make_app, service_env, hubbub):
    """Pelican slugs "Zoë O'Brien" as zoe-obrien (its URL), not zoe-o-brien."""
    from import_helpers import rebuild

    (site_dir / "content" / "posts" / "zoe.md").write_text(
        "Title: Zoë writes\nDate: 2020-01-02 10:00\nAuthor: Zoë O'Brien\nSlug: zoe-writes\n\nHello.\n", encoding="utf-8")
    (site_dir / "content" / "posts" / "jane.md").write_text(
        "Title: Jane writes\nDate: 2020-01-03 10:00\nAuthor: Jane_Doe\nSlug: jane-writes\n\nHi.\n", encoding="utf-8")
    rebuild(site_dir)
    assert (site_dir / "output" / "authors" / "zoe-obrien").is_dir() and (site_dir / "output" / "authors" / "jane_doe").is_dir()
    app = make_app(service_env)
    for email, given, stored in (("z1@example.org", "zoe-obrien", "zoe-obrien"), ("z2@example.org", "Zoë O'Brien", "zoe-obrien"),
                                 ("j@example.org", "jane_doe", "jane_doe")):
        hubbub("moderator", "add", email, "--author", given, "--password-stdin", input=PASSWORD + "\n")
        assert moderator(app, email).author_slug == stored
    [zoes] = insert_comments(app, 1, "zoe-writes")
    insert_comments(app, 1, OTHER_SLUG)
    token = hubbub("token", "create", "z1@example.org").stdout.strip()
    listed = app.test_client().get("/api/moderation/comments", headers={"Authorization": f"Bearer {token}"}).json
    assert [c["id"] for c in listed["comments"]] == [zoes]
    refused = hubbub("moderator", "update", "z1@example.org", "--author", "zoe-o-brien", ok=False)
    assert refused.exit_code == 1 and "use one of" in refused.output and "zoe-obrien" in refused.output
    # A limit stored before builds recorded Pelican's slug (the service's own slug of the name) still holds.
    from comments_service.moderation.models import Moderator

    with hub_of(app).transaction() as s:
        s.query(Moderator).filter_by(email="z1@example.org").update({"author_slug": "zoe-o-brien"})
    listed = app.test_client().get("/api/moderation/comments", headers={"Authorization": f"Bearer {token}"}).json
    assert [c["id"] for c in listed["comments"]] == [zoes]


def test_author_moderator_is_limited_to_own_posts(app, hubbub, slug):
    hubbub("moderator", "add", "priya@example.org", "--author", "Priya Raman", "--password-stdin",
           input=PASSWORD + "\n")
    assert "priya-raman" in hubbub("moderator", "list").output  # stored as the author's slug
    token = hubbub("token", "create", "priya@example.org").stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    [alans] = insert_comments(app, 1, slug)
    [priyas] = insert_comments(app, 1, OTHER_SLUG)
    client = app.test_client()
    listed = client.get("/api/moderation/comments", headers=headers).json
    assert [c["id"] for c in listed["comments"]] == [priyas]
    assert client.post(f"/api/moderation/comments/{alans}/spam", headers=headers).status_code == 404
    assert comment(app, alans).status == "pending"
    # Lifting the limit (or making them admin) opens every post.
    hubbub("moderator", "update", "priya@example.org", "--author", "")
    assert client.get("/api/moderation/comments", headers=headers).json["total"] == 2
    hubbub("moderator", "update", "priya@example.org", "--author", "alan-whitaker", "--role", "admin")
    assert client.get("/api/moderation/comments", headers=headers).json["total"] == 2


def test_commands_report_configuration_errors(service_env):
    from hubbub.cli import main

    result = CliRunner().invoke(main, ["moderator", "list"],
                                env={**service_env, "HUBBUB_DATABASE_URL": "mysql://nope"})
    assert result.exit_code == 1 and "HUBBUB_DATABASE_URL" in result.output


@pytest.mark.parametrize("args", [["moderator", "add", "mod@example.org", "--password-stdin"], ["migrate"], ["backup", "b/"],
                                  ["export", "-"]])
def test_commands_outside_a_site_refuse_instead_of_starting_a_new_database(tmp_path, monkeypatch, args):
    from hubbub.cli import main

    monkeypatch.chdir(tmp_path)
    for name in ("HUBBUB_SITE_DIR", "HUBBUB_DATABASE_URL", "HUBBUB_INSTANCE_DIR"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(main, args, input=f"{PASSWORD}\n")
    assert result.exit_code == 1
    assert "is not a site's directory (no pelicanconf.py)" in result.output and "HUBBUB_SITE_DIR" in result.output
    assert list(tmp_path.iterdir()) == []  # no instance/, no database, no secret key
