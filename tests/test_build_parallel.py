"""Rendering on every core (hubbub/build/parallel.py): the same bytes and records as one process,
and a renderer that dies or fails costs time, never a page."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from build_helpers import build, make_site, tree_differences

from hubbub.build import parallel

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="renderers are forked processes")


@pytest.fixture(scope="module")
def template_site(tmp_path_factory) -> Path:
    return make_site(tmp_path_factory.mktemp("parallel") / "site", posts=30)  # threads on every third post


@pytest.fixture
def site(template_site, tmp_path) -> Path:
    dest = tmp_path / "site"
    shutil.copytree(template_site, dest, symlinks=True)
    return dest


@pytest.fixture
def renderers(monkeypatch):
    """Two renderers, even for a small site on a one-core machine."""
    monkeypatch.setattr(parallel, "RENDER_AT_LEAST", 0)
    monkeypatch.setenv("HUBBUB_BUILD_WORKERS", "2")
    # A build forks only from a process without other threads; an earlier test's may still be ending.
    deadline = time.monotonic() + 30
    while threading.active_count() > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    assert not others, f"threads of earlier tests still run, so no build here can fork: {others}"


def one_process(site: Path, output: Path, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setenv("HUBBUB_BUILD_WORKERS", "1")
        return build(site, full=True, output=output)


def records(output: Path) -> dict:
    """What the build recorded per file, without the file times (the two builds ran apart)."""
    data = json.loads((output / ".hubbub" / "outputs.json").read_text())
    return {name: entry[:3] for name, entry in data["outputs"].items()} | {"claimed": data["claimed"]}


def manifest(output: Path) -> dict:
    data = json.loads((output / ".hubbub" / "manifest.json").read_text())
    return {"threads": data["threads"], "pages": data["pages"]}  # not the times and paths of the build


def test_renderers_write_what_one_process_writes(site, tmp_path, renderers, monkeypatch):
    report = build(site, full=True)
    assert report.renderers == 2
    alone = one_process(site, tmp_path / "alone", monkeypatch)
    assert alone.renderers == 0
    assert not tree_differences(site / "output", tmp_path / "alone")
    assert records(site / "output") == records(tmp_path / "alone")
    assert sorted(report.rendered) == sorted(alone.rendered)
    # The plugins saw every page in the build process: the publisher's manifest (which pages show
    # which thread's count) is the one a one-process build writes.
    assert manifest(site / "output") == manifest(tmp_path / "alone")
    assert "archives/index.html" in manifest(site / "output")["threads"]["post-3"]["count_pages"]
    # The next build, in one process, finds every record it needs: an edit renders only what it changes.
    post = site / "content" / "posts" / "post-4.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    after = build(site)
    assert after.renderers == 0 and "posts/post-4/index.html" in after.written
    assert after.kept > 5 * len(after.rendered)


def test_a_renderer_that_dies_leaves_its_share_to_the_build(site, tmp_path, renderers, monkeypatch):
    real = parallel._render_share
    monkeypatch.setattr(parallel, "_render_share", lambda index: os._exit(3) if index == 1 else real(index))
    report = build(site, full=True)
    assert report.renderers == 1
    one_process(site, tmp_path / "alone", monkeypatch)
    assert not tree_differences(site / "output", tmp_path / "alone")
    assert records(site / "output") == records(tmp_path / "alone")


def test_a_template_error_is_reported_as_one_process_reports_it(site, tmp_path, renderers, monkeypatch):
    overrides = site / "templates"
    overrides.mkdir()
    (overrides / "tag.html").write_text("{% extends 'base.html' %}{% block content %}{{ tag.nope() }}{% endblock %}\n")
    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text() + f"\nTHEME_TEMPLATES_OVERRIDES = [{str(overrides)!r}]\n")
    with pytest.raises(Exception) as parallel_error:
        build(site, full=True)
    with pytest.raises(Exception) as alone_error:
        one_process(site, tmp_path / "alone", monkeypatch)
    assert str(parallel_error.value) == str(alone_error.value)
    assert "nope" in str(parallel_error.value)
