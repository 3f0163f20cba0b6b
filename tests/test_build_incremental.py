"""Incremental builds (`hubbub build`) write exactly what `hubbub build --full` writes.

Each test makes a generated site (tests/build_helpers.py), builds it, changes one kind of thing,
and compares the incremental output with a build from scratch, byte for byte. The report of the
incremental build also shows it did only part of the work.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from build_helpers import (
    CATEGORIES,
    WRITERS,
    assert_same_as_full,
    build,
    make_site,
    private_copy,
    slugify,
    tree_differences,
    write_post,
    write_thread,
)

from hubbub.build.fingerprint import Fingerprinter


@pytest.fixture(scope="module")
def built_template(tmp_path_factory) -> Path:
    site = make_site(tmp_path_factory.mktemp("incremental") / "site")
    build(site)
    return site


@pytest.fixture
def site(built_template, tmp_path) -> Path:
    return private_copy(built_template, tmp_path)


def pages(report) -> set[str]:
    return set(report.rendered)


def test_nothing_changed_does_no_work(site, tmp_path):
    report = build(site)
    assert report.nothing_changed
    assert report.rendered == [] and report.written == []


def test_a_touched_but_unchanged_file_reads_again_and_writes_nothing(site, tmp_path):
    post = site / "content" / "posts" / "post-3.md"
    os.utime(post, ns=(time.time_ns(), time.time_ns()))
    report = assert_same_as_full(site, tmp_path)
    assert report.read == 1 and report.written == []
    assert report.rendered == []  # the same inputs give the same fingerprints, process after process


def test_edited_post_body(site, tmp_path):
    post = site / "content" / "posts" / "post-4.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nAn added sentence about networking.\n", encoding="utf-8")
    report = assert_same_as_full(site, tmp_path)
    assert report.read == 1 and report.reused > 20
    assert "posts/post-4/index.html" in report.written
    # Its page, and the pages and feeds that show its text or summary; most pages stay as they are.
    assert report.kept > 2 * len(report.rendered)
    assert "about/index.html" not in report.rendered


@pytest.mark.parametrize("change", [
    {"title": "A completely new title"},
    {"date": "2019-06-30 12:00"},
    {"extra": "Slug: a-new-slug\n"},
    {"tags": ["brand new tag", "seo"]},
    {"category": "Freelancing"},
    {"author": WRITERS[1]},
    {"extra": "Slug: post-5\nStatus: draft\n"},
    {"extra": "Slug: post-5\nSummary: A summary written by hand.\n"},
], ids=["title", "date", "slug", "tags", "category", "author", "draft", "summary"])
def test_changed_metadata(site, tmp_path, change):
    write_post(site, 5, **change)
    report = assert_same_as_full(site, tmp_path)
    assert report.read == 1


def test_draft_published_again(site, tmp_path):
    write_post(site, 6, extra="Slug: post-6\nStatus: draft\n")
    assert_same_as_full(site, tmp_path)
    write_post(site, 6)
    assert_same_as_full(site, tmp_path)


def test_new_post(site, tmp_path):
    write_post(site, 99, title="Brand new post", date="2030-01-01 09:00", category=CATEGORIES[0])
    report = assert_same_as_full(site, tmp_path)
    assert "posts/post-99/index.html" in report.written
    assert "index.html" in report.written  # the newest post heads the home page


def test_deleted_and_renamed_posts(site, tmp_path):
    (site / "content" / "posts" / "post-7.md").unlink()
    report = assert_same_as_full(site, tmp_path)
    assert "posts/post-7/index.html" in report.removed
    assert not (site / "output" / "posts" / "post-7").exists()
    posts = site / "content" / "posts"
    (posts / "post-8.md").rename(posts / "renamed-file.md")
    assert_same_as_full(site, tmp_path)


def test_a_full_build_removes_what_earlier_builds_made_and_it_does_not(site, tmp_path):
    """--full starts from scratch, but a deleted post must not stay published because of it."""
    (site / "content" / "posts" / "post-7.md").unlink()
    report = build(site, full=True)
    assert "posts/post-7/index.html" in report.removed
    assert not (site / "output" / "posts" / "post-7").exists()
    fresh = tmp_path / "fresh"
    build(site, full=True, output=fresh)  # into an empty directory
    assert tree_differences(site / "output", fresh) == []


def test_profiles_edited_and_new(site, tmp_path):
    profile = site / "content" / "authors" / f"{slugify(WRITERS[0])}.md"
    profile.write_text(profile.read_text(encoding="utf-8").replace("A short *bio*.", "A longer bio."),
                       encoding="utf-8")
    report = assert_same_as_full(site, tmp_path)
    assert f"authors/{slugify(WRITERS[0])}/index.html" in report.written
    # The bio shows on the profile alone: the writer's posts and the lists of them are not rendered.
    assert [name for name in report.rendered if not name.startswith("authors/")] == []
    fourth = slugify(WRITERS[3])
    (site / "content" / "authors" / f"{fourth}.md").write_text(
        f"Name: {WRITERS[3]}\nTagline: New here\n\nHello.\n", encoding="utf-8")
    assert_same_as_full(site, tmp_path)


def test_page_image_and_static_file(site, tmp_path):
    about = site / "content" / "pages" / "about.md"
    about.write_text("Title: About\n\nWe changed this page.\n", encoding="utf-8")
    (site / "content" / "images" / "logo.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" id="x"/>\n')
    (site / "content" / "images" / "new.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" id="y"/>\n')
    report = assert_same_as_full(site, tmp_path)
    assert {"about/index.html", "images/logo.svg", "images/new.svg"} <= set(report.written)
    (site / "content" / "images" / "new.svg").unlink()
    about.write_text("Title: About us\n\nA new title makes a new page.\n", encoding="utf-8")
    report = assert_same_as_full(site, tmp_path)
    assert "images/new.svg" in report.removed and "about/index.html" in report.removed


def test_published_comment_threads(site, tmp_path):
    write_thread(site, "post-1", [(1, None, "A Reader"), (2, 1, WRITERS[1]), (3, None, "Someone Else")])
    (site / "content" / "comments" / "post-0.json").unlink()
    report = assert_same_as_full(site, tmp_path)
    assert "posts/post-1/index.html" in report.written


def test_template_override_and_settings(site, tmp_path):
    overrides = site / "templates"
    overrides.mkdir()
    (overrides / "partials").mkdir()
    theme = Path(__import__("hubbub").THEME) / "templates"
    shutil.copy2(theme / "partials" / "article_meta.html", overrides / "partials" / "article_meta.html")
    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text() + f"\nTHEME_TEMPLATES_OVERRIDES = [{str(overrides)!r}]\n")
    assert_same_as_full(site, tmp_path)
    meta = overrides / "partials" / "article_meta.html"
    meta.write_text(meta.read_text() + "<!-- override -->\n")
    report = assert_same_as_full(site, tmp_path)
    assert "posts/post-2/index.html" in report.written
    conf.write_text(conf.read_text() + '\nSITENAME = "Another name"\n')
    report = assert_same_as_full(site, tmp_path)
    assert "index.html" in report.written


def test_random_sequence_of_edits(site, tmp_path):
    rng = random.Random(20261130)
    posts = site / "content" / "posts"
    next_new = 100
    for step in range(12):
        existing = sorted(posts.glob("*.md"))
        action = rng.choice(["body", "title", "tags", "new", "delete", "date", "draft", "thread", "author"])
        target = rng.choice(existing)
        number = int(target.stem.split("-")[-1]) if target.stem.startswith("post-") else None
        if action == "new" or number is None:
            write_post(site, next_new, rng)
            next_new += 1
        elif action == "delete" and len(existing) > 5:
            target.unlink()
        elif action == "body":
            target.write_text(target.read_text(encoding="utf-8") + f"\nStep {step}.\n", encoding="utf-8")
        elif action == "thread":
            write_thread(site, f"post-{number}", [(1, None, rng.choice(WRITERS)), (2, None, "A Reader")])
        else:
            change = {"title": {"title": f"Title at step {step}"}, "tags": {"tags": [f"tag{step}", "seo"]},
                      "date": {"date": f"2017-0{1 + step % 9}-1{step % 9} 10:00"},
                      "draft": {"extra": f"Slug: post-{number}\nStatus: draft\n"},
                      "author": {"author": rng.choice(WRITERS)}}.get(action, {})
            write_post(site, number, rng, **change)
        assert_same_as_full(site, tmp_path)


def test_a_build_killed_half_way_is_repaired_by_the_next(tmp_path):
    site = make_site(tmp_path / "site", posts=160)
    build(site)
    for n in range(0, 160, 7):
        write_post(site, n, title=f"Retitled {n}")
    running = site / "output" / ".hubbub" / "build-running"
    proc = subprocess.Popen([sys.executable, "-m", "hubbub", "build"], cwd=site,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not running.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # let it write some pages
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    if proc.returncode == 0:
        pytest.fail("the build finished before it could be stopped: make the site bigger")
    assert running.exists()
    # A write cut between its temporary file and the rename leaves the temporary file behind; the
    # kill above catches one only by chance, so leave one the way it would be left.
    half_written = site / "output" / "feeds" / ".all.atom.xml.0123456789ab.tmp"
    half_written.write_bytes(b"<?xml")
    # Put some of the sources back, so that a page the killed build wrote no longer matches them.
    for n in range(0, 160, 14):
        write_post(site, n)
    assert_same_as_full(site, tmp_path)
    assert not running.exists()
    assert not half_written.exists()


def test_after_a_full_build_an_edit_checks_unchanged_pages_the_quick_way(site, tmp_path, monkeypatch):
    """A full (or cold) build records quick fingerprints too, so the first edit after it does not
    work out the full fingerprint of every page of the site."""
    build(site, full=True)
    checked = []
    full_fingerprint = Fingerprinter.page
    monkeypatch.setattr(Fingerprinter, "page", lambda self, template, output, context: (
        checked.append(output), full_fingerprint(self, template, output, context))[1])
    post = site / "content" / "posts" / "post-4.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    report = build(site)
    assert "posts/post-4/index.html" in report.written
    assert len(checked) < 3 * len(report.rendered) + 5
    assert report.kept > 5 * len(checked)


def test_paginated_lists_an_edit_leaves_alone_are_kept_whole(site, tmp_path, monkeypatch):
    """A new comment changes its post's count on the pages listing it; the pages of a tag the post
    does not carry are kept as a group: not one of them is fingerprinted on its own. A page of such
    a group deleted by hand is written again."""
    edited = site / "content" / "posts" / "post-4.md"
    tags = {line.split(":", 1)[1].strip() for line in edited.read_text(encoding="utf-8").splitlines()
            if line.startswith("Tags:")}
    own_tags = {slugify(t) for tag_line in tags for t in tag_line.split(",")}
    checked = []
    quick_page = Fingerprinter.quick_page
    monkeypatch.setattr(Fingerprinter, "quick_page", lambda self, template, output, context: (
        checked.append(output.split(":", 1)[1]), quick_page(self, template, output, context))[1])
    write_thread(site, "post-4", [(1, None, "A Reader"), (2, None, "Another Reader"), (3, 1, "A Reader")])
    report = build(site)
    monkeypatch.undo()
    assert_same_as_full(site, tmp_path)
    tag_pages = {name for name in report.written if name.startswith("tag/")}
    assert tag_pages and {name.split("/")[1] for name in tag_pages} <= own_tags  # its tags show the new count
    others = [name for name in os.listdir(site / "output" / "tag") if name not in own_tags]
    assert others and not [name for name in checked if name.startswith("tag/") and name.split("/")[1] in others]
    # A kept group's page removed behind the build's back: the group is written again, whole.
    gone = site / "output" / "tag" / others[0] / "index.html"
    gone.unlink()
    report = assert_same_as_full(site, tmp_path)
    assert gone.is_file() and f"tag/{others[0]}/index.html" in report.written


def test_a_writers_profile_read_through_a_posts_metadata_follows_comments(site, tmp_path):
    """The metadata holds the same taxonomy objects as the post's own attributes: a theme that
    reads the writer's profile through it shows new stats after a comment on another post."""
    overrides = site / "templates"
    (overrides / "partials").mkdir(parents=True)
    theme = Path(__import__("hubbub").THEME) / "templates"
    (overrides / "partials" / "article_meta.html").write_text(
        (theme / "partials" / "article_meta.html").read_text(encoding="utf-8")
        + "<span class=received>{{ article.metadata.author.profile.comments_received }}</span>\n", encoding="utf-8")
    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + f"\nTHEME_TEMPLATES_OVERRIDES = [{str(overrides)!r}]\n",
                    encoding="utf-8")
    build(site)
    write_thread(site, "post-5", [(1, None, "A Reader"), (2, None, "Another Reader")])  # post-1 has its writer
    assert_same_as_full(site, tmp_path)


