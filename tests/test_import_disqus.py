"""`hubbub import disqus`: a Disqus export matched to the site's articles, stored once, published."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from import_helpers import DISQUS, db_comments, hubbub, rebuild

from comments_service.importers.disqus import match_thread

KEY = "disqus:hubbubold"
SOCIAL = "social-media-and-network-marketing"
SEO = "local-seo-for-small-businesses-start-with-the-map"
EMAIL = "email-lists-are-built-on-permission"


@pytest.fixture
def site(site_dir):
    rebuild(site_dir)
    return site_dir


def test_import_matches_threads_stores_statuses_and_publishes(site, service_env, database_url):
    result = hubbub(service_env, "import", "disqus", DISQUS)
    assert result.exit_code == 0, result.output
    assert "9 new (6 published, 1 pending, 1 spam, 1 rejected), 0 already imported" in result.output
    assert "2 comments on threads with no matching article" in result.output
    assert "a-post-that-was-never-moved" in result.output
    assert "The site's pages already show the published comments." in result.output

    rows = {c.import_key: c for c in db_comments(database_url)}
    assert len(rows) == 9
    first, reply, nested = rows[f"{KEY}:7000001"], rows[f"{KEY}:7000002"], rows[f"{KEY}:7000003"]
    assert (first.thread, first.author, first.email, first.remote_addr) == (
        SOCIAL, "Nina Petrova", "nina@readers.example", "203.0.113.21")
    assert first.created == dt.datetime(2009, 9, 11, 10, 15, tzinfo=dt.UTC)
    assert "**few**" in first.body and "[this ethics guide](https://example.org/ethics" in first.body
    assert '<a href="https://example.org/ethics"' in first.html and "nofollow ugc noopener" in first.html
    assert reply.parent_id == first.id and nested.parent_id == reply.id
    assert "Second paragraph &amp; an entity." in reply.html
    assert rows[f"{KEY}:7000004"].status == "spam"
    assert rows[f"{KEY}:7000005"].status == "rejected"
    assert rows[f"{KEY}:7000007"].status == "pending"
    shop = rows[f"{KEY}:7000006"]
    assert shop.thread == SEO and shop.author == "Omar's Corner Shop"
    assert shop.created == dt.datetime(2010, 2, 2, 8, 30, tzinfo=dt.UTC)  # +01:00 converted to UTC
    old_style = rows[f"{KEY}:7000008"]
    assert old_style.thread == SEO and old_style.parent_id == shop.id and old_style.email == ""
    assert rows[f"{KEY}:7000009"].thread == EMAIL  # matched by the link to the new site's URL
    assert all(c.akismet == "unchecked" and c.source == "import" for c in rows.values())

    thread = json.loads((site / "content" / "comments" / f"{SOCIAL}.json").read_text(encoding="utf-8"))
    assert [c["author"] for c in thread["comments"]] == ["Nina Petrova", "Alan Whitaker", "Nina Petrova"]

    # The articles exist, so publishing patched their pages in place; a full build agrees.
    patched = (site / "output" / "posts" / SOCIAL / "index.html").read_text(encoding="utf-8")
    assert "this ethics guide" in patched and "Thanks both!" in patched
    rebuild(site)
    page = (site / "output" / "posts" / SOCIAL / "index.html").read_text(encoding="utf-8")
    assert "this ethics guide" in page and "Thanks both!" in page
    for hidden in ("Follower Shop", "Regretful Reader", "nina@readers.example"):
        assert hidden not in page
    seo = (site / "output" / "posts" / SEO / "index.html").read_text(encoding="utf-8")
    assert "Claiming the business listing" in seo and "Waiting for approval" not in seo

    again = hubbub(service_env, "import", "disqus", DISQUS)
    assert "0 new, 9 already imported" in again.output
    assert len(db_comments(database_url)) == 9


def test_thread_matching_rules():
    known = {"my-post": "my-post", "/posts/my-post": "my-post"}
    assert match_thread("my-post", "", known) == "my-post"
    assert match_thread("", "https://old.example/2011/03/my-post/", known) == "my-post"
    assert match_thread("", "https://old.example/2011/03/my-post.html", known) == "my-post"
    assert match_thread("77 https://old.example/?p=77", "https://new.example/posts/my-post/", known) == "my-post"
    assert match_thread("", "https://old.example/?p=77", known) is None


@pytest.mark.parametrize("text, message", [
    ("<rss><channel/></rss>", "is not a Disqus export: its root element is <rss>"),
    ("<disqus xmlns='http://disqus.com'><post><message>x</message>", "is not valid XML"),
    ("<disqus xmlns='http://disqus.com' xmlns:dsq='http://disqus.com/disqus-internals'>"
     "<post dsq:id='1'><message>x</message><createdAt>2010-01-01T00:00:00Z</createdAt>"
     "<thread dsq:id='42'/></post></disqus>", "belongs to thread '42', which the file does not declare"),
])
def test_bad_files_fail_clearly(site_dir, tmp_path, sqlite_url, text, message):
    path = tmp_path / "disqus.xml"
    path.write_text(text, encoding="utf-8")
    env = {"HUBBUB_SITE_DIR": str(site_dir), "HUBBUB_DATABASE_URL": sqlite_url,
           "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "x"}
    result = hubbub(env, "import", "disqus", path)
    assert result.exit_code == 1
    assert message in result.output and "nothing was imported" in result.output


def test_a_commenter_erased_before_the_import_stays_erased(site, service_env, database_url):
    """Nina asked to be erased before the old Disqus comments were brought over: hers stay out."""
    erased = hubbub(service_env, "privacy", "erase", "Nina@Readers.example", "--yes")
    assert "No import will bring back what was written with this address until now." in erased.output
    result = hubbub(service_env, "import", "disqus", DISQUS)
    assert result.exit_code == 0, result.output
    assert "7 new" in result.output and "2 comments of people erased before (hubbub privacy erase) left out" in result.output
    assert not [c for c in db_comments(database_url) if c.author == "Nina Petrova" or c.email == "nina@readers.example"]
