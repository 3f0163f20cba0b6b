"""What hubbub/build/compat.py assumes of Pelican's internals, checked against the installed Pelican.

A Pelican release that changes one of these fails here first, with the assumption named, instead
of as a subtly different site. The supported releases are pinned in pyproject.toml.
"""

from __future__ import annotations

import inspect
import random
import shutil
from pathlib import Path

import pelican
import pytest
from build_helpers import ROOT, make_site, tree_differences
from pelican import Pelican, generators, utils
from pelican.contents import Article, Content
from pelican.settings import read_settings
from pelican.utils import SafeDatetime
from pelican.writers import Writer

from hubbub.build import compat, run_build


def test_the_installed_pelican_is_a_supported_release():
    compat.check_version()
    pinned = (ROOT / "pyproject.toml").read_text()
    low, high = compat.SUPPORTED[0], compat.SUPPORTED[-1]
    assert f'"pelican[markdown]>={low[0]}.{low[1]},<{high[0]}.{high[1] + 1}"' in pinned


def test_the_methods_the_build_overrides_or_calls_keep_their_signatures():
    assert list(inspect.signature(Writer.write_file).parameters) == [
        "self", "name", "template", "context", "relative_urls", "paginated", "template_name", "override_output",
        "url", "kwargs"]
    assert list(inspect.signature(Writer.write_feed).parameters) == [
        "self", "elements", "context", "path", "url", "feed_type", "override_output", "feed_title"]
    assert list(inspect.signature(Writer._open_w).parameters) == ["self", "filename", "encoding", "override"]
    assert list(inspect.signature(Writer._create_new_feed).parameters) == ["self", "feed_type", "feed_title", "context"]
    assert {"_written_files", "_overridden_files"} <= set(vars(Writer("/tmp", settings=read_settings())))
    for name in ("get_cached_data", "cache_data", "save_cache", "get_files", "generate_output",
                 "generate_articles", "generate_tags", "generate_categories", "generate_authors"):
        assert callable(getattr(generators.ArticlesGenerator, name)), name
    assert list(inspect.signature(pelican.readers.Readers.read_file).parameters) == [
        "self", "base_path", "path", "content_class", "fmt", "context", "preread_signal", "preread_sender",
        "context_signal", "context_sender"]
    assert {"_get_generator_classes", "_get_writer", "run"} <= set(vars(Pelican))
    # Pelican memoises content HTML in one dict per method; the build clears them between builds.
    assert isinstance(vars(Content)["get_content"].cache, dict)
    assert isinstance(vars(Content)["get_summary"].cache, dict)
    # The two scans made linear, and the file copy the build replaces, are where compat expects them.
    assert generators.process_translations is utils.process_translations
    assert "copy_file" in inspect.getsource(utils.copy)
    # The static files Pelican puts in the output (copied, kept or linked) are its context's staticfiles.
    assert 'self.context["staticfiles"]' in inspect.getsource(generators.StaticGenerator.generate_output)
    # ... and each is copied only when _file_update_required says so (a deleted one is not).
    assert "self._file_update_required(sc)" in inspect.getsource(generators.StaticGenerator.generate_output)


def test_a_first_page_writer_stops_pelicans_pagination_before_the_second_page(tmp_path):
    """serve --reload's fast path for a new post relies on Writer.write_file rendering a page before
    it opens the file or sends content_written."""
    from jinja2 import Template
    from pelican import signals

    from hubbub.build.outputs import FirstPageWriter

    settings = read_settings(override={"DEFAULT_PAGINATION": 2, "PAGINATED_TEMPLATES": {"index": None}})
    told = []
    signals.content_written.connect(receiver := lambda path, context=None: told.append(path))
    try:
        writer = FirstPageWriter(str(tmp_path), settings)
        template = Template("{{ articles_page.number }} of {{ articles_paginator.num_pages }}")
        template.name = "index.html"
        writer.write_file("index.html", template, {}, articles=list(range(5)), template_name="index",
                          url="index.html", relative_urls=False)
    finally:
        signals.content_written.disconnect(receiver)
    assert writer.written == ["index.html"] and (tmp_path / "index.html").read_text() == "1 of 3"
    assert told == [str(tmp_path / "index.html")]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.html"]