def test_a_page_that_stops_overriding_the_home_page(site, tmp_path):
    """A page saved as index.html overrides the blog's first page (Pelican's override_output);
    saved elsewhere, it gives index.html back to the blog, though the home page's group of pages
    did not change."""
    home = site / "content" / "pages" / "home.md"
    home.write_text("Title: Welcome\nStatus: hidden\nSave_as: index.html\nURL: \n\nA static home page.\n",
                    encoding="utf-8")
    build(site)
    assert "A static home page." in (site / "output" / "index.html").read_text(encoding="utf-8")
    home.write_text(home.read_text(encoding="utf-8").replace("Save_as: index.html", "Save_as: welcome.html"),
                    encoding="utf-8")
    assert_same_as_full(site, tmp_path)
    assert "A static home page." not in (site / "output" / "index.html").read_text(encoding="utf-8")


ZED = "Name: Zed Quill\nEmail: zed-quill@example.org\nTagline: Writes about routers\nJoined: 2012-03-04\n\nA bio.\n"


def test_a_hidden_post_and_its_hidden_translation_follow_their_writers_profile(site, tmp_path):
    """Every Author object carries its profile, a hidden translation's too: the build's
    fingerprints read objects with one name and slug alike."""
    content = site / "content"
    profile = content / "authors" / "zed-quill.md"
    profile.write_text(ZED, encoding="utf-8")
    head = "Date: 2015-05-05 10:00\nAuthor: Zed Quill\nCategory: Networking\nSlug: secret\nStatus: hidden\n"
    (content / "posts" / "secret.md").write_text(f"Title: A secret\n{head}\nHidden words.\n", encoding="utf-8")
    (content / "posts" / "secret-fr.md").write_text(f"Title: Un secret\n{head}Lang: fr\n\nMots.\n", encoding="utf-8")
    build(site)
    profile.write_text(ZED.replace("routers", "quokkas"), encoding="utf-8")
    assert_same_as_full(site, tmp_path)
    assert "quokkas" in (site / "output" / "posts" / "secret" / "index.html").read_text(encoding="utf-8")


