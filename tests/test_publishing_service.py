"""End to end through the real pieces: post, approve through the moderation API, and read the
static page, its counts and feeds from output/; then the background rebuild and deploy jobs."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest
from moderation_helpers import add_moderator, make_token
from publish_helpers import counts, email_traces, section
from service_helpers import comment, hub_of, post, run_jobs
from sqlalchemy import select, update

SLUG = "social-media-and-network-marketing"
PAGE = f"posts/{SLUG}/index.html"


@pytest.fixture
def app(make_app, service_env):
    app = make_app(service_env)
    add_moderator(app)
    return app


def moderate(app, comment_id: int, action: str):
    _, token = make_token(app, name=f"t{comment_id}{action}")
    r = app.test_client().post(f"/api/moderation/comments/{comment_id}/{action}",
                               headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.get_data(as_text=True)
    run_jobs(app)
    return r.json


def page(site_dir) -> str:
    return (site_dir / "output" / PAGE).read_text(encoding="utf-8")


def test_an_approval_reaches_the_page_counts_feeds_and_api_then_leaves_again(app, site_dir):
    client = app.test_client()
    first = post(client, SLUG, author="Rita <b>Reader</b>", email="rita@example.org",
                 body="Relationship **first**, sales later.").json["id"]
    assert "Relationship" not in page(site_dir)
    moderate(app, first, "approve")
    reply = post(client, SLUG, author="Sam", email="sam@example.org", body="Agreed!", parent=first).json["id"]
    moderate(app, reply, "approve")

    html = page(site_dir)
    block = section(html, SLUG)
    assert "Relationship <strong>first</strong>, sales later." in block
    assert "Rita &lt;b&gt;Reader&lt;/b&gt;" in block  # the name is text, never markup
    assert f'id="comment-{first}"' in block and f'id="comment-{reply}"' in block
    assert block.index(f'id="comment-{first}"') < block.index(f'id="comment-{reply}"')
    assert any(">2 comments<" in c for c in counts(html))
    archives = (site_dir / "output" / "archives" / "index.html").read_text(encoding="utf-8")
    assert any(f'data-thread="{SLUG}"' in c and ">2 comments<" in c for c in counts(archives))
    for email in ("rita@example.org", "sam@example.org"):
        for trace in email_traces(email):
            assert trace not in html
    feed = ET.parse(site_dir / "output" / "feeds" / "comments.atom.xml").getroot()
    entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 2
    api = client.get(f"/api/threads/{SLUG}/comments").json["comments"]
    assert [c["id"] for c in api] == [first, reply] and api[1]["parent"] == first

    moderate(app, reply, "reject")
    html = page(site_dir)
    assert f'id="comment-{reply}"' not in section(html, SLUG)
    assert any(">1 comment<" in c for c in counts(html))
    assert [c["id"] for c in client.get(f"/api/threads/{SLUG}/comments").json["comments"]] == [first]


def _due_now(app, kind: str) -> int:
    from comments_service.models import Job

    with hub_of(app).transaction() as s:
        s.execute(update(Job).where(Job.kind == kind).values(due_at=dt.datetime.now(dt.UTC)))
        return len(s.scalars(select(Job).where(Job.kind == kind)).all())


def test_a_debounced_rebuild_follows_publishing_and_keeps_the_comments(make_app, service_env, site_dir):
    app = make_app({**service_env, "HUBBUB_REBUILD_AFTER_PUBLISH": "2"})
    profile = site_dir / "output" / "authors" / "alan-whitaker" / "index.html"
    assert "Still here after a full build" not in profile.read_text(encoding="utf-8")
    add_moderator(app)
    cid = post(app.test_client(), SLUG, body="Still here after a full build").json["id"]
    moderate(app, cid, "approve")
    second = post(app.test_client(), SLUG, body="And me").json["id"]
    moderate(app, second, "approve")
    assert _due_now(app, "rebuild") == 1  # a burst books one rebuild
    (site_dir / "output" / PAGE).write_text("stale", encoding="utf-8")
    hub_of(app).runner.run_due()
    html = page(site_dir)
    assert "Still here after a full build" in section(html, SLUG) and "And me" in html
    assert _due_now(app, "rebuild") == 0
    # The incremental build brought what only a build derives from comments up to date: the
    # writer's profile lists the latest comments their posts received.
    assert "Still here after a full build" in profile.read_text(encoding="utf-8")


def test_a_failing_rebuild_shows_in_health_until_one_works(make_app, service_env, site_dir):
    app = make_app({**service_env, "HUBBUB_REBUILD_AFTER_PUBLISH": "2"})
    add_moderator(app)
    moderate(app, post(app.test_client(), SLUG, body="Wait for the build").json["id"], "approve")
    conf = site_dir / "pelicanconf.py"
    good = conf.read_text(encoding="utf-8")
    conf.write_text(good + "\nraise SystemExit('a broken setting')\n", encoding="utf-8")
    _due_now(app, "rebuild")
    hub_of(app).runner.run_due()
    health = app.test_client().get("/api/health").json
    assert health["status"] == "degraded" and health["publish"]["state"] == "failing"
    assert "hubbub build failed" in health["publish"]["last_error"]
    assert _due_now(app, "rebuild") == 1  # retried, not dropped
    conf.write_text(good, encoding="utf-8")
    hub_of(app).runner.run_due()
    health = app.test_client().get("/api/health").json
    assert health["publish"]["state"] == "ok" and _due_now(app, "rebuild") == 0


def test_the_deploy_command_runs_after_publishing_and_failures_retry(make_app, service_env, site_dir):
    marker = site_dir / "deployed.txt"
    app = make_app({**service_env, "HUBBUB_DEPLOY_COMMAND": f"echo $HUBBUB_OUTPUT_DIR >> {marker}"})
    add_moderator(app)
    cid = post(app.test_client(), SLUG).json["id"]
    moderate(app, cid, "approve")
    _due_now(app, "deploy")
    hub_of(app).runner.run_due()
    assert marker.read_text().strip() == str(site_dir / "output")

    failing = make_app({**service_env, "HUBBUB_DEPLOY_COMMAND": "echo disk full >&2; exit 3",
                        "HUBBUB_INSTANCE_DIR": str(site_dir / "instance2")})
    cid = post(failing.test_client(), SLUG).json["id"]
    moderate(failing, cid, "approve")
    assert comment(failing, cid).status == "published"  # the approval stands whatever deploy does
    _due_now(failing, "deploy")
    hub_of(failing).runner.run_due()
    from comments_service.models import Job

    with hub_of(failing).sessions() as s:
        [job] = s.scalars(select(Job).where(Job.kind == "deploy")).all()
    assert "exited with status 3" in job.last_error and "disk full" in job.last_error
    assert job.due_at > dt.datetime.now(dt.UTC)  # retried later