def _article(n: int, slug: str, lang: str, translation: bool = False) -> Article:
    metadata = {"title": f"T{n}", "slug": slug, "lang": lang, "date": SafeDatetime(2020, 1, 1 + n % 28)}
    if translation:
        metadata["translation"] = "true"
    settings = read_settings()
    return Article(f"<p>{n}</p>", metadata=metadata, settings=settings, source_path=f"/x/{n}.md")


def test_the_linear_process_translations_answers_as_pelicans_does():
    rng = random.Random(5)
    for _ in range(40):
        slugs = [f"s{rng.randrange(6)}" for _ in range(rng.randint(1, 14))]
        made = [_article(n, s, rng.choice(["en", "en", "fr", "de"]), rng.random() < 0.2) for n, s in enumerate(slugs)]
        ours = compat.process_translations(list(made), "slug")
        expected_translations = {}
        theirs = compat._pelican_process_translations(list(made), "slug")
        for item in made:
            expected_translations[id(item)] = [id(x) for x in item.translations]
        assert [id(x) for x in ours[0]] == [id(x) for x in theirs[0]]
        assert [id(x) for x in ours[1]] == [id(x) for x in theirs[1]]
        compat.process_translations(list(made), "slug")
        assert {id(i): [id(x) for x in i.translations] for i in made} == expected_translations


def test_a_fresh_summary_is_pelicans_summary_left_out_of_its_memo():
    article = _article(1, "s1", "en")
    article.metadata["summary"] = "<p>Written first.</p>"
    assert compat.fresh_summary(article) == "<p>Written first.</p>"
    article.metadata["summary"] = "<p>Refreshed later.</p>"  # as refresh_metadata_intersite_links does
    assert article.summary == compat.fresh_summary(article) == "<p>Refreshed later.</p>"
    del article.metadata["summary"]  # memoized now: Pelican keeps answering what it found first
    assert article.summary == "<p>Refreshed later.</p>" and compat.fresh_summary(article) == "<p>1</p>"


def test_the_remembered_relative_source_path_answers_as_pelicans_does(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for content_path in (str(tmp_path / "content"), "content", str(tmp_path / "a" / ".." / "content")):
        article = _article(1, "s1", "en")
        article.settings = {**article.settings, "PATH": content_path}
        for source in (str(tmp_path / "content" / "posts" / "p.md"), "posts/p.md", "p.md",
                       str(tmp_path / "elsewhere" / "q.md"), None, ""):
            article.source_path = source
            assert compat.relative_source_path(article) == compat._pelican_relative_source_path(article)
            assert compat.relative_source_path(article, "x/y.md") == compat._pelican_relative_source_path(
                article, "x/y.md")
    assert Content.get_relative_source_path is compat._pelican_relative_source_path  # patched only in a build


def test_member_lists_answer_in_by_identity():
    a, b = object(), object()
    listed = compat.MemberList([a])
    assert a in listed and b not in listed and list(listed) == [a]


@pytest.mark.parametrize("plugins", [False, True], ids=["simple-theme-no-plugins", "hubbub-theme-and-plugins"])
def test_a_hubbub_build_writes_what_plain_pelican_writes(tmp_path, plugins):
    site = make_site(tmp_path / "site", posts=14)
    conf = site / "pelicanconf.py"
    if not plugins:
        conf.write_text(conf.read_text() + '\nPLUGINS = []\nTHEME = "simple"\n'
                        'DIRECT_TEMPLATES = ["index", "tags", "categories", "authors", "archives"]\n')
    # Pelican's own run, as `pelican content` does it.
    settings = read_settings(str(conf), override={"OUTPUT_PATH": str(tmp_path / "pelican")})
    Pelican(settings).run()
    run_build(site, full=True, OUTPUT_PATH=str(tmp_path / "hubbub"))
    assert tree_differences(tmp_path / "hubbub", tmp_path / "pelican") == []
    shutil.rmtree(tmp_path / "pelican")
    assert Path(tmp_path / "hubbub" / "index.html").is_file()
