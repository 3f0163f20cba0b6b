"""Webmentions in the static site: replies threaded with comments and marked "via", likes, reposts
and bookmarks as rows with counts, local avatars unless remote photos are allowed; the fast
publisher and a full build write the same bytes; feeds and counts carry the conversation only."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest
from publish_helpers import build, comment, counts, make_site, manifest, save_thread, section
from test_publish_fast import assert_same_output

from hubbub.core.publisher import publish_thread
from hubbub.core.threadfile import ThreadFileError, parse_comments, read_thread

ATOM = "{http://www.w3.org/2005/Atom}"


def mention(site, id, type, *, author, source, photo="", parent=None, minute=None, url="", html=None):
    record = comment(site, id, parent, author=author, url=url, minute=minute,
                     html=html if html is not None else ("" if type in ("like", "repost", "bookmark")
                                                          else f"<p>Mention number {id}.</p>"))
    record.update(kind="webmention", type=type, source=source, photo=photo)
    return record


def discussion(site):
    return [
        comment(site, 1, author="Rita Reader"),
        mention(site, 2, "reply", author="Alice Example", url="https://alice.example/",
                source="https://www.alice.example/2026/reply", photo="https://alice.example/me.jpg"),
        comment(site, 3, 2, author="Sam"),  # a local reply to the webmention
        mention(site, 4, "like", author="Bob", url="https://bob.example/", source="https://bob.example/likes/1",
                photo="https://bob.example/bob.png"),
        mention(site, 5, "like", author="Cy", source="https://cy.example/l/5"),
        mention(site, 6, "repost", author="Dee", source="https://social.example/@dee/6"),
        mention(site, 7, "mention", author="Eve", source="https://eve.example/notes/7"),
        mention(site, 8, "bookmark", author="Fay", source="javascript:alert(1)"),
    ]


@pytest.fixture
def site(tmp_path):
    return make_site(tmp_path)


@pytest.mark.parametrize("photos", [False, True])
def test_fast_publish_of_webmentions_equals_full_build(site, tmp_path, photos):
    out = tmp_path / "fast"
    build(site, out, WEBMENTION_REMOTE_PHOTOS=photos)
    slug = sorted(manifest(out)["threads"])[0]
    result = publish_thread(site, out, slug, discussion(site))
    assert not result.problems
    full = tmp_path / "full"
    build(site, full, WEBMENTION_REMOTE_PHOTOS=photos)
    assert_same_output(out, full, [slug])

    page = (out / "posts" / slug / "index.html").read_text()
    block = section(page, slug)
    # The conversation: comments, the reply and the mention, by date; a local reply under the webmention.
    assert "4 comments on" in block
    assert block.index('id="comment-1"') < block.index('id="comment-2"') < block.index('id="comment-3"')
    assert 'class="comment depth-1 webmention webmention-reply"' in block
    assert '<li id="comment-3" class="comment depth-2" data-comment="3">' in block
    assert 'via <a href="https://www.alice.example/2026/reply" rel="nofollow ugc">alice.example</a>' in block
    assert 'mentioned this via <a href="https://eve.example/notes/7" rel="nofollow ugc">eve.example</a>' in block
    # Likes, reposts, bookmarks: rows with counts, not entries.
    assert "2 likes" in block and "1 repost<" in block and "1 bookmark<" in block
    for n in (4, 5, 6, 8):
        assert f'id="comment-{n}"' not in block
    assert 'title="Bob"' in block and 'href="https://bob.example/"' in block
    assert "javascript:" not in block  # a hostile source is no link
    assert any(">4 comments<" in c for c in counts(page))
    # Remote photos only when the operator allows them; otherwise every avatar is drawn here.
    assert ('src="https://alice.example/me.jpg"' in block) is photos
    assert ('src="https://bob.example/bob.png"' in block) is photos
    if photos:
        assert 'referrerpolicy="no-referrer"' in block

    feed = ET.parse(out / "feeds" / "comments" / f"{slug}.atom.xml").getroot()
    ids = sorted(e.find(f"{ATOM}id").text.rsplit("-", 1)[1] for e in feed.findall(f"{ATOM}entry"))
    assert ids == ["1", "2", "3", "7"]  # the conversation, no likes or reposts
    site_feed = ET.parse(out / "feeds" / "comments.atom.xml").getroot()
    assert len(site_feed.findall(f"{ATOM}entry")) == 4


def test_only_reactions_show_no_comments_but_their_rows(site, tmp_path):
    out = tmp_path / "fast"
    build(site, out)
    slug = sorted(manifest(out)["threads"])[1]
    publish_thread(site, out, slug, [mention(site, 9, "like", author="Bob", source="https://bob.example/l")])
    block = section((out / "posts" / slug / "index.html").read_text(), slug)
    assert "0 comments on" in block and "1 like<" in block and "No comments yet" in block
    full = tmp_path / "full"
    build(site, full)
    assert_same_output(out, full, [slug])


def test_thread_file_format_is_extended_backwards_compatibly(site, tmp_path):
    plain = comment(site, 1)
    saved = parse_comments([plain], "test")[0].to_json()
    assert set(saved) == {"id", "parent", "author", "url", "html", "created", "author_key"}  # old files stay as they were
    record = mention(site, 2, "reply", author="Alice", source="https://alice.example/r")
    save_thread(site, "a-post", [plain, record])
    stored = json.loads((site / "content" / "comments" / "a-post.json").read_text())
    assert stored["comments"][1]["kind"] == "webmention" and stored["comments"][1]["type"] == "reply"
    assert "kind" not in stored["comments"][0]
    again = read_thread(site / "content" / "comments", "a-post").comments
    assert again[1].source == "https://alice.example/r" and again[0].kind == "comment"
    with pytest.raises(ThreadFileError, match="type"):
        parse_comments([{**record, "type": "wink"}], "test")
    with pytest.raises(ThreadFileError, match="kind"):
        parse_comments([{**plain, "kind": "pingback"}], "test")
