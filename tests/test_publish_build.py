"""The build side of publishing: a real Pelican build of a copy of the site, with thread files.

Checks threading, escaping of hostile comments, avatars without emails, counts on listing pages,
the comment feeds (parsed with xml.etree), the manifest, and that a broken thread file fails the
build naming the file.
"""

from __future__ import annotations

import re
import threading
import xml.etree.ElementTree as ET
from datetime import UTC

import lxml.html
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from publish_helpers import (
    HOSTILE_NAME,
    HOSTILE_URL,
    all_files,
    build,
    comment,
    counts,
    email_traces,
    make_site,
    manifest,
    save_thread,
    section,
)

from hubbub.build import BuildError
from hubbub.core.identity import author_key, salt_path, site_salt
from hubbub.core.threadfile import Comment, ThreadFileError, read_thread
from hubbub.core.tree import comment_tree

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path)


@pytest.fixture
def slugs(site, tmp_path):
    """Article slugs of the site, from a first build's manifest."""
    out = tmp_path / "probe"
    build(site, out)
    return sorted(manifest(out)["threads"])


# ---- identity ---------------------------------------------------------------------------------


def test_site_salt_is_created_once_and_kept(tmp_path):
    first = site_salt(tmp_path)
    text = salt_path(tmp_path).read_text().strip()
    assert len(first) == 32 and bytes.fromhex(text) == first
    assert site_salt(tmp_path) == first


