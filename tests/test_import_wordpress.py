"""`hubbub import wordpress`: a realistic WXR file into a real site copy and database, then a build."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from import_helpers import WXR, by_key, db_comments, hubbub, rebuild

from comments_service.importers.convert import autop, shortcodes, to_markdown

SITE = "wordpress:old.wiredsocial.example"
UTC = dt.UTC


@pytest.fixture
def site(site_dir):
    rebuild(site_dir)  # its manifest must point at this copy, where thread files will be written
    return site_dir


@pytest.fixture
def sqlite_env(site, tmp_path, sqlite_url):
    """For tests whose point is not the database: SQLite only."""
    return {"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": sqlite_url,
            "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "test-secret"}


def read(path):
    return path.read_text(encoding="utf-8")


def test_import_then_build_shows_posts_pages_authors_and_comments(site, service_env, database_url, make_app):
    result = hubbub(service_env, "import", "wordpress", WXR)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "posts:     3 (3 written" in out
    assert "pages:     2 (1 written, 0 unchanged, 1 kept" in out
    assert "3 profile stubs written" in out
    assert "9 new (5 published, 2 pending, 1 spam, 1 rejected), 0 already imported" in out
    for skipped in ("1 draft;", "1 private post;", "1 password-protected post;", "1 trashed post",
                    "1 pingback or trackback", "1 comment on a page", "1 comment on an item not imported",
                    "1 author with nothing published"):
        assert skipped in out
    assert "content/pages/about.md exists with other content and was kept" in out
    assert "[gallery] left out" in out
    assert "run `hubbub build`" in out
    assert "Reading" not in out  # no progress bar when the output is not a terminal

    # Posts: metadata and clean Markdown -------------------------------------------------
    posts = site / "content" / "posts"
    closet = read(posts / "lessons-from-a-router-closet.md")
    head, body = closet.split("\n\n", 1)
    assert head.splitlines() == [
        "Title: Lessons From a Router Closet",
        "Date: 2011-03-08 19:30",
        "Author: Marta Lindqvist",
        "Category: Networking",
        "Tags: routers, documentation",
        "Slug: lessons-from-a-router-closet",
        "Summary: The cupboard under the stairs taught me more about networking than any conference & its "
        "coffee. Here is what I found in there — and what it taught me.",
    ]
    assert "- Every cable had a **label**, but none of the labels were true." in body
    assert "  1. ask them," in body and "  2. write it down." in body  # a nested ordered list
    assert "[VoIP phones](https://en.wikipedia.org/wiki/Voice_over_IP)" in body
    assert ("[![A dusty router closet](https://old.wiredsocial.example/wp-content/uploads/2011/03/closet-300x200.jpg)]"
            "(https://old.wiredsocial.example/wp-content/uploads/2011/03/closet.jpg)") in body
    assert "*The closet, before the tidy-up*" in body
    assert "## What people & routers have in common" in body
    assert "from £40 to €55 — 5 < 7" in body and "…" in body
    assert "&lt;blink>" in body  # text that looks like a tag stays text
    assert "> Label the cable, not the port." in body
    assert "```\nshow ip route\n  C 10.0.0.0/24 is directly connected\n```" in body
    assert "[caption" not in body and "[gallery" not in body and "<!--" not in body

    cafe = read(posts / "cafe-meetings-cold-calls.md")
    assert "Title: Café Meetings & Cold Calls\n" in cafe
    assert "Author: Tom O'Brennan\nCategory: Sales\nTags: Networking, cold calling\n" in cafe
    assert "Summary: Why a coffee beats a cold call, every time.\n" in cafe
    assert "- Pick a café near *them*." in cafe
    assert "[the meeting guide](https://www.example.org/guide?a=1&b=2)" in cafe
    assert "wp:paragraph" not in cafe
    manana = read(posts / "manana-meetings.md")
    assert "Title: Mañana Meetings\n" in manana and "Slug: manana-meetings\n" in manana
    assert "Category:" not in manana  # only "Uncategorized": the site's default category applies
    assert {p.name for p in posts.glob("*.md")} >= {"lessons-from-a-router-closet.md", "cafe-meetings-cold-calls.md"}
    for never in ("team-salaries-2012", "pricing-sheet", "printers", "half-written"):
        assert not list(posts.glob(f"*{never}*")), never

    pages = site / "content" / "pages"
    assert "Title: Our Team\n" in read(pages / "our-team.md")
    assert "The old about page." not in read(pages / "about.md")  # the site's own page is kept

    authors = site / "content" / "authors"
    marta = read(authors / "marta-lindqvist.md")
    assert "Name: Marta Lindqvist\n" in marta and "Email: marta@wiredsocial.example\n" in marta
    assert "Joined: 2011-01-01\n" in marta
    assert "Name: Tom O'Brennan\n" in read(authors / "tom-obrennan.md")
    assert (authors / "ji-woo-kim.md").exists()
    assert not (authors / "summer-intern.md").exists()  # wrote nothing that was published

    # Comments in the database -----------------------------------------------------------
    rows = db_comments(database_url)
    assert len(rows) == 9
    c = by_key(rows)
    expected = {101: "published", 102: "published", 103: "published", 104: "pending", 105: "spam",
                106: "rejected", 201: "published", 202: "published", 203: "pending"}
    assert {k: v.status for k, v in c.items()} == {f"{SITE}:{n}": s for n, s in expected.items()}
    ada, marta_reply, nested = c[f"{SITE}:101"], c[f"{SITE}:102"], c[f"{SITE}:103"]
    assert (ada.author, ada.email, ada.url, ada.remote_addr) == (
        "Ada Reader", "ada@readers.example", "https://ada.readers.example/", "203.0.113.7")
    assert ada.created == dt.datetime(2011, 3, 8, 21, 4, 10, tzinfo=UTC)
    assert ada.thread == "lessons-from-a-router-closet" and ada.parent_id is None
    assert marta_reply.parent_id == ada.id and nested.parent_id == marta_reply.id
    assert nested.remote_addr == "2001:db8::7"
    assert "<script" not in nested.html and 'rel="nofollow ugc noopener"' in nested.html
    assert "Noted &amp; labelled." in nested.html
    assert all(r.akismet == "unchecked" and r.source == "import" for r in rows)
    assert c[f"{SITE}:104"].url == ""  # WordPress's bare "http://"
    assert c[f"{SITE}:201"].author == "Seán O'Neill"
    assert c[f"{SITE}:201"].created == dt.datetime(2011, 6, 15, 9, 0, tzinfo=UTC)  # the GMT date
    anonymous = c[f"{SITE}:202"]
    assert anonymous.author == "Anonymous" and anonymous.email == "" and anonymous.remote_addr is None
    assert anonymous.created == dt.datetime(2011, 6, 16, 10, 0, tzinfo=UTC)  # zero GMT date: local date used
    assert anonymous.parent_id == c[f"{SITE}:201"].id
    assert ada.published_at == ada.created and c[f"{SITE}:104"].published_at is None

    # Thread files were written by the publish jobs --------------------------------------
    thread = json.loads(read(site / "content" / "comments" / "lessons-from-a-router-closet.json"))
    assert [x["author"] for x in thread["comments"]] == ["Ada Reader", "Marta Lindqvist", "Ada Reader"]
    assert "ada@readers.example" not in json.dumps(thread)

    # The built site shows it all --------------------------------------------------------
    rebuild(site)
    out_dir = site / "output"
    page = read(out_dir / "posts" / "lessons-from-a-router-closet" / "index.html")
    assert "Lessons From a Router Closet" in page
    assert "<li>Every cable had a <strong>label</strong>" in page
    assert 'href="https://en.wikipedia.org/wiki/Voice_over_IP"' in page
    assert 'src="https://old.wiredsocial.example/wp-content/uploads/2011/03/closet-300x200.jpg"' in page
    assert "do not unplug" in page and "fire alarm" in page and "my label maker review" in page
    for hidden in ("Cheap Watches", "Grumpy Gus", "Quiet Visitor", "ada@readers.example", "203.0.113.7"):
        assert hidden not in page
    assert "Twenty minutes is a long time" in read(out_dir / "posts" / "cafe-meetings-cold-calls" / "index.html")
    assert (out_dir / "our-team" / "index.html").exists()
    assert (out_dir / "authors" / "marta-lindqvist" / "index.html").exists()
    assert not (out_dir / "posts" / "team-salaries-2012").exists()
    manifest = json.loads(read(out_dir / ".hubbub" / "manifest.json"))
    assert "lessons-from-a-router-closet" in manifest["threads"]

    # The moderation queue has the held comments -----------------------------------------
    app = make_app(service_env)
    if "moderation_api" not in app.blueprints:
        pytest.skip("the moderation API is not part of the service yet")
    from moderation_helpers import add_moderator, make_token

    add_moderator(app)
    _id, token = make_token(app)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    queue = client.get("/api/moderation/comments?status=pending", headers=auth).get_json()
    assert queue["total"] == 2
    assert {x["author"] for x in queue["comments"]} == {"Quiet Visitor", "Held Back"}
    assert all(x["akismet"] == "unchecked" for x in queue["comments"])
    spam = client.get("/api/moderation/comments?status=spam", headers=auth).get_json()
    assert [x["author"] for x in spam["comments"]] == ["Cheap Watches"]
    rejected = client.get("/api/moderation/comments?status=rejected", headers=auth).get_json()
    assert [x["author"] for x in rejected["comments"]] == ["Grumpy Gus"]


def test_running_twice_duplicates_nothing_and_keeps_moderators_decisions(site, service_env, database_url):
    assert hubbub(service_env, "import", "wordpress", WXR).exit_code == 0
    post = site / "content" / "posts" / "lessons-from-a-router-closet.md"
    stamp = post.stat().st_mtime_ns
    first = db_comments(database_url)
    # A moderator approves a held comment meanwhile; a second import must not undo it.
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE comments SET status = 'published' WHERE import_key = :k"), {"k": f"{SITE}:104"})
    engine.dispose()

    again = hubbub(service_env, "import", "wordpress", WXR)
    assert again.exit_code == 0, again.output
    assert "0 new, 9 already imported" in again.output
    assert "posts:     3 (0 written, 3 unchanged" in again.output
    assert "0 profile stubs written, 3 existing profiles kept" in again.output
    assert post.stat().st_mtime_ns == stamp  # not rewritten
    second = db_comments(database_url)
    assert [c.id for c in second] == [c.id for c in first]
    assert by_key(second)[f"{SITE}:104"].status == "published"


def test_an_edited_post_is_kept_unless_overwrite(site, sqlite_env):
    service_env = sqlite_env
    assert hubbub(service_env, "import", "wordpress", WXR).exit_code == 0
    post = site / "content" / "posts" / "cafe-meetings-cold-calls.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nAn update written after the move.\n", encoding="utf-8")
    kept = hubbub(service_env, "import", "wordpress", WXR)
    assert "content/posts/cafe-meetings-cold-calls.md exists with other content and was kept" in kept.output
    assert "An update written after the move." in read(post)
    replaced = hubbub(service_env, "import", "wordpress", WXR, "--overwrite")
    assert replaced.exit_code == 0
    assert "An update written after the move." not in read(post)
    assert "The old about page." in read(site / "content" / "pages" / "about.md")  # --overwrite replaces pages too


def test_dry_run_writes_nothing(site, sqlite_env):
    env = sqlite_env
    result = hubbub(env, "import", "wordpress", WXR, "--dry-run")
    assert result.exit_code == 0
    assert "3 posts, 2 pages, 3 authors" in result.output and "Nothing was written" in result.output
    assert not (site / "content" / "posts" / "lessons-from-a-router-closet.md").exists()
    assert not (site / "content" / "authors" / "marta-lindqvist.md").exists()


# Bad input: a clear error naming the item, exit code 1, and nothing half-imported ----------------

def _broken(tmp_path, text: str):
    path = tmp_path / "broken.xml"
    path.write_text(text, encoding="utf-8")
    return path


def _nothing_imported(site, env) -> None:
    assert not (site / "content" / "posts" / "lessons-from-a-router-closet.md").exists()
    assert not (site / "content" / "authors" / "marta-lindqvist.md").exists()
    db = env["HUBBUB_DATABASE_URL"].split("///", 1)[1]
    if __import__("os").path.exists(db):
        assert db_comments(env["HUBBUB_DATABASE_URL"]) == []


@pytest.mark.parametrize("make, message", [
    (lambda: "this is not xml at all", "is not valid XML"),
    (lambda: WXR.read_text(encoding="utf-8")[:15000], "is not valid XML"),  # cut off half-way
    (lambda: "<html><body>Hello</body></html>", "root element is <html>, not <rss>"),
    (lambda: '<rss version="2.0"><channel><title>A feed</title><item><title>x</title></item></channel></rss>',
     "not a WordPress export (WXR)"),
    (lambda: '<rss version="2.0"><channel><title>Empty</title></channel></rss>', "no <wp:wxr_version>"),
])
def test_bad_files_fail_clearly_and_import_nothing(site, sqlite_env, tmp_path, make, message):
    env = sqlite_env
    result = hubbub(env, "import", "wordpress", _broken(tmp_path, make()))
    assert result.exit_code == 1
    assert message in result.output and "nothing was imported" in result.output
    assert "Traceback" not in result.output
    _nothing_imported(site, env)


def test_a_post_without_a_date_is_named_and_nothing_is_imported(site, sqlite_env, tmp_path):
    """The bad post comes after good ones: those must not be imported either."""
    env = sqlite_env
    text = WXR.read_text(encoding="utf-8")
    start = text.index("<wp:post_id>21</wp:post_id>")
    item_start, item_end = text.rindex("<item>", 0, start), text.index("</item>", start)
    item = text[item_start:item_end]
    item = re.sub(r"<wp:post_date>.*?</wp:post_date>", "<wp:post_date><![CDATA[]]></wp:post_date>", item)
    item = re.sub(r"<wp:post_date_gmt>.*?</wp:post_date_gmt>", "<wp:post_date_gmt><![CDATA[0000-00-00 00:00:00]]>"
                  "</wp:post_date_gmt>", item)
    item = re.sub(r"<pubDate>.*?</pubDate>", "<pubDate></pubDate>", item)
    result = hubbub(env, "import", "wordpress", _broken(tmp_path, text[:item_start] + item + text[item_end:]))
    assert result.exit_code == 1
    assert "post 21 ('Café Meetings & Cold Calls') has no date" in result.output
    _nothing_imported(site, env)


def test_a_missing_file_is_a_clear_error(site, sqlite_env, tmp_path):
    result = hubbub(sqlite_env, "import", "wordpress", tmp_path / "nope.xml")
    assert result.exit_code == 1 and "cannot read" in result.output and "nope.xml" in result.output


def test_many_comments_in_one_transaction(site, sqlite_env, sqlite_url, tmp_path):
    """More comments than one database query chunk: all stored, parents linked, counted once."""
    env = sqlite_env
    comments = "".join(
        f"""<wp:comment><wp:comment_id>{n}</wp:comment_id><wp:comment_author>Reader {n}</wp:comment_author>
        <wp:comment_author_email>r{n}@example.org</wp:comment_author_email>
        <wp:comment_date_gmt>2012-01-01 10:{n % 60:02d}:00</wp:comment_date_gmt>
        <wp:comment_content>Comment {n}</wp:comment_content><wp:comment_approved>{n % 2}</wp:comment_approved>
        <wp:comment_parent>{n - 1 if n % 10 else 0}</wp:comment_parent></wp:comment>"""
        for n in range(1, 601))
    wxr = f"""<rss xmlns:wp="http://wordpress.org/export/1.1/" xmlns:dc="http://purl.org/dc/elements/1.1/"
      xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><wp:wxr_version>1.1</wp:wxr_version>
      <wp:base_blog_url>http://big.example</wp:base_blog_url>
      <item><title>Busy Post</title><dc:creator>admin</dc:creator><content:encoded>Hello</content:encoded>
      <wp:post_id>1</wp:post_id><wp:post_date>2012-01-01 09:00:00</wp:post_date><wp:post_name>busy-post</wp:post_name>
      <wp:status>publish</wp:status><wp:post_type>post</wp:post_type>{comments}</item></channel></rss>"""
    path = _broken(tmp_path, wxr)
    assert hubbub(env, "import", "wordpress", path).exit_code == 0
    rows = db_comments(sqlite_url)
    assert len(rows) == 600
    keyed = by_key(rows)
    assert keyed["wordpress:big.example:15"].parent_id == keyed["wordpress:big.example:14"].id
    assert keyed["wordpress:big.example:20"].parent_id is None
    assert "0 new, 600 already imported" in hubbub(env, "import", "wordpress", path).output
    assert (site / "content" / "authors" / "admin.md").exists()


# The HTML conversion on its own ----------------------------------------------------------------

def test_autop_makes_paragraphs_but_leaves_blocks_alone():
    html = autop("One\ntwo\n\nThree\n<ul>\n<li>a\ncontinued</li>\n</ul>\nFour")
    assert html.startswith("<p>One<br />\ntwo</p>\n<p>Three</p>\n<ul>")
    assert "<li>a\ncontinued</li>" in html and html.endswith("<p>Four</p>")


def test_shortcodes():
    notes: list[str] = []
    out = shortcodes('[caption id="x" caption="Old style"]<img src="http://a/b.png" alt="b" />[/caption]'
                     '[youtube https://youtu.be/xyz][audio src="http://a/s.mp3"][/audio][contact-form-7 id="1"]'
                     '[unknown_thing]kept text[/unknown_thing]', notes)
    assert '<img src="http://a/b.png" alt="b" />' in out and "<em>Old style</em>" in out
    assert 'href="https://youtu.be/xyz"' in out and 'href="http://a/s.mp3"' in out
    assert "kept text" in out and "[" not in out
    assert "[contact-form-7] left out: add it back by hand" in notes
    assert "[unknown_thing] shortcode removed, its text kept" in notes


def test_entities_and_tag_like_text_survive_markdown():
    md = to_markdown("Fish &amp; chips &lt;b&gt;not bold&lt;/b&gt; &amp;amp; 2 * 3 = 6 snake_case").markdown
    assert md.strip() == r"Fish & chips &lt;b>not bold&lt;/b> &amp;amp; 2 \* 3 = 6 snake\_case"
    import markdown

    assert markdown.markdown(md) == "<p>Fish &amp; chips &lt;b&gt;not bold&lt;/b&gt; &amp;amp; 2 * 3 = 6 snake_case</p>"


def test_progress_bar_when_asked(capsys):
    from comments_service.importers.wordpress import read_wordpress

    plan = read_wordpress(WXR, lambda name: name.lower().replace(" ", "-"), progress=True)
    assert len(plan.comments) == 9
    assert "Reading wordpress-export.xml" in capsys.readouterr().err


def test_an_unreachable_database_is_a_clear_error_and_writes_no_files(site, sqlite_env):
    env = {**sqlite_env, "HUBBUB_DATABASE_URL": "postgresql+psycopg://hubbub:pw@127.0.0.1:9/none"}
    result = hubbub(env, "import", "wordpress", WXR)
    assert result.exit_code == 1 and "cannot open the comment database" in result.output
    assert ":pw@" not in result.output
    _nothing_imported(site, sqlite_env)
