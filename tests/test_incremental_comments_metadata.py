"""A post with a `Comments:` line (`open` or `closed`) follows its thread in incremental builds.

Pelican reads that line as the attribute `comments`, which the comments plugin then replaces with
the thread's comment tree. The build must not take the attribute for one its source's stamp
stands for: a comment changed in a way its JSON-LD does not show (the commenter's website, an
avatar) must still render the post's page again, as `hubbub build --full` does.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from build_helpers import assert_same_as_full, build, make_site, private_copy, write_post


@pytest.fixture(scope="module")
def built_template(tmp_path_factory) -> Path:
    site = make_site(tmp_path_factory.mktemp("comments-meta") / "site", posts=12)
    build(site)
    return site


@pytest.fixture
def site(built_template, tmp_path) -> Path:
    return private_copy(built_template, tmp_path)


@pytest.mark.parametrize("line", ["Comments: open", "Comments: closed"])
def test_a_commenters_website_shows_on_a_post_with_a_comments_line(site, tmp_path, line):
    write_post(site, 3, extra=f"Slug: post-3\n{line}\n")  # post-3 has a thread (tests/build_helpers.py)
    assert_same_as_full(site, tmp_path)
    thread = site / "content" / "comments" / "post-3.json"
    data = json.loads(thread.read_text(encoding="utf-8"))
    data["comments"][0]["url"] = "https://commenter.example.org/"
    thread.write_text(json.dumps(data, indent=1), encoding="utf-8")
    report = assert_same_as_full(site, tmp_path)
    assert "posts/post-3/index.html" in report.written
    assert "https://commenter.example.org/" in (site / "output" / "posts" / "post-3" / "index.html").read_text(
        encoding="utf-8")


def test_serve_reload_shows_the_thread_of_an_edited_post_with_a_comments_line(tmp_path):
    """`hubbub serve --reload` renders an edited post's page at once from the post read again and
    what the plugins attached to it last build: the thread, not the `Comments:` line's text (whose
    letters made as many empty comments), and the post's new date, not the old one."""
    from hubbub.build import reload

    site = make_site(tmp_path / "site", posts=6)
    write_post(site, 3, extra="Slug: post-3\nComments: open\n")
    live = reload.LiveSite(site)
    live.memory.watching = True
    live.build()
    page = site / "output" / "posts" / "post-3" / "index.html"
    assert page.read_text(encoding="utf-8").count('<li id="comment-') == 2
    post = write_post(site, 3, extra="Slug: post-3\nComments: open\n", title="Retitled three",
                      date="2016-07-09 10:00")
    assert live._fast({post}) == ["posts/post-3/index.html"]
    shown = page.read_text(encoding="utf-8")
    assert "Retitled three" in shown and "9 July 2016" in shown
    assert shown.count('<li id="comment-') == 2 and '<li id="comment-"' not in shown