def test_site_salt_racing_creators_agree(tmp_path):
    results, barrier = [], threading.Barrier(8)

    def create():
        barrier.wait()
        results.append(site_salt(tmp_path))

    workers = [threading.Thread(target=create) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(set(results)) == 1
    assert [p.name for p in salt_path(tmp_path).parent.iterdir()] == [".salt"]  # no temp files left


def test_author_key_normalises_email_and_depends_on_salt():
    salt = bytes(range(32))
    k = author_key("  Ann@Example.ORG ", salt)
    assert k == author_key("ann@example.org", salt)
    assert re.fullmatch(r"[0-9a-f]{64}", k)
    assert k != author_key("ann@example.org", bytes(32))
    assert k != author_key("bob@example.org", salt)


def test_damaged_salt_is_reported(tmp_path):
    from hubbub.core.identity import SaltError

    salt_path(tmp_path).parent.mkdir(parents=True)
    salt_path(tmp_path).write_text("not hex at all")
    with pytest.raises(SaltError, match=r"\.salt"):
        site_salt(tmp_path)


# ---- the comment section in a built page ------------------------------------------------------


def test_build_renders_threaded_escaped_comments(site, slugs, tmp_path):
    slug = slugs[0]
    thread = [
        comment(site, 1, author=HOSTILE_NAME, url=HOSTILE_URL, email="eve@example.org"),
        comment(site, 2, 1, author="Bob", url="javascript:alert(1)", email="bob@example.org"),
        comment(site, 3, 2, author="Cy", email="cy@example.org"),
        comment(site, 4, None, author="Dee", url="https://dee.example/", email="dee@example.org"),
        comment(site, 5, 1, author="Bob", email="BOB@example.org "),
    ]
    save_thread(site, slug, thread)
    out = tmp_path / "out"
    build(site, out)
    page = (out / "posts" / slug / "index.html").read_text()
    doc = lxml.html.fromstring(section(page, slug))

    top = doc.xpath('//ol[@class="comment-list"]/li')
    assert [li.get("id") for li in top] == ["comment-1", "comment-4"]
    assert [li.get("id") for li in doc.xpath('//li[@id="comment-1"]/ol[@class="children"]/li')] == ["comment-2", "comment-5"]
    assert [li.get("id") for li in doc.xpath('//li[@id="comment-2"]/ol[@class="children"]/li')] == ["comment-3"]

    # The hostile name is text, its website an attribute value; nothing became markup.
    first = doc.xpath('//li[@id="comment-1"]')[0]
    link = first.xpath('.//span[@class="author"]/a')[0]
    assert link.text_content() == HOSTILE_NAME
    assert link.get("href") == HOSTILE_URL
    assert link.get("rel") == "nofollow ugc"
    assert not doc.xpath("//script") and "<script>alert" not in section(page, slug)
    # A javascript: website is not linked at all.
    assert not doc.xpath('//li[@id="comment-2"]//span[@class="author"]/a')
    # Permalink anchors and Reply links that work without JavaScript.
    assert first.xpath('./article//a[@class="permalink"]/@href') == ["#comment-1"]
    reply = first.xpath('./article//a[@class="comment-reply"]')[0]
    assert reply.get("href") == f"/api/threads/{slug}/comments/1/reply" and reply.get("data-parent") == "1"
    assert first.xpath("./article//time/@datetime")[0] == "2026-11-20T10:01:00+00:00"
    # The sanitised HTML goes in as it is.
    assert first.xpath('./article/div[@class="comment-body"]/p/text()') == ["Comment number 1."]
    # Same email (any case) → same avatar; different email → different avatar.
    avatar = {li.get("id"): lxml.html.tostring(li.xpath("./article//svg")[0]) for li in doc.xpath("//li")}
    assert avatar["comment-2"] == avatar["comment-5"]
    assert avatar["comment-2"] != avatar["comment-3"]
    assert "5 comments on" in doc.xpath('//h2[@id="comments-title"]')[0].text_content()


def test_names_are_isolated_from_the_line_they_sit_in(site, slugs, tmp_path):
    """A right-to-left override in a name (U+202E) must not reorder the rest of the comment's
    header: every name sits in its own <bdi>, in the header and in "replying to"."""
    slug = slugs[0]
    spoof = "\u202eRemmoc"
    save_thread(site, slug, [comment(site, 1), comment(site, 2, 1, author=spoof, email="rtl@example.org"),
                             comment(site, 3, 2, author="Bob", email="bob@example.org")])
    out = tmp_path / "out"
    build(site, out, COMMENTS_MAX_DEPTH=2)  # the reply to the reply says whom it answers
    doc = lxml.html.fromstring(section((out / "posts" / slug / "index.html").read_text(), slug))
    assert [b.text for b in doc.xpath('//li[@id="comment-2"]/article//span[@class="author"]/bdi')] == [spoof]
    assert [b.text for b in doc.xpath('//li[@id="comment-3"]/article//span[@class="in-reply-to"]/a/bdi')] == [spoof]


def test_replies_beyond_max_depth_flatten_at_the_last_level(site, slugs, tmp_path):
    slug = slugs[0]
    chain = [comment(site, 1)] + [comment(site, i, i - 1) for i in range(2, 7)]
    save_thread(site, slug, chain)
    out = tmp_path / "out"
    build(site, out, COMMENTS_MAX_DEPTH=3)
    doc = lxml.html.fromstring(section((out / "posts" / slug / "index.html").read_text(), slug))
    depth = {li.get("id"): len(li.xpath("ancestor::li")) + 1 for li in doc.xpath("//li")}
    assert depth == {"comment-1": 1, "comment-2": 2, "comment-3": 3, "comment-4": 3, "comment-5": 3, "comment-6": 3}
    # Flattened replies say whom they answer.
    assert doc.xpath('//li[@id="comment-5"]//span[@class="in-reply-to"]/a/@href') == ["#comment-4"]
    assert not doc.xpath('//li[@id="comment-3"]//span[@class="in-reply-to"]')
    siblings = doc.xpath('//li[@id="comment-2"]/ol/li/@id')
    assert siblings == ["comment-3", "comment-4", "comment-5", "comment-6"]


def test_counts_on_listing_pages_and_manifest_index(site, slugs, tmp_path):
    slug = slugs[0]
    save_thread(site, slug, [comment(site, 1), comment(site, 2, 1)])
    out = tmp_path / "out"
    build(site, out)
    info = manifest(out)
    entry = info["threads"][slug]
    assert set(info["threads"]) == set(slugs)
    assert entry["url"] == f"posts/{slug}/" and entry["title"] and entry["save_as"] == f"posts/{slug}/index.html"
    assert entry["absolute_url"].endswith(f"/posts/{slug}/")
    assert "archives/index.html" in entry["count_pages"] and entry["save_as"] in entry["count_pages"]
    for page in entry["count_pages"]:
        html = (out / page).read_text()
        mine = [c for c in counts(html) if f'data-thread="{slug}"' in c]
        assert mine and all(">2 comments</a>" in c for c in mine), page
        assert info["pages"][page] in (".", "..", "../..", "../../..")  # RELATIVE_URLS in development
    # Pages that do not show the count are not in the index.
    for page in set(info["pages"]) - set(entry["count_pages"]):
        assert f'data-thread="{slug}"' not in (out / page).read_text()
    other = (out / "posts" / slugs[1] / "index.html").read_text()
    assert "0 comments" in section(other, slugs[1]) and "No comments yet" in other


def test_no_email_or_plain_hash_anywhere_in_output(site, slugs, tmp_path):
    emails = ["Secret.Person@Example.org", "another@example.net"]
    save_thread(site, slugs[0], [comment(site, 1, email=emails[0]), comment(site, 2, 1, email=emails[1])])
    save_thread(site, slugs[1], [comment(site, 3, email=emails[0])])
    out = tmp_path / "out"
    build(site, out)
    for name, data in all_files(out).items():
        text = data.decode("utf-8", "replace")
        for email in emails:
            for trace in email_traces(email):
                assert trace not in text, f"{name} contains {trace}"
        assert key(site, emails[0]) not in text, f"{name} contains an author_key"


def key(site, email):
    return author_key(email, site_salt(site))


# ---- feeds --------------------------------------------------------------------------------------


def test_comment_feeds_parse_and_are_complete(site, slugs, tmp_path):
    save_thread(site, slugs[0], [comment(site, 1, author=HOSTILE_NAME, url=HOSTILE_URL), comment(site, 2, 1)])
    save_thread(site, slugs[1], [comment(site, 3)])
    out = tmp_path / "out"
    build(site, out)
    info = manifest(out)

    atom = ET.parse(out / "feeds" / "comments" / f"{slugs[0]}.atom.xml").getroot()
    entries = atom.findall(f"{ATOM}entry")
    assert [e.find(f"{ATOM}id").text.rsplit("#", 1)[1] for e in entries] == ["comment-2", "comment-1"]
    first = entries[1]
    assert first.find(f"{ATOM}author/{ATOM}name").text == HOSTILE_NAME
    assert first.find(f"{ATOM}author/{ATOM}email") is None
    assert first.find(f"{ATOM}content").text == "<p>Comment number 1.</p>"
    assert first.find(f"{ATOM}link").get("href") == info["threads"][slugs[0]]["absolute_url"] + "#comment-1"

    rss = ET.parse(out / "feeds" / "comments" / f"{slugs[0]}.rss.xml").getroot()
    items = rss.findall("channel/item")
    assert [i.find("guid").text.rsplit("#", 1)[1] for i in items] == ["comment-2", "comment-1"]
    assert all(i.find("author") is None for i in items)  # RSS <author> is an email: never
    assert items[1].find("{http://purl.org/dc/elements/1.1/}creator").text == HOSTILE_NAME

    site_atom = ET.parse(out / "feeds" / "comments.atom.xml").getroot()
    assert [e.find(f"{ATOM}id").text.rsplit("-", 1)[1] for e in site_atom.findall(f"{ATOM}entry")] == ["3", "2", "1"]
    site_rss = ET.parse(out / "feeds" / "comments.rss.xml").getroot()
    assert len(site_rss.findall("channel/item")) == 3

    # Articles without comments still have (empty) feeds, so the links never 404.
    empty = ET.parse(out / "feeds" / "comments" / f"{slugs[2]}.atom.xml").getroot()
    assert empty.findall(f"{ATOM}entry") == []
    # The pages link to them.
    page = (out / "posts" / slugs[0] / "index.html").read_text()
    head = lxml.html.fromstring(page).xpath('//head/link[@rel="alternate"]/@href')
    assert any(h.endswith(f"feeds/comments/{slugs[0]}.atom.xml") for h in head)
    assert any(h.endswith(f"feeds/comments/{slugs[0]}.rss.xml") for h in head)
    assert any(h.endswith("feeds/comments.atom.xml") for h in head)


def test_site_feed_keeps_only_the_newest(site, slugs, tmp_path):
    save_thread(site, slugs[0], [comment(site, i) for i in range(1, 8)])
    out = tmp_path / "out"
    build(site, out, COMMENT_FEED_MAX_ITEMS=3)
    root = ET.parse(out / "feeds" / "comments.atom.xml").getroot()
    assert [e.find(f"{ATOM}id").text.rsplit("-", 1)[1] for e in root.findall(f"{ATOM}entry")] == ["7", "6", "5"]


# ---- broken data fails loudly --------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "not valid JSON"),
        ('{"thread": "%s", "comments": {"id": 1}}', "'comments' must be a list"),
        ('{"thread": "%s", "comments": [{"id": "1", "author": "a", "html": "", "created": "2026-01-01T00:00:00+00:00"}]}',
         "'id' must be an integer"),
        ('{"thread": "someone-else", "comments": []}', "named for"),
        ('{"thread": "%s", "comments": [{"id": 1, "author": "a", "html": "", "created": "yesterday"}]}',
         "ISO 8601"),
    ],
)
def test_bad_thread_file_fails_the_build_naming_the_file(site, slugs, tmp_path, content, message):
    slug = slugs[0]
    path = site / "content" / "comments" / f"{slug}.json"
    path.write_text(content.replace("%s", slug))
    with pytest.raises(BuildError) as failure:
        build(site, tmp_path / "out")
    assert str(path) in str(failure.value)  # whichever plugin reads it first names the file
    # The shared reader (used by plugins/comments.py and the publisher) also says what is wrong.
    with pytest.raises(ThreadFileError) as problem:
        read_thread(path.parent, slug)
    assert str(path) in str(problem.value) and message in str(problem.value)


