"""Incremental builds equal `--full` with TEMPLATE_PAGES and with Pelican's static file modes.

A template page (TEMPLATE_PAGES) is rendered through a template loader Pelican adds to its own
Jinja environment: its fingerprint must still follow its source and what it reads. Static files
Pelican skips as unmodified (STATIC_CHECK_IF_MODIFIED) or links (STATIC_CREATE_LINKS) instead of
copying are still this build's output: kept while their source is there, removed once it is not.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from build_helpers import assert_same_as_full, build, make_site, write_post
from jinja2 import DictLoader, Environment
from pelican.settings import read_settings

from hubbub.build.fingerprint import Fingerprinter
from hubbub.build.outputs import BuildWriter, OutputLog, WriteReport

POSTS = 8
SVG = '<svg xmlns="http://www.w3.org/2000/svg" id="{}"/>\n'


@pytest.fixture
def site(tmp_path) -> Path:
    return make_site(tmp_path / "site", posts=POSTS)


def add_settings(site: Path, text: str) -> None:
    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text() + "\n" + text + "\n")


TEMPLATE_PAGES = {
    "plain": "<ul>{% for a in articles %}<li>{{ a.title }}</li>{% endfor %}</ul>\n",
    "extends-the-theme": ('{% extends "base.html" %}{% block content %}<ul>{% for a in articles %}'
                          "<li>{{ a.title }}</li>{% endfor %}</ul>{% endblock %}\n"),
}


@pytest.mark.parametrize("source", TEMPLATE_PAGES.values(), ids=TEMPLATE_PAGES.keys())
def test_a_template_page_follows_the_articles_it_lists_and_its_own_source(site, tmp_path, source):
    page = site / "content" / "extra" / "hello.html"
    page.parent.mkdir()
    page.write_text(source)
    add_settings(site, 'TEMPLATE_PAGES = {"extra/hello.html": "hello.html"}\n'
                       'ARTICLE_EXCLUDES = [*ARTICLE_EXCLUDES, "extra"]\n'
                       'PAGE_EXCLUDES = [*PAGE_EXCLUDES, "extra"]')
    build(site)
    write_post(site, 3, title="Completely New Title")
    assert_same_as_full(site, tmp_path)
    assert "Completely New Title" in (site / "output" / "hello.html").read_text()
    page.write_text(source.replace("<ul>", '<ul class="edited">'))
    assert_same_as_full(site, tmp_path)
    assert 'class="edited"' in (site / "output" / "hello.html").read_text()


def test_a_page_whose_template_cannot_be_read_is_rendered_every_build(tmp_path):
    """Nothing is known of what such a page shows: it is never kept as unchanged."""
    env = Environment(loader=DictLoader({"page.html": "<p>{{ title }}</p>"}))
    template = env.get_template("page.html")
    env.loader.mapping.clear()  # the loader it came through no longer has it (as a template page's)
    settings = read_settings()
    for _ in range(2):
        current, report = OutputLog(tmp_path), WriteReport()
        writer = BuildWriter(str(tmp_path), settings, fingerprints=Fingerprinter(), epoch="e",
                             previous=OutputLog.load(tmp_path), current=current, report=report)
        writer.write_file("page.html", template, {}, title="A title")
        current.save()
        assert report.rendered == ["page.html"]
    assert (tmp_path / "page.html").read_text() == "<p>A title</p>"


def test_static_check_if_modified_keeps_static_files_build_after_build(site, tmp_path):
    add_settings(site, "STATIC_CHECK_IF_MODIFIED = True")
    build(site)
    logo = site / "content" / "images" / "logo.svg"
    for step in range(4):
        write_post(site, step, title=f"Title at step {step}")
        if step == 2:
            logo.write_text(SVG.format(step))
        assert_same_as_full(site, tmp_path)
    (site / "output" / "images" / "logo.svg").unlink()  # removed behind the build's back
    assert_same_as_full(site, tmp_path)


def test_static_create_links_turned_on_then_files_deleted_and_added(site, tmp_path):
    images = site / "content" / "images"
    for n in range(3):
        (images / f"pic{n}.svg").write_text(SVG.format(n))
    build(site)
    add_settings(site, "STATIC_CREATE_LINKS = True")
    assert_same_as_full(site, tmp_path)
    assert_same_as_full(site, tmp_path)  # nothing changed: still all there
    linked = site / "output" / "images" / "pic1.svg"
    assert os.path.samefile(linked, images / "pic1.svg")  # Pelican linked it
    (images / "pic0.svg").unlink()
    report = assert_same_as_full(site, tmp_path)
    assert "images/pic0.svg" in report.removed
    (images / "pic3.svg").write_text(SVG.format(3))
    assert_same_as_full(site, tmp_path)
    linked.unlink()  # removed behind the build's back: nothing else changed
    assert_same_as_full(site, tmp_path)