def test_a_writer_without_posts_has_empty_feeds_every_build_writes_alike(site, tmp_path):
    """An empty feed has no post to date it by: it is dated 1970-01-01, not at the build's time."""
    (site / "content" / "authors" / "zed-quill.md").write_text(ZED, encoding="utf-8")
    build(site)
    time.sleep(1.1)  # the feed's date would be a second later
    (site / "content" / "pages" / "about.md").write_text("Title: About\n\nAbout us.\n", encoding="utf-8")
    assert_same_as_full(site, tmp_path)
    feed = (site / "output" / "feeds" / "author" / "zed-quill.atom.xml").read_text(encoding="utf-8")
    assert "<updated>1970-01-01T00:00:00+00:00</updated>" in feed


@pytest.mark.parametrize("lines, line, reason", [
    ("Slug: café-ñandú\n", 2, "its slug 'café-ñandú' cannot name a comment thread, which takes ASCII letters, "
                              "digits, '.', '_' and '-': set e.g. `Slug: cafe-nandu`"),
    ("Slug: fine\nDate: 2026-13-45 25:99\n", 3, "'2026-13-45 25:99' is not a valid date"),
])
def test_a_post_that_cannot_be_read_fails_the_build_saying_which_and_why(site, lines, line, reason):
    """Pelican logs "Could not process FILE" without the reason unless DEBUG: the build adds it,
    and the line holding the value the reason quotes."""
    from hubbub.build import BuildError

    (site / "content" / "posts" / "broken.md").write_text(f"Title: Broken\n{lines}\nBody.\n", encoding="utf-8")
    with pytest.raises(BuildError) as failure:
        build(site)
    assert f"Could not process posts/broken.md, line {line}: {reason}" in str(failure.value)