def test_thread_file_without_article_is_ignored(site, slugs, tmp_path):
    save_thread(site, "no-such-article", [comment(site, 1)])
    out = tmp_path / "out"
    build(site, out)
    assert "no-such-article" not in manifest(out)["threads"]
    assert not (out / "feeds" / "comments" / "no-such-article.atom.xml").exists()


# ---- the tree itself ----------------------------------------------------------------------------


def _flatten(nodes):
    for n in nodes:
        yield n
        yield from _flatten(n.children)


@settings(max_examples=60, deadline=None)
@given(parents=st.lists(st.integers(min_value=0, max_value=40), max_size=40), depth=st.integers(1, 6))
def test_tree_keeps_every_comment_once_within_depth(parents, depth):
    from datetime import datetime, timedelta

    start = datetime(2026, 1, 1, tzinfo=UTC)
    comments = [
        Comment(id=i + 1, parent=(p if 0 < p <= i else None), author=f"a{i}", url="", html="",
                created=start + timedelta(minutes=i), author_key="")
        for i, p in enumerate(parents)
    ]
    nodes = list(_flatten(comment_tree(comments, max_depth=depth)))
    assert sorted(n.id for n in nodes) == [c.id for c in comments]
    assert all(1 <= n.depth <= depth for n in nodes)
    by_id = {n.id: n for n in nodes}
    for n in nodes:
        if n.parent is not None:
            parent = by_id[n.parent]
            # Either nested right under its parent, or flattened at the last level naming it.
            assert (n in parent.children and n.reply_to is None) or (n.depth == depth and n.reply_to is parent)


