"""`hubbub doctor` against a good setup and broken ones: each problem named with its fix, exit 1.

The setups are real: a site made by `hubbub init` and built, a migrated SQLite database, the local
Akismet stand-in and a local SMTP server; each broken case breaks one thing.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from akismet_server import AkismetStandIn
from click.testing import CliRunner
from smtp_helpers import SMTPServer

from hubbub.build import build_site
from hubbub.cli import main
from hubbub.init_site import init_site

SITE_URL = "https://garden.club.test"
EXISTING = Path(__file__).resolve().parent / "data" / "existing-site"
# Every variable doctor reads, so the machine's own environment cannot leak into a case.
CLEAN = dict.fromkeys((
    "HUBBUB_SITE_DIR", "HUBBUB_DATABASE_URL", "HUBBUB_INSTANCE_DIR", "HUBBUB_OUTPUT_DIR", "HUBBUB_SECRET_KEY",
    "HUBBUB_QUEUE_URL", "PYTHON_AKISMET_API_KEY", "PYTHON_AKISMET_BLOG_URL", "HUBBUB_AKISMET_ENDPOINT",
    "HUBBUB_SMTP_HOST", "HUBBUB_SMTP_PORT", "HUBBUB_SMTP_USER", "HUBBUB_SMTP_PASSWORD", "HUBBUB_PUBLIC_URL",
    "HUBBUB_SITEURL", "HUBBUB_COMMENTS_URL", "HUBBUB_RATE_LIMIT"))


def doctor(env: dict):
    return CliRunner().invoke(main, ["doctor"], env={**CLEAN, **env}, catch_exceptions=False)


def lines_for(output: str, status: str, topic: str) -> list[str]:
    return [line for line in output.splitlines() if re.match(rf"{status}\s+{re.escape(topic)}\s", line)]


def assert_problem(result, topic: str, *words: str) -> None:
    assert result.exit_code == 1, result.output
    found = [line for line in lines_for(result.output, "FAIL", topic) if all(word in line for word in words)]
    assert found, f"no FAIL line for {topic} with {words}:\n{result.output}"
    line = found[0]
    following = result.output.splitlines()[result.output.splitlines().index(line) + 1]
    assert following.strip().startswith("fix: "), f"{topic} has no fix:\n{result.output}"


@pytest.fixture(scope="module")
def services():
    with AkismetStandIn(keys={"good-key"}) as akismet, SMTPServer(user="mailer", password="s3cret") as smtp:
        yield akismet, smtp


@pytest.fixture
def site(tmp_path) -> Path:
    site = tmp_path / "site"
    init_site(site, "Garden Club", "Ana Bell", SITE_URL,
              env={"PYTHON_AKISMET_API_KEY": "good-key", "HUBBUB_SMTP_HOST": "mail.example.org"})
    build_site(site)
    return site


@pytest.fixture
def good(site, services, tmp_path) -> dict:
    """A setup with nothing wrong: every check says ok."""
    akismet, smtp = services
    env = {"HUBBUB_SITE_DIR": str(site), "HUBBUB_SECRET_KEY": "k" * 40,
           "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'comments.db'}",
           "PYTHON_AKISMET_API_KEY": "good-key", "PYTHON_AKISMET_BLOG_URL": SITE_URL + "/",
           "HUBBUB_AKISMET_ENDPOINT": akismet.url, **smtp.env(HUBBUB_SMTP_USER="mailer", HUBBUB_SMTP_PASSWORD="s3cret")}
    migrated = CliRunner().invoke(main, ["migrate"], env={**CLEAN, **env}, catch_exceptions=False)
    assert migrated.exit_code == 0, migrated.output
    return env


def test_a_good_setup_passes_every_check(good, site):
    result = doctor(good)
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output and "warn" not in result.output, result.output
    for topic in ("settings", "plugins", "reply form", "addresses", "output", "theme", "secret key", "database",
                  "akismet", "mail"):
        assert lines_for(result.output, "ok", topic), f"{topic} not checked:\n{result.output}"
    assert result.output.rstrip().endswith("No problems found.")


def test_a_fresh_site_has_warnings_only_and_doctor_writes_nothing(site):
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    result = doctor({"HUBBUB_SITE_DIR": str(site)})
    assert result.exit_code == 0, result.output
    for topic in ("secret key", "database", "akismet"):
        assert lines_for(result.output, "warn", topic), result.output
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == before  # no key, no database made


def test_a_web_host_with_only_the_shipped_output_passes(good, site, tmp_path):
    """On several hosts, a web host holds output/ (with its .hubbub/manifest.json) and the service."""
    import shutil

    web = tmp_path / "web"
    shutil.copytree(site / "output", web / "output")
    result = doctor({**good, "HUBBUB_SITE_DIR": str(web)})
    assert result.exit_code == 0, result.output
    assert lines_for(result.output, "ok", "settings") and "a web host" in result.output
    assert lines_for(result.output, "ok", "database"), result.output  # the service's checks still run
    assert "FAIL" not in result.output
    empty = doctor({**good, "HUBBUB_SITE_DIR": str(tmp_path / "nothing-here")})
    assert empty.exit_code == 1 and lines_for(empty.output, "FAIL", "settings")  # neither: still a failure


def test_a_form_that_promises_what_the_service_does_not_do(good, site):
    """The form says Akismet checks comments and offers email: not true without their settings."""
    without = {k: v for k, v in good.items() if not k.startswith(("PYTHON_AKISMET", "HUBBUB_SMTP"))}
    result = doctor(without)
    [line] = lines_for(result.output, "warn", "reply form")
    assert "COMMENTS_AKISMET = True while PYTHON_AKISMET_API_KEY is not set" in line
    assert "COMMENTS_EMAIL = True while HUBBUB_SMTP_HOST is not set" in line
    assert "COMMENTS_AKISMET = False, COMMENTS_EMAIL = False" in result.output  # the fix


def _write(path: Path, text: str, append: bool = True) -> None:
    with path.open("a" if append else "w", encoding="utf-8") as fh:
        fh.write(text)


def test_settings_that_do_not_load(good, site):
    number = (site / "pelicanconf.py").read_text(encoding="utf-8").count("\n") + 2
    _write(site / "pelicanconf.py", "\nSITENAME = 'unterminated\n")
    result = doctor(good)
    assert_problem(result, "settings", "pelicanconf.py does not load", f"line {number}", "SyntaxError")
    assert f"fix: correct line {number} of {site / 'pelicanconf.py'}" in result.output  # as `hubbub build` says


def test_an_existing_site_without_publishconf_is_warned_and_its_theme_checked(good, tmp_path):
    site = tmp_path / "existing"
    shutil.copytree(EXISTING, site)
    build_site(site)
    result = doctor({**good, "HUBBUB_SITE_DIR": str(site)})
    assert result.exit_code == 0, result.output
    assert lines_for(result.output, "warn", "settings") and "publishconf.py does not exist" in result.output
    assert lines_for(result.output, "ok", "theme")


def test_the_comments_plugin_missing(good, site):
    _write(site / "pelicanconf.py", "\nPLUGINS = ['hubbub.plugins.safe_content']\n")
    assert_problem(doctor(good), "plugins", "hubbub.plugins.comments")


def test_a_language_without_a_catalog_is_warned_about(good, site):
    _write(site / "pelicanconf.py", '\nDEFAULT_LANG = "nl"\n')
    result = doctor(good)
    assert result.exit_code == 0, result.output
    [line] = lines_for(result.output, "warn", "language")
    assert "'nl'" in line and "English" in line
    assert "de, en, es, fr" in result.output.splitlines()[result.output.splitlines().index(line) + 1]


@pytest.mark.parametrize("publishconf, words", [
    ('COMMENTS_URL = "https://comments.garden.club.test/"', ["ends with a slash"]),
    ('SITEURL = ""', ["SITEURL is empty"]),
    ('COMMENTS_URL = "comments.garden.club.test"', ["COMMENTS_URL", "not an http(s) address"]),
])
def test_production_addresses_that_cannot_work(good, site, publishconf, words):
    _write(site / "publishconf.py", f"\n{publishconf}\n")
    assert_problem(doctor(good), "addresses", *words)


def test_output_built_for_another_address(good, site):
    build_site(site, publish=True)  # SITEURL = https://garden.club.test
    assert doctor(good).exit_code == 0
    result = doctor({**good, "HUBBUB_SITEURL": "https://roses.club.test"})
    assert_problem(result, "addresses", "output/ was built with SITEURL", "roses.club.test")


def test_akismet_and_public_addresses_elsewhere_are_warned_about(good):
    result = doctor({**good, "HUBBUB_PUBLIC_URL": "https://other.test", "PYTHON_AKISMET_BLOG_URL": "https://old.test/"})
    assert result.exit_code == 0, result.output  # the keys work; the mismatch is for a person to judge
    assert len(lines_for(result.output, "warn", "addresses")) == 2


def test_output_the_service_does_not_publish_into(good, tmp_path):
    result = doctor({**good, "HUBBUB_OUTPUT_DIR": str(tmp_path / "elsewhere")})
    assert_problem(result, "output", "HUBBUB_OUTPUT_DIR")


def test_output_that_cannot_be_written(good, site):
    (site / "blocker").write_text("a file where a directory should be")
    _write(site / "pelicanconf.py", '\nOUTPUT_PATH = "blocker/output"\n')
    assert_problem(doctor(good), "output", "is not writable")


def test_a_theme_without_the_comment_section(good, site):
    page = site / "output" / "posts" / "welcome" / "index.html"
    page.write_text(re.sub(r"<!-- hubbub:comments (begin|end) welcome -->", "", page.read_text()))
    assert_problem(doctor(good), "theme", "posts/welcome/index.html")


def test_a_short_secret_key(good):
    assert_problem(doctor({**good, "HUBBUB_SECRET_KEY": "secret"}), "secret key", "too short")


def test_a_bad_service_setting(good):
    assert_problem(doctor({**good, "HUBBUB_RATE_LIMIT": "lots"}), "service settings", "HUBBUB_RATE_LIMIT")


def test_a_database_that_is_not_migrated_or_is_newer(good, tmp_path):
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    assert_problem(doctor({**good, "HUBBUB_DATABASE_URL": f"sqlite:///{empty}"}), "database", "no Hubbub tables")
    db = Path(good["HUBBUB_DATABASE_URL"].removeprefix("sqlite:///"))
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    assert_problem(doctor(good), "database", "9999", "newer Hubbub")
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001'")
    result = doctor(good)
    assert_problem(result, "database", "0001")
    assert "hubbub migrate" in result.output


def test_a_database_server_that_does_not_answer(good, free_port):
    result = doctor({**good, "HUBBUB_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port}/nothing"})
    assert_problem(result, "database", "cannot open", str(free_port))


def test_akismet_rejects_the_key_or_does_not_answer(good, free_port):
    assert_problem(doctor({**good, "PYTHON_AKISMET_API_KEY": "wrong-key"}), "akismet", "rejects the key")
    result = doctor({**good, "HUBBUB_AKISMET_ENDPOINT": f"http://127.0.0.1:{free_port}"})
    assert_problem(result, "akismet", str(free_port))


def test_mail_server_refuses_the_login_or_does_not_answer(good, free_port):
    assert_problem(doctor({**good, "HUBBUB_SMTP_PASSWORD": "guess"}), "mail", "refuses the login of mailer")
    assert_problem(doctor({**good, "HUBBUB_SMTP_PORT": str(free_port)}), "mail", "cannot talk to", str(free_port))


def test_a_queue_that_does_not_answer(good, free_port):
    assert_problem(doctor({**good, "HUBBUB_QUEUE_URL": f"redis://127.0.0.1:{free_port}/0"}), "queue", "does not answer")


@pytest.fixture
def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
