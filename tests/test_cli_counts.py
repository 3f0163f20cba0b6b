"""The data commands count in English: "1 comment", "2 comments", never "1 comments".

A new site (`hubbub init`, a real Pelican build), one comment posted through the real service and
approved, then `hubbub export`, `privacy export`, `privacy erase`, `backup` and `import hubbub`
as an operator runs them.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from build_helpers import new_built_site
from import_helpers import hubbub
from service_helpers import post, run_jobs, set_status

# A count of one followed by a plural: "1 comments", "1 replies", "1 thread files", "1 were".
ONE_WITH_PLURAL = re.compile(r"(?<![\d.])1 (?:[a-z]+ )?(?:comments|replies|files|threads|webmentions|records|posts|"
                             r"pages|authors|bytes|warnings|problems|were)\b")


@pytest.fixture(scope="module")
def built_new_site(tmp_path_factory):
    return new_built_site(tmp_path_factory.mktemp("counts") / "site", "Counting")


@pytest.fixture
def new_site(built_new_site, tmp_path):
    """A private copy: each test's database publishes into its own site."""
    import shutil

    return Path(shutil.copytree(built_new_site, tmp_path / "site", symlinks=True))


@pytest.fixture
def one_comment(new_site, tmp_path, make_app):
    """The site with exactly one published comment, by ada@example.org, in its own database."""
    env = {"HUBBUB_SITE_DIR": str(new_site), "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'one.db'}",
           "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "test-secret",
           "HUBBUB_REBUILD_AFTER_PUBLISH": "0"}
    app = make_app(env)
    answer = post(app.test_client(), "welcome")
    assert answer.status_code == 202, answer.get_json()
    set_status(app, answer.get_json()["id"], "published")
    run_jobs(app)
    return env


def lines(result) -> str:
    assert result.exit_code == 0, result.output
    return result.output


def test_export_and_backup_of_one_comment_say_one_comment(one_comment, tmp_path):
    exported = lines(hubbub(one_comment, "export", tmp_path / "all.json"))
    assert f"Exported 1 comment to {tmp_path / 'all.json'}." in exported
    backed_up = lines(hubbub(one_comment, "backup", tmp_path / "backups/"))
    assert "Backed up 1 comment to " in backed_up
    for output in (exported, backed_up):
        assert not ONE_WITH_PLURAL.search(output), output


def test_privacy_commands_about_one_comment_say_one_comment(one_comment, tmp_path):
    written = lines(hubbub(one_comment, "privacy", "export", "ada@example.org", "--output", tmp_path / "ada.json"))
    assert "Wrote 1 comment of ada@example.org" in written
    asked = hubbub(one_comment, "privacy", "erase", "ada@example.org", input="n\n")
    assert asked.exit_code == 1
    assert "1 comment was written with ada@example.org: anonymise their published comments" in asked.output
    erased = lines(hubbub(one_comment, "privacy", "erase", "ada@example.org", "--yes"))
    assert "Erased ada@example.org: 1 comment anonymised, 0 removed" in erased
    assert "Republished 1 thread: welcome." in erased
    for output in (written, asked.output, erased):
        assert not ONE_WITH_PLURAL.search(output), output


def test_import_of_one_comment_says_one_comment(one_comment, tmp_path):
    hubbub(one_comment, "export", tmp_path / "all.json")
    elsewhere = {**one_comment, "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"}
    lines(hubbub(elsewhere, "migrate"))  # an empty database to move to
    dry = lines(hubbub(elsewhere, "import", "hubbub", tmp_path / "all.json", "--dry-run"))
    assert "Would import 1 comment from " in dry and "1 thread file would be written." in dry
    done = lines(hubbub(elsewhere, "import", "hubbub", tmp_path / "all.json"))
    assert "Imported 1 comment from " in done and "0 comments before" in done and "1 thread file written" in done
    again = lines(hubbub(elsewhere, "import", "hubbub", tmp_path / "all.json"))
    assert "Imported 0 comments from " in again and "; 1 was already there (1 comment before)." in again
    for output in (dry, done, again):
        assert not ONE_WITH_PLURAL.search(output), output


def test_counts_read_right_for_zero_one_and_many():
    from hubbub.core.words import count, were

    assert [count(n, "comment") for n in (0, 1, 2)] == ["0 comments", "1 comment", "2 comments"]
    assert [count(n, "reply", "replies") for n in (0, 1, 2)] == ["0 replies", "1 reply", "2 replies"]
    assert [were(n) for n in (0, 1, 2)] == ["were", "was", "were"]
