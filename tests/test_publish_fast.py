"""The fast publisher: what it writes into a built site must equal what a full build writes.

Each test builds a copy of the real site into tmp_path (real Pelican, real theme and plugins),
publishes through hubbub.core.publisher, then builds the same thread files from scratch and
compares the two outputs byte for byte.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET

import pytest
from publish_helpers import (
    HOSTILE_NAME,
    HOSTILE_URL,
    all_files,
    build,
    comment,
    counts,
    make_site,
    manifest,
    save_thread,
    section,
)

from hubbub.core.publish_state import thread_states
from hubbub.core.publisher import (
    PublishError,
    publish_thread,
    publish_threads,
    republish_threads,
    stale_threads,
)

# Pages whose content hub_profiles derives from all comments (profile stats, latest comments):
# the fast path updates their comment counts and sections only; the debounced full build does the rest.
PROFILE_PAGES = ("authors/",)


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path)


@pytest.fixture
def built(site, tmp_path):
    """A site built with no comments: (output dir, article slugs)."""
    out = tmp_path / "fast"
    build(site, out)
    return out, sorted(manifest(out)["threads"])


def assert_same_output(fast_out, full_out, slugs):
    fast, full = all_files(fast_out), all_files(full_out)
    # The publisher never touches the search index (pagefind/), and Pagefind writes its filter files
    # in a different order on every run: tests/test_search.py compares indexes by content.
    site_files = lambda files: sorted(n for n in files if not n.startswith((".hubbub/", "pagefind/")))  # noqa: E731
    assert site_files(fast) == site_files(full)
    # The publisher's own records: the same recent comments, the same per-thread state.
    assert fast[".hubbub/recent.json"] == full[".hubbub/recent.json"]
    assert thread_states(fast_out) == thread_states(full_out)
    for name in site_files(fast):
        a, b = fast[name].decode("utf-8", "replace"), full[name].decode("utf-8", "replace")
        if name.startswith(PROFILE_PAGES):
            assert counts(a) == counts(b), name
            continue
        assert a == b, f"{name} differs between the fast publish and a full build"
    for slug in slugs:
        page = f"posts/{slug}/index.html"
        assert section(fast[page].decode(), slug) == section(full[page].decode(), slug)


def thread_a(site):
    return [
        comment(site, 11, author=HOSTILE_NAME, url=HOSTILE_URL, html="<p>Hello <em>there</em> &amp; welcome</p>"),
        comment(site, 12, 11, author="Bob", url="https://bob.example/"),
        comment(site, 13, 12, author="Cy"),
        comment(site, 14, 13, author="Dee"),
        comment(site, 15, 14, author="Eve"),
        comment(site, 16, 15, author="Fay"),
        comment(site, 17, None, author="Gus"),
    ]


@pytest.mark.parametrize("relative", [True, False])
def test_fast_publish_equals_full_build(site, tmp_path, relative):
    out = tmp_path / "fast"
    build(site, out, RELATIVE_URLS=relative)
    slugs = sorted(manifest(out)["threads"])
    result = publish_thread(site, out, slugs[0], thread_a(site))
    assert not result.problems and not result.needs_full_build
    assert f"posts/{slugs[0]}/index.html" in result.pages and "archives/index.html" in result.pages
    assert len(result.pages) == len(set(result.pages))
    full = tmp_path / "full"
    build(site, full, RELATIVE_URLS=relative)  # reads the thread file the publisher wrote
    assert_same_output(out, full, slugs[:1])
    assert "7 comments on" in section((out / "posts" / slugs[0] / "index.html").read_text(), slugs[0])


def test_burst_of_threads_edits_and_unpublish(site, built, tmp_path):
    out, slugs = built
    # A burst: three threads in one call; each page is rewritten once.
    burst = {
        slugs[0]: thread_a(site),
        slugs[1]: [comment(site, 21), comment(site, 22, 21)],
        slugs[2]: [comment(site, 31)],
    }
    result = publish_threads(site, out, burst)
    assert not result.problems
    assert len(result.pages) == len(set(result.pages))
    # Then: an edit, a removal from the middle of a thread, and a thread emptied.
    edited = thread_a(site)
    edited[0]["html"] = "<p>Edited by a moderator.</p>"
    del edited[2]  # comment 13: its reply 14 shows at the top level now
    result = publish_threads(site, out, {slugs[0]: edited, slugs[1]: []})
    assert not result.problems
    assert not (site / "content" / "comments" / f"{slugs[1]}.json").exists()
    full = tmp_path / "full"
    build(site, full)
    assert_same_output(out, full, slugs[:3])
    page = (out / "posts" / slugs[1] / "index.html").read_text()
    assert "0 comments on" in section(page, slugs[1]) and "Comment number 21" not in page


def test_writes_are_atomic_replacements(site, built):
    out, slugs = built
    page = out / "posts" / slugs[0] / "index.html"
    before = os.stat(page).st_ino
    publish_thread(site, out, slugs[0], [comment(site, 1)])
    assert os.stat(page).st_ino != before  # replaced by rename, not rewritten in place
    leftovers = list(list(out.rglob("*.tmp")) + list((site / "content").rglob("*.tmp")))
    assert leftovers == []
    saved = json.loads((site / "content" / "comments" / f"{slugs[0]}.json").read_text())
    assert saved["thread"] == slugs[0] and [c["id"] for c in saved["comments"]] == [1]


def test_invalid_comments_are_refused_before_anything_is_written(site, built):
    out, slugs = built
    page = (out / "posts" / slugs[0] / "index.html").read_bytes()
    bad = [comment(site, 1), {"id": 2, "author": "x"}]
    with pytest.raises(PublishError, match="comment #2"):
        publish_thread(site, out, slugs[0], bad)
    with pytest.raises(PublishError, match="slug"):
        publish_thread(site, out, "../../etc/passwd", [comment(site, 1)])
    assert not (site / "content" / "comments" / f"{slugs[0]}.json").exists()
    assert (out / "posts" / slugs[0] / "index.html").read_bytes() == page


def test_unknown_thread_and_missing_build_ask_for_a_full_build(site, built, tmp_path):
    out, slugs = built
    result = publish_thread(site, out, "not-an-article", [comment(site, 1)])
    assert result.needs_full_build and "not an article" in result.problems[0]
    assert (site / "content" / "comments" / "not-an-article.json").exists()

    result = publish_thread(site, tmp_path / "never-built", slugs[0], [comment(site, 2)])
    assert result.needs_full_build and "hubbub build" in result.problems[0]
    assert (site / "content" / "comments" / f"{slugs[0]}.json").exists()


def test_stale_threads_after_a_build_that_missed_an_approval(site, built, tmp_path):
    out, slugs = built
    assert stale_threads(site, out) == []
    # An approval landed in the thread file while a full build was rendering the old one.
    save_thread(site, slugs[3], [comment(site, 41), comment(site, 42, 41)])
    assert stale_threads(site, out) == [slugs[3]]
    result = republish_threads(site, out, stale_threads(site, out))
    assert not result.problems
    assert stale_threads(site, out) == []
    full = tmp_path / "full"
    build(site, full)
    assert_same_output(out, full, slugs[3:4])


def test_site_feed_window_refills_from_thread_files(site, tmp_path):
    """With a 2-item feed (4 remembered), removing recent comments pulls older ones back in."""
    out = tmp_path / "fast"
    build(site, out)
    slugs = sorted(manifest(out)["threads"])
    for i, slug in enumerate(slugs[:4]):
        save_thread(site, slug, [comment(site, 100 + 10 * i + j, minute=10 * i + j) for j in range(3)])
    build(site, out, COMMENT_FEED_MAX_ITEMS=2)
    # Unpublish the three newest threads: the feed must now show thread 0's comments.
    publish_threads(site, out, {slugs[1]: [], slugs[2]: [], slugs[3]: []})
    root = ET.parse(out / "feeds" / "comments.atom.xml").getroot()
    entries = root.findall("{http://www.w3.org/2005/Atom}entry")
    assert [e.find("{http://www.w3.org/2005/Atom}id").text.rsplit("-", 1)[1] for e in entries] == ["102", "101"]
    full = tmp_path / "full"
    build(site, full, COMMENT_FEED_MAX_ITEMS=2)
    assert all_files(out)["feeds/comments.atom.xml"] == all_files(full)["feeds/comments.atom.xml"]
    assert all_files(out)["feeds/comments.rss.xml"] == all_files(full)["feeds/comments.rss.xml"]


def test_a_translation_keeps_its_own_comment_count(site, tmp_path):
    """A translation shares its original's slug, and its page shows its own count (none): the
    publisher puts the thread's count on the original's pages only."""
    out = tmp_path / "fast"
    build(site, out)
    slug = sorted(manifest(out)["threads"])[0]
    author = manifest(out)["threads"][slug]["author"]
    (site / "content" / "posts" / "zz-translation.md").write_text(
        f"Title: Traduction\nDate: 2010-01-01 10:00\nAuthor: {author}\nSlug: {slug}\nLang: fr\n\nBonjour.\n",
        encoding="utf-8")
    build(site, out)
    publish_thread(site, out, slug, thread_a(site))
    full = tmp_path / "full"
    build(site, full)
    assert_same_output(out, full, [slug])


@pytest.mark.parametrize("max_items", [None, 2])
def test_site_feed_and_its_record_after_removals_equal_a_full_build(site, tmp_path, max_items):
    """Removing a few of the newest comments brings back older ones the build did not remember,
    as a build would: in the feed with no limit (it shows all that is remembered), and in the
    record with one."""
    out = tmp_path / "fast"
    build(site, out)
    slugs = sorted(manifest(out)["threads"])
    keep = 2 * (max_items or 50)
    many = [comment(site, 1000 + j, minute=j) for j in range(keep + 20)]
    save_thread(site, slugs[0], many)
    save_thread(site, slugs[1], [comment(site, 10 + j, minute=j) for j in range(3)])
    build(site, out, COMMENT_FEED_MAX_ITEMS=max_items)
    publish_thread(site, out, slugs[0], many[: len(many) - (keep // 10 + 1)])  # the newest few removed
    full = tmp_path / "full"
    build(site, full, COMMENT_FEED_MAX_ITEMS=max_items)
    fast_files, full_files = all_files(out), all_files(full)
    for name in ("feeds/comments.atom.xml", "feeds/comments.rss.xml", ".hubbub/recent.json"):
        assert fast_files[name] == full_files[name], name


def test_depth_setting_is_honoured_by_the_publisher(site, tmp_path):
    out = tmp_path / "fast"
    build(site, out, COMMENTS_MAX_DEPTH=2)
    slugs = sorted(manifest(out)["threads"])
    publish_thread(site, out, slugs[0], thread_a(site))
    full = tmp_path / "full"
    build(site, full, COMMENTS_MAX_DEPTH=2)
    assert_same_output(out, full, slugs[:1])
    assert "depth-3" not in section((out / "posts" / slugs[0] / "index.html").read_text(), slugs[0])


def test_control_characters_never_block_publishing(site, built, tmp_path):
    """The service keeps what was typed; XML cannot carry C0 controls, so pages and feeds drop them."""
    out, slugs = built
    thread = [
        comment(site, 1, author="Eve\x0b\x1b[31m", html="<p>bell\x07 and \ufffe and \x00null</p>"),
        comment(site, 2, 1, author="Good Reader"),
    ]
    result = publish_thread(site, out, slugs[0], thread)
    assert not result.problems
    page = (out / "posts" / slugs[0] / "index.html").read_text()
    assert "Eve[31m" in page and "<p>bell and  and null</p>" in page
    for name in (f"feeds/comments/{slugs[0]}.atom.xml", f"feeds/comments/{slugs[0]}.rss.xml", "feeds/comments.atom.xml"):
        ET.parse(out / name)  # well-formed
    full = tmp_path / "full"
    build(site, full)
    assert_same_output(out, full, slugs[:1])