def test_a_post_made_unreadable_keeps_its_pages_until_it_is_fixed(site, tmp_path):
    """Pelican skips a source it cannot read, as if deleted: the build stops before writing, so
    the site (and `serve --reload`, which keeps serving it) keeps the post's pages."""
    from hubbub.build import BuildError

    before = {p: p.read_bytes() for p in (site / "output").rglob("*") if p.is_file()}
    post = site / "content" / "posts" / "post-3.md"
    good = post.read_text(encoding="utf-8")
    post.write_text(good.replace("Date: ", "Date: 2026-02-30 10:00\nOld-Date: ", 1), encoding="utf-8")
    with pytest.raises(BuildError, match="no page was written or removed"):
        build(site)
    assert {p: p.read_bytes() for p in (site / "output").rglob("*") if p.is_file()} == before
    post.write_text(good.replace("\n\n", "\n\nFixed.\n\n", 1), encoding="utf-8")
    report = assert_same_as_full(site, tmp_path)
    assert not report.repaired  # the stopped build left nothing half-done to repair
    assert "posts/post-3/index.html" in report.written


@pytest.mark.parametrize("template, error", [
    ("{% if x %}\n", "Unexpected end of template"),
    ("<p>{{ nothing.attr }}</p>\n", "'nothing' is undefined"),
])
def test_a_template_error_names_the_template_and_its_line(site, template, error):
    from hubbub.build import BuildError

    overrides = site / "templates" / "partials"
    overrides.mkdir(parents=True)
    theme = Path(__import__("hubbub").THEME) / "templates"
    meta = overrides / "article_meta.html"
    lines = (theme / "partials" / "article_meta.html").read_text(encoding="utf-8").count("\n")
    meta.write_text((theme / "partials" / "article_meta.html").read_text(encoding="utf-8") + template, encoding="utf-8")
    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text() + f"\nTHEME_TEMPLATES_OVERRIDES = [{str(site / 'templates')!r}]\n")
    with pytest.raises(BuildError) as failure:
        build(site)
    assert f"{meta} line {lines + 1}: " in str(failure.value) and error in str(failure.value)


