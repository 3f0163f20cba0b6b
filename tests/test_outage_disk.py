"""A full disk while publishing: thread files, pages, feeds and the publisher's journal.

No reader ever sees a half-written file (every file is the old one or the new one, whole, and no
temporary file is left), nothing approved is lost (it waits in the database), the publish job
retries, and /api/health says publishing is failing until it works again.

The full disk is injected (ENOSPC halfway through a write of the atomic writer) and real (the site
on a small tmpfs filled to the last byte; skipped where this machine does not allow mounting).
"""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import pytest
from outage_helpers import DiskFull, fill, small_tmpfs
from service_helpers import hub_of, post, run_jobs, set_status
from sqlalchemy import select

SLUG = "social-media-and-network-marketing"


def env_for(site: Path, tmp_path: Path) -> dict:
    return {"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'comments.db'}",
            "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "test-secret",
            "HUBBUB_RATE_LIMIT": "1000/minute", "HUBBUB_REBUILD_AFTER_PUBLISH": "0"}


def snapshot(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted(site.rglob("*"))
            if p.is_file() and p.name != "filler"}


def temporary_files(site: Path) -> list[str]:
    return [p.as_posix() for p in site.rglob(".*.tmp")]


def article_page(site: Path) -> Path:
    manifest = json.loads((site / "output" / ".hubbub" / "manifest.json").read_text())
    return site / "output" / manifest["threads"][SLUG]["save_as"]


def approved_comment(app) -> int:
    """A comment approved by a moderator: its publish job is queued."""
    cid = post(app.test_client(), SLUG, body="Approved while the disk was full.").json["id"]
    run_jobs(app)  # its check
    set_status(app, cid, "published")
    return cid


def publish_jobs(app) -> list:
    from comments_service.models import Job

    with hub_of(app).sessions() as s:
        return list(s.scalars(select(Job).where(Job.kind == "publish")))


def assert_whole(before: dict[str, bytes], during: dict[str, bytes], after: dict[str, bytes]) -> None:
    """Every file seen while the disk was full is the old one or the new one, whole."""
    for name, data in during.items():
        assert data in (before.get(name), after.get(name)), f"{name} was half-written"


def assert_failing_then_ok(app, site: Path, cid: int, before: dict, recover) -> None:
    client = app.test_client()
    page = article_page(site)
    health = client.get("/api/health").json
    assert health["publish"]["state"] == "failing", health
    assert "No space left on device" in health["publish"]["last_error"]
    assert health["status"] == "degraded"
    [job] = publish_jobs(app)
    assert "No space left on device" in job.last_error
    assert temporary_files(site) == []
    during = snapshot(site)

    recover()
    run_jobs(app, within=3600)  # the retry comes due
    assert f'id="comment-{cid}"' in page.read_text(encoding="utf-8")
    assert [c["id"] for c in client.get(f"/api/threads/{SLUG}/comments").json["comments"]] == [cid]
    assert client.get("/api/health").json["publish"] == {"state": "ok"}
    assert publish_jobs(app) == []
    assert temporary_files(site) == []
    assert_whole(before, during, snapshot(site))


@pytest.mark.parametrize("suffixes", [("",), (".json",), (".html",), (".xml",)],
                         ids=["every-file", "thread-file", "pages", "feeds"])
def test_injected_full_disk_while_publishing(make_app, site_dir, tmp_path, monkeypatch, suffixes):
    app = make_app(env_for(site_dir, tmp_path))
    cid = approved_comment(app)
    before = snapshot(site_dir)
    disk = DiskFull(monkeypatch, site_dir, suffixes)
    run_jobs(app)
    assert disk.failures, "nothing was written: the test did not reach the disk"
    assert all(name.endswith(suffixes) for name in disk.failures)

    def recover():
        disk.full = False

    assert_failing_then_ok(app, site_dir, cid, before, recover)


def test_real_full_disk_while_publishing(make_app, site_dir, tmp_path):
    mount = tmp_path / "small-disk"
    size = sum(p.stat().st_size for p in site_dir.rglob("*") if p.is_file())
    with small_tmpfs(mount, f"{size // 1024 + 4096}k"):
        site = mount / "site"
        shutil.copytree(site_dir, site, symlinks=True)
        app = make_app(env_for(site, tmp_path))  # the database is on another disk: only the site's is full
        cid = approved_comment(app)
        before = snapshot(site)
        filler = fill(mount)
        run_jobs(app)
        assert_failing_then_ok(app, site, cid, before, filler.unlink)


def test_a_journal_line_cut_short_by_a_full_disk_is_taken_back(tmp_path):
    from hubbub.core.publish_state import JOURNAL_NAME, record_published, thread_states

    with small_tmpfs(tmp_path / "small-disk", "1m") as out:
        record_published(out, {"first": {"digest": "a", "feed_key": "k"}})
        journal = out / ".hubbub" / JOURNAL_NAME
        kept = journal.read_bytes()
        filler = fill(out)
        # Longer than what is left of the journal's last page: a part of it would be written.
        big = {f"thread-{n}": {"digest": "d" * 64, "feed_key": "f" * 64} for n in range(200)}
        with pytest.raises(OSError) as failed:
            record_published(out, big)
        assert failed.value.errno == errno.ENOSPC
        assert journal.read_bytes() == kept
        filler.unlink()
        record_published(out, {"second": {"digest": "b", "feed_key": "k"}})
        assert set(thread_states(out)) == {"first", "second"}