def test_comments_plugin_alone_fails_the_build_on_a_bad_file(site, slugs, tmp_path):
    path = site / "content" / "comments" / f"{slugs[0]}.json"
    path.write_text(f'{{"thread": "{slugs[0]}", "comments": [{{"id": 1}}]}}')
    with pytest.raises(BuildError) as failure:
        build(site, tmp_path / "out", PLUGINS=["hubbub.plugins.safe_content", "hubbub.plugins.comments"])
    assert str(path) in str(failure.value) and "'author' must be a string" in str(failure.value)


# ---- rebuilds keep unchanged feeds; the background feed writer reports failures -------------------


def test_rebuild_rewrites_only_changed_feeds(site, slugs, tmp_path):
    save_thread(site, slugs[0], [comment(site, 1)])
    save_thread(site, slugs[1], [comment(site, 2)])
    out = tmp_path / "out"
    build(site, out)
    feed = lambda slug: out / "feeds" / "comments" / f"{slug}.atom.xml"  # noqa: E731
    before = {s: feed(s).stat().st_ino for s in slugs}
    save_thread(site, slugs[1], [comment(site, 2), comment(site, 3, 2)])
    feed(slugs[2]).unlink()
    build(site, out)
    after = {s: feed(s).stat().st_ino for s in slugs}
    assert after[slugs[0]] == before[slugs[0]]  # same thread file: kept
    assert after[slugs[1]] != before[slugs[1]]  # changed: rewritten
    assert feed(slugs[2]).exists()  # missing: written again
    fresh = tmp_path / "fresh"
    build(site, fresh)
    for s in slugs:
        assert feed(s).read_bytes() == (fresh / "feeds" / "comments" / f"{s}.atom.xml").read_bytes()


def test_background_task_failure_reaches_the_parent():
    from hubbub.core.background import BackgroundError, ChildTask, can_fork

    if not can_fork():
        pytest.skip("this test process has threads; the task would run inline")

    def fail():
        raise ValueError("disk full while writing feeds/comments/x.atom.xml")

    task = ChildTask(fail, "writing the comment feeds")
    assert task.pid is not None  # it really ran in a child
    with pytest.raises(BackgroundError, match="disk full while writing"):
        task.wait()


def test_inline_task_raises_directly():
    from hubbub.core.background import ChildTask

    with pytest.raises(ValueError, match="inline"):
        ChildTask(lambda: (_ for _ in ()).throw(ValueError("inline")), "x", parallel=False)