def test_drafts_and_hidden_posts_are_built_without_a_comment_form(site):
    """A draft has no thread yet: a form could only fail, so the page says when comments open."""
    (site / "content" / "posts" / "draft.md").write_text(
        "Title: Not yet\nDate: 2020-01-01 10:00\nStatus: draft\nSlug: not-yet\n\nSoon.\n", encoding="utf-8")
    build(site)
    page = (site / "output" / "drafts" / "not-yet.html").read_text(encoding="utf-8")
    assert "This is a draft: comments open once it is published." in page
    assert 'id="respond"' not in page and "/api/threads/" not in page
    published = (site / "output" / "posts" / "post-1" / "index.html").read_text(encoding="utf-8")
    assert 'id="respond"' in published and "This is a draft" not in published
    # A hidden post is reachable by its address but has no thread either.
    (site / "content" / "posts" / "hidden.md").write_text(
        "Title: Unlisted\nDate: 2020-01-01 10:00\nStatus: hidden\nSlug: unlisted\n\nShh.\n", encoding="utf-8")
    build(site)
    hidden = (site / "output" / "posts" / "unlisted" / "index.html").read_text(encoding="utf-8")
    assert "Comments are closed." in hidden and 'id="respond"' not in hidden and "/api/threads/" not in hidden


