"""A theme's own templates: what they read of a post through a variable follows the post's edits.

The build works out from the templates what a page reads of its context, and renders a page again
only when that changed. Two usual Jinja idioms hand a post on under another name:
`{% set ns.oldest = article %}` inside a loop (a `namespace` carries a value out of it), and a
top-level `{% set %}` in a page template that the template it extends reads (as the theme's
share_title). And `loop.previtem` / `loop.nextitem` are posts of the list a loop walks. What is
read of the post through them must count, as `hubbub build --full` shows it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from build_helpers import assert_same_as_full, build, make_site, write_post

import hubbub

NEXT = ('{% for a in dates %}{% if loop.nextitem %}<p class="next">{{ loop.nextitem.summary }}</p>{% endif %}'
        '{% endfor %}\n')
SHOWN = ('{% set ns = namespace(oldest=none) %}{% for a in dates %}{% set ns.oldest = a %}{% endfor %}'
         '<p class="oldest">{{ ns.oldest.summary }}</p>\n')


@pytest.mark.parametrize("shown", [SHOWN, NEXT], ids=["namespace", "loop.nextitem"])
def test_a_post_read_through_a_namespace_or_the_loop_follows_its_edits(tmp_path, shown):
    site = make_site(tmp_path / "site", posts=10)
    overrides = site / "templates"
    overrides.mkdir()
    archives = (Path(hubbub.THEME) / "templates" / "archives.html").read_text(encoding="utf-8").rstrip()
    assert archives.endswith("{% endblock %}")
    (overrides / "archives.html").write_text(archives.removesuffix("{% endblock %}") + shown + "{% endblock %}\n",
                                             encoding="utf-8")
    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + f"\nTHEME_TEMPLATES_OVERRIDES = [{str(overrides)!r}]\n",
                    encoding="utf-8")
    build(site)
    # The oldest post (the last of `dates`, newest first) opens with other words: its summary changes.
    oldest = site / "content" / "posts" / "post-0.md"
    head, _, body = oldest.read_text(encoding="utf-8").partition("\n\n")
    oldest.write_text(f"{head}\n\nQuite another opening sentence. {body}", encoding="utf-8")
    assert_same_as_full(site, tmp_path)
    assert "Quite another opening sentence." in (site / "output" / "archives" / "index.html").read_text(
        encoding="utf-8")


def test_a_post_handed_to_the_template_it_extends_follows_its_edits(tmp_path):
    site = make_site(tmp_path / "site", posts=8)
    theme = Path(hubbub.THEME) / "templates"
    overrides = site / "templates"
    (overrides / "partials").mkdir(parents=True)
    article = (theme / "article.html").read_text(encoding="utf-8")
    assert article.startswith('{% extends "base.html" %}\n')
    (overrides / "article.html").write_text(article.replace("\n", "\n{% set shared = article %}\n", 1),
                                            encoding="utf-8")
    (overrides / "partials" / "share_meta.html").write_text(
        (theme / "partials" / "share_meta.html").read_text(encoding="utf-8")
        + '{% if shared is defined %}<meta name="subtitle" content="{{ shared.subtitle|e }}">{% endif %}\n',
        encoding="utf-8")
    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + f"\nTHEME_TEMPLATES_OVERRIDES = [{str(overrides)!r}]\n",
                    encoding="utf-8")
    write_post(site, 3, extra="Slug: post-3\nSubtitle: A first subtitle\n")
    build(site)
    write_post(site, 3, extra="Slug: post-3\nSubtitle: A second subtitle\n")
    assert_same_as_full(site, tmp_path)
    assert "A second subtitle" in (site / "output" / "posts" / "post-3" / "index.html").read_text(encoding="utf-8")
