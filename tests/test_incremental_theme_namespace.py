"""A theme that keeps a post in a Jinja `namespace` shows it as it is now after an incremental build.

`{% set ns.oldest = article %}` inside a loop is the usual Jinja way to carry a value out of it.
The build works out from the templates what a page reads of its context; what is read through
the namespace afterwards (`ns.oldest.summary`) is read of the post, and a change to it must
render the page again, as `hubbub build --full` does.
"""

from __future__ import annotations

from pathlib import Path

from build_helpers import assert_same_as_full, build, make_site

import hubbub

SHOWN = ('{% set ns = namespace(oldest=none) %}{% for a in dates %}{% set ns.oldest = a %}{% endfor %}'
         '<p class="oldest">{{ ns.oldest.summary }}</p>\n')


def test_a_post_kept_in_a_namespace_follows_its_edits(tmp_path):
    site = make_site(tmp_path / "site", posts=10)
    overrides = site / "templates"
    overrides.mkdir()
    archives = (Path(hubbub.THEME) / "templates" / "archives.html").read_text(encoding="utf-8").rstrip()
    assert archives.endswith("{% endblock %}")
    (overrides / "archives.html").write_text(archives.removesuffix("{% endblock %}") + SHOWN + "{% endblock %}\n",
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