def test_two_posts_with_one_slug_fail_saying_what_to_change(site):
    (site / "content" / "posts" / "copy.md").write_text(
        "Title: A copy\nDate: 2020-01-01 10:00\nSlug: post-1\n\nCopied.\n", encoding="utf-8")
    from hubbub.build import BuildError

    with pytest.raises(BuildError) as failure:
        build(site)
    assert "posts/post-1/index.html would be written twice" in str(failure.value)
    assert "give one of them another `Slug:`" in str(failure.value) and "override=True" not in str(failure.value)


def test_a_link_to_a_hidden_page_follows_its_new_address(site, tmp_path):
    """Plugins read a post's HTML before Pelican knows the pages: what Pelican memoised then must
    not reach the post's page once the linked page moves."""
    terms = site / "content" / "pages" / "terms.md"
    terms.write_text("Title: Terms\nSlug: terms\nStatus: hidden\n\nThe terms.\n", encoding="utf-8")
    post = site / "content" / "posts" / "post-5.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nRead [the terms]({filename}../pages/terms.md).\n",
                    encoding="utf-8")
    assert_same_as_full(site, tmp_path)
    terms.write_text("Title: Terms\nSlug: terms-of-use\nStatus: hidden\n\nThe terms.\n", encoding="utf-8")
    assert_same_as_full(site, tmp_path)
    assert "terms-of-use/" in (site / "output" / "posts" / "post-5" / "index.html").read_text(encoding="utf-8")


def test_a_link_in_a_summary_follows_the_linked_posts_new_address(site, tmp_path):
    """Pelican resolves the links of a `Summary:` in place before pages are written: the build
    still knows the summary links to another post, and lists and feeds follow that post."""
    write_post(site, 1, extra="Slug: post-1\nSummary: Read [the fourth]({filename}post-4.md) first.\n")
    assert_same_as_full(site, tmp_path)
    write_post(site, 4, extra="Slug: fourth-moved\n")
    assert_same_as_full(site, tmp_path)
    feed = (site / "output" / "feeds" / "all.atom.xml").read_text(encoding="utf-8")
    assert "posts/fourth-moved/" in feed


def test_a_post_held_back_for_its_date_is_published_when_the_date_comes(site, tmp_path):
    """With WITH_FUTURE_DATES = False Pelican keeps a post with a future date as a draft: the
    first build after that date publishes it, with no source changed in between."""
    import datetime as dt

    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + "\nWITH_FUTURE_DATES = False\nTIMEZONE = 'UTC'\n",
                    encoding="utf-8")
    for ahead in (4, 20, 90):  # both builds must finish before the date: further ahead on a busy machine
        soon = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ahead)
        write_post(site, 9, date=soon.strftime("%Y-%m-%d %H:%M:%S"))
        assert_same_as_full(site, tmp_path)
        if dt.datetime.now(dt.UTC) < soon:
            break
    assert not (site / "output" / "posts" / "post-9").exists()
    time.sleep(max(0.0, (soon - dt.datetime.now(dt.UTC)).total_seconds()) + 0.5)
    report = build(site)
    assert not report.nothing_changed and report.read == 1
    assert (site / "output" / "posts" / "post-9" / "index.html").exists()
    assert_same_as_full(site, tmp_path)
