"""An existing Pelican site with its own theme adds Hubbub: the comments plugin, COMMENTS_URL and one
include. Pelican's own notmyidea theme (extended by a site template) and a minimal theme of three
files (tests/data/existing-site/): build, post, approve through the moderation API with the job
runner running as in `hubbub serve`, the comment is on the page through the fast publisher, and
a full build writes the same bytes.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from moderation_helpers import add_moderator, make_token
from publish_helpers import all_files, counts, section
from service_helpers import hub_of, post
from site_helpers import parse_html
from sqlalchemy import select

from hubbub.build import build_site
from hubbub.core.publish_state import thread_states

EXISTING = Path(__file__).resolve().parent / "data" / "existing-site"
SLUG = "before-the-first-frost"
PAGE = f"{SLUG}.html"  # Pelican's default URLs, not Hubbub's posts/<slug>/
MINIMAL = '\nTHEME = str(HERE / "themes" / "minimal")\nTHEME_TEMPLATES_OVERRIDES = []\n'


@pytest.fixture(params=["notmyidea", "minimal"])
def site(request, tmp_path) -> Path:
    site = tmp_path / "site"
    shutil.copytree(EXISTING, site)
    if request.param == "minimal":
        with (site / "pelicanconf.py").open("a", encoding="utf-8") as fh:
            fh.write(MINIMAL)
    build_site(site)
    return site


@pytest.fixture
def app(make_app, site, sqlite_url, tmp_path):
    """The service as `hubbub serve` runs it: jobs in a thread of the process."""
    env = {"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": sqlite_url,
           "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "test-secret",
           "HUBBUB_RATE_LIMIT": "1000/minute", "HUBBUB_REBUILD_AFTER_PUBLISH": "0"}
    app = make_app(env, run_jobs=True)
    add_moderator(app)
    return app


def read(site: Path, page: str = PAGE) -> str:
    return (site / "output" / page).read_text(encoding="utf-8")


def wait_for(predicate, timeout: float = 10.0) -> float:
    """Seconds until predicate() held; fails after `timeout` (a bound on a hang, not a speed test)."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < timeout, "the comment never reached the page"
        time.sleep(0.01)
    return time.monotonic() - started


def test_the_theme_shows_the_thread_and_the_form_with_their_assets(site):
    page = read(site)
    tree = parse_html(page.encode(), strict=False)
    form = next(f for f in tree.iter("form") if "comment-form" in f.get("class", ""))
    assert form.get("action") == f"/api/threads/{SLUG}/comments"
    assert {i.get("name") for i in form.iter("input")} >= {"author", "email", "url", "parent"}
    assert "0 comments on “Before the First Frost”" in section(page, SLUG)
    assert './hubbub/comments.js' in page and './hubbub/comments.css' in page
    for asset in ("comments.js", "comments.css"):
        assert (site / "output" / "hubbub" / asset).stat().st_size > 500
    assert f"/feeds/comments/{SLUG}.atom.xml" in page  # the optional feed links, in the head
    assert any(f'data-thread="{SLUG}"' in c for c in counts(read(site, "index.html")))
    assert 'href="./pages/privacy.html"' in page  # COMMENTS_PRIVACY_URL of this site
    # The thread files and salt stay out of the content and the output, whatever the paths.
    assert not (site / "output" / "comments").exists()
    # No search plugin, no search box: no search index either.
    assert not (site / "output" / "pagefind").exists()


def test_post_approve_and_the_fast_publisher_patches_the_foreign_theme(app, site, tmp_path):
    client = app.test_client()
    created = post(client, SLUG, author="Lou <Gardener>", email="lou@example.org",
                   body="Green tomatoes make a fine **chutney**.")
    assert created.status_code == 202, created.get_data(as_text=True)
    cid = created.json["id"]
    _, token = make_token(app)
    approved = client.post(f"/api/moderation/comments/{cid}/approve", headers={"Authorization": f"Bearer {token}"})
    assert approved.status_code == 200
    seconds = wait_for(lambda: "chutney" in read(site))
    print(f"\napproval to page through the fast publisher: {seconds * 1000:.0f} ms")
    # The article and each list showing its comment count are files of their own, patched in turn.
    wait_for(lambda: any(">1 comment<" in c for c in counts(read(site, "index.html"))))

    block = section(read(site), SLUG)
    assert "Green tomatoes make a fine <strong>chutney</strong>." in block
    assert "Lou &lt;Gardener&gt;" in block and "1 comment on" in block
    assert "lou@example.org" not in read(site)
    from comments_service.models import Job

    with hub_of(app).sessions() as s:  # the page was patched in place: no full build was asked for
        assert s.scalars(select(Job).where(Job.kind == "rebuild")).all() == []

    full = tmp_path / "full"
    build_site(site, OUTPUT_PATH=str(full))
    fast_files, full_files = all_files(site / "output"), all_files(full)
    names = sorted(n for n in fast_files if not n.startswith(".hubbub/"))
    assert names == sorted(n for n in full_files if not n.startswith(".hubbub/"))
    for name in names:
        assert fast_files[name] == full_files[name], f"{name} differs between the fast publisher and a full build"
    assert thread_states(site / "output") == thread_states(full)


def test_the_services_own_builds_use_the_settings_output_was_built_with(app, site):
    """An approval's rebuild must not turn a local build into the production site (or back)."""
    import subprocess
    import sys

    from comments_service.publish import _built_for_publishing

    with (site / "pelicanconf.py").open("a", encoding="utf-8") as fh:
        fh.write("\nRELATIVE_URLS = False\n")  # Pelican's default, as in most sites' pelicanconf.py
    (site / "publishconf.py").write_text("from pelicanconf import *\nSITEURL = 'https://prod.example.org'\n",
                                         encoding="utf-8")
    hub = hub_of(app)
    build_site(site)
    assert _built_for_publishing(hub) is False
    build_site(site, publish=True)
    assert _built_for_publishing(hub) is True
    # Built by Pelican itself, which records nothing: the address tells.
    for conf, production in (("pelicanconf.py", False), ("publishconf.py", True)):
        done = subprocess.run([sys.executable, "-m", "pelican", "content", "-s", conf, "-o", "output"], cwd=site,
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert _built_for_publishing(hub) is production


def test_a_site_without_siteurl_sends_the_reader_back_by_a_relative_address(app, site):
    """Pelican's defaults (SITEURL = "", RELATIVE_URLS = False) on a site served from wherever:
    after the plain form, the reader returns to the article on this server, not to port 8000."""
    from service_helpers import GOOD

    with (site / "pelicanconf.py").open("a", encoding="utf-8") as fh:
        fh.write('\nSITEURL = ""\nRELATIVE_URLS = False\n')
    build_site(site)
    answer = app.test_client().post(f"/api/threads/{SLUG}/comments", data=GOOD)
    assert answer.status_code == 303
    assert answer.headers["Location"] == f"/{PAGE}#comment-pending"
