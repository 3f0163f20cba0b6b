"""`hubbub import webmentionio FILE.json`: a site moving from webmention.io keeps its mentions."""

from __future__ import annotations

from click.testing import CliRunner
from moderation_helpers import published_ids
from publish_helpers import section
from webmention_helpers import fixture, received, target_of

SLUG = "social-media-and-network-marketing"


def test_import_publishes_once_skips_private_and_foreign(make_app, service_env, site_dir, tmp_path, monkeypatch):
    from hubbub.cli import main

    app = make_app(service_env)
    export = tmp_path / "webmentions.json"
    export.write_text(fixture("webmentionio-export.json", target=target_of(app, SLUG)))
    for name, value in service_env.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()
    dry = runner.invoke(main, ["import", "webmentionio", "--dry-run", str(export)])
    assert dry.exit_code == 0, dry.output
    assert "Would import 2 webmentions" in dry.output and published_ids(app, SLUG) == []

    done = runner.invoke(main, ["import", "webmentionio", str(export)])
    assert done.exit_code == 0, done.output
    assert "Imported 2 webmentions" in done.output and "1 like, 1 reply" in done.output
    assert "skipped 1 private webmention\n" in done.output and "not articles of this site" in done.output
    again = runner.invoke(main, ["import", "webmentionio", str(export)])
    assert "Imported 0 webmentions" in again.output and "2 were already there" in again.output

    wm, reply = received(app, "https://alice.example/2026/11/reply")
    assert reply.kind == "webmention" and reply.status == "published" and wm.status == "verified"
    assert "<script" not in reply.html and "<strong>really</strong>" in reply.html
    assert len(published_ids(app, SLUG)) == 2
    block = section((site_dir / "output" / "posts" / SLUG / "index.html").read_text(), SLUG)
    assert "Alice Example" in block and "1 like<" in block and "1 comment on" in block

    bad = tmp_path / "bad.json"
    bad.write_text('{"links": []}')
    failed = runner.invoke(main, ["import", "webmentionio", str(bad)])
    assert failed.exit_code != 0 and "children" in failed.output
