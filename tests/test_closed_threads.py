"""Closed threads: `Comments: closed` in a post, and COMMENTS_CLOSE_AFTER_DAYS by the build's date
(SOURCE_DATE_EPOCH) and, in the service, by today's. Real Pelican builds of a copy of the site,
the fast publisher against a full build, and the real service answering 403."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from publish_helpers import build, comment, make_site, manifest, save_thread, section
from service_helpers import GOOD
from site_helpers import parse_html, text_of

from hubbub.build import BuildError, run_build
from hubbub.core.publisher import publish_thread

OPEN = "social-media-and-network-marketing"  # 2009-06-15, `Comments: open` below
CLOSED = "email-lists-are-built-on-permission"  # `Comments: closed` below
YOUNG = "measuring-social-media-without-vanity-metrics"  # 2011-03-27, the newest post
OLD = "local-seo-for-small-businesses-start-with-the-map"  # 2010-11-14
BUILT_ON = dt.datetime(2011, 4, 1, tzinfo=dt.UTC)  # 5 days after YOUNG, long after the rest
DAYS = 30


def source(site: Path, slug: str) -> Path:
    """The post's file (named as its slug, but for the one whose title gives a longer slug)."""
    name = "local-seo-for-small-businesses" if slug == OLD else slug
    return site / "content" / "posts" / f"{name}.md"


def set_meta(site: Path, slug: str, line: str) -> None:
    path = source(site, slug)
    head, _, rest = path.read_text(encoding="utf-8").partition("\n")
    path.write_text(f"{head}\n{line}\n{rest}", encoding="utf-8")


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(BUILT_ON.timestamp())))
    site = make_site(tmp_path)
    set_meta(site, OPEN, "Comments: open")
    set_meta(site, CLOSED, "Comments: closed")
    save_thread(site, CLOSED, [comment(site, 1, author="Early Bird"), comment(site, 2, 1, author="Second")])
    return site


def page(out: Path, slug: str) -> str:
    return (out / f"posts/{slug}/index.html").read_text(encoding="utf-8")


def form_of(html: str):
    tree = parse_html(html.encode())
    return tree.find(".//form[@class='comment-form']"), tree.find(".//section[@id='respond']")


def test_metadata_closes_a_thread_and_keeps_its_comments(site, tmp_path):
    out = tmp_path / "out"
    build(site, out)
    closed = page(out, CLOSED)
    form, respond = form_of(closed)
    assert form is None and text_of(respond) == "Comments are closed."
    block = section(closed, CLOSED)
    assert "Early Bird" in block and "Second" in block and "2 comments" in block
    assert "comment-reply" not in block  # no Reply links on a closed thread
    # Without the age setting, every other thread is open and has no closing time.
    form, respond = form_of(page(out, OLD))
    assert form is not None and "data-closes-at" not in form.attrib
    threads = manifest(out)["threads"]
    assert threads[CLOSED]["comments_closed"] is True and threads[CLOSED]["closes_at"] is None
    assert threads[OLD]["comments_closed"] is False and threads[OLD]["closes_at"] is None


def test_age_closes_threads_by_the_build_date(site, tmp_path):
    out = tmp_path / "out"
    build(site, out, COMMENTS_CLOSE_AFTER_DAYS=DAYS)
    data = manifest(out)
    assert data["site"]["comments"]["close_after_days"] == DAYS
    assert data["build_date"] == BUILT_ON.isoformat()
    threads = data["threads"]
    # The newest post is 5 days old at the build date: open, with the time it closes.
    young = threads[YOUNG]
    assert young["comments_closed"] is False
    assert dt.datetime.fromisoformat(young["closes_at"]) == \
        dt.datetime.fromisoformat(young["date"]) + dt.timedelta(days=DAYS)
    form, _ = form_of(page(out, YOUNG))
    assert form is not None and form.attrib["data-closes-at"] == young["closes_at"]
    # Older posts are closed by age; `Comments: open` keeps one open whatever its age.
    assert threads[OLD]["comments_closed"] is True
    form, respond = form_of(page(out, OLD))
    assert form is None and text_of(respond) == "Comments are closed."
    assert threads[OPEN]["comments_closed"] is False and threads[OPEN]["closes_at"] is None
    assert form_of(page(out, OPEN))[0] is not None
    # The same inputs give the same pages: the closed state is a function of them alone.
    again = tmp_path / "again"
    build(site, again, COMMENTS_CLOSE_AFTER_DAYS=DAYS)
    for slug in (YOUNG, OLD, OPEN, CLOSED):
        assert page(out, slug) == page(again, slug)


def test_a_later_build_date_closes_what_an_earlier_one_left_open(site, tmp_path, monkeypatch):
    out = tmp_path / "out"
    later = BUILT_ON + dt.timedelta(days=DAYS)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(later.timestamp())))
    build(site, out, COMMENTS_CLOSE_AFTER_DAYS=DAYS)
    assert manifest(out)["threads"][YOUNG]["comments_closed"] is True
    assert form_of(page(out, YOUNG))[0] is None


def test_an_incremental_build_after_the_closing_date_closes_the_thread(site, tmp_path, monkeypatch):
    """No source changed, but the date did: not "nothing changed" once a thread's time is up."""
    out = tmp_path / "out"
    build(site, out, COMMENTS_CLOSE_AFTER_DAYS=DAYS)
    assert manifest(out)["threads"][YOUNG]["comments_closed"] is False
    assert run_build(site, OUTPUT_PATH=str(out), COMMENTS_CLOSE_AFTER_DAYS=DAYS).nothing_changed
    later = BUILT_ON + dt.timedelta(days=DAYS)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(later.timestamp())))
    assert not run_build(site, OUTPUT_PATH=str(out), COMMENTS_CLOSE_AFTER_DAYS=DAYS).nothing_changed
    assert manifest(out)["threads"][YOUNG]["comments_closed"] is True
    assert form_of(page(out, YOUNG))[0] is None
    full = tmp_path / "full"
    build(site, full, COMMENTS_CLOSE_AFTER_DAYS=DAYS)
    assert page(out, YOUNG) == page(full, YOUNG)


def test_fast_publish_of_a_closed_thread_equals_a_full_build(site, tmp_path):
    fast = tmp_path / "fast"
    build(site, fast, COMMENTS_CLOSE_AFTER_DAYS=DAYS)
    comments = [comment(site, 1, author="Early Bird"), comment(site, 2, 1, author="Second"),
                comment(site, 3, author="Approved Late")]
    for slug, thread in ((CLOSED, comments), (OLD, comments[:1]), (YOUNG, comments[:2])):
        result = publish_thread(site, fast, slug, thread)
        assert not result.needs_full_build, result.problems
    full = tmp_path / "full"
    build(site, full, COMMENTS_CLOSE_AFTER_DAYS=DAYS)
    for slug in (CLOSED, OLD, YOUNG):
        assert page(fast, slug) == page(full, slug), slug
    assert "Approved Late" in section(page(fast, CLOSED), CLOSED)
    assert "comment-reply" not in section(page(fast, OLD), OLD)
    assert "comment-reply" in section(page(fast, YOUNG), YOUNG)


def test_a_publish_after_the_closing_date_renders_the_thread_closed(site, tmp_path, monkeypatch):
    """The page was built while the thread was open; a comment approved after it closed by age is
    published as a build on that day writes the thread: closed, without the reply links. The reply
    form is outside what the publisher replaces: it asks for the build that closes it."""
    fast = tmp_path / "fast"
    build(site, fast, COMMENTS_CLOSE_AFTER_DAYS=DAYS)
    later = BUILT_ON + dt.timedelta(days=DAYS)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(later.timestamp())))
    thread = [comment(site, 1, author="Early Bird"), comment(site, 2, 1, author="Approved Late")]
    result = publish_thread(site, fast, YOUNG, thread)
    assert result.needs_full_build and "closed since the last build" in result.problems[0]
    full = tmp_path / "full"
    build(site, full, COMMENTS_CLOSE_AFTER_DAYS=DAYS)
    assert section(page(fast, YOUNG), YOUNG) == section(page(full, YOUNG), YOUNG)
    assert "comment-reply" not in section(page(fast, YOUNG), YOUNG)
    build(site, fast, COMMENTS_CLOSE_AFTER_DAYS=DAYS)  # the build the service books
    assert page(fast, YOUNG) == page(full, YOUNG)
    assert form_of(page(fast, YOUNG))[0] is None


def test_bad_settings_stop_the_build_and_say_what_to_write(site, tmp_path, monkeypatch):
    path = source(site, OLD)
    original = path.read_text(encoding="utf-8")
    set_meta(site, OLD, "Comments: maybe")
    with pytest.raises(BuildError, match=r"local-seo-for-small-businesses\.md.*'Comments: maybe'.*Comments: closed"):
        build(site, tmp_path / "a")
    path.write_text(original, encoding="utf-8")
    with pytest.raises(BuildError, match="COMMENTS_CLOSE_AFTER_DAYS = 'thirty'.*e.g. 30"):
        build(site, tmp_path / "b", COMMENTS_CLOSE_AFTER_DAYS="thirty")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(BuildError, match="SOURCE_DATE_EPOCH='yesterday'"):
        build(site, tmp_path / "c")


# The service ---------------------------------------------------------------------------------------
@pytest.fixture
def app(site, make_app, sqlite_url, tmp_path):
    build(site, site / "output", COMMENTS_CLOSE_AFTER_DAYS=DAYS)
    return make_app({"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": sqlite_url,
                     "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "closed",
                     "HUBBUB_RATE_LIMIT": "1000/minute"})


def test_the_service_refuses_new_comments_on_closed_threads(app):
    client = app.test_client()
    for slug in (CLOSED, OLD):
        r = client.post(f"/api/threads/{slug}/comments", json=GOOD)
        assert r.status_code == 403 and r.json["error"].startswith("Comments are closed")
    # A reader without JavaScript gets a page, not JSON, and what they typed is not stored but
    # given back to keep (escaped: it is text).
    r = client.post(f"/api/threads/{CLOSED}/comments", data={**GOOD, "body": "Long thoughts <b>kept</b> & all"})
    assert r.status_code == 403 and r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "Comments are closed" in page
    assert '<textarea id="comment-body" rows="8" readonly>Long thoughts &lt;b&gt;kept&lt;/b&gt; &amp; all</textarea>' in page
    # Closed comes first: no point asking the reader to fix fields of a comment that cannot go.
    assert client.post(f"/api/threads/{CLOSED}/comments", data={"body": ""}).status_code == 403
    replying = client.get(f"/api/threads/{CLOSED}/comments/1/reply")  # a Reply link of an older page
    assert replying.status_code == 403 and "Comments are closed" in replying.get_data(as_text=True)
    from service_helpers import comments

    assert comments(app) == []
    assert client.post(f"/api/threads/{OPEN}/comments", json=GOOD).status_code == 202


def test_the_service_closes_by_todays_date_what_the_page_still_offers(app, site):
    # Built on 2011-04-01, YOUNG was open then (its page has the form), but it closed 30 days later.
    assert form_of(page(site / "output", YOUNG))[0] is not None
    r = app.test_client().post(f"/api/threads/{YOUNG}/comments", json=GOOD)
    assert r.status_code == 403 and "closed" in r.json["error"]


def test_edits_on_a_thread_that_closed_meanwhile_are_refused(app, site):
    client = app.test_client()
    answer = client.post(f"/api/threads/{OPEN}/comments", json=GOOD).json
    set_meta(site, OPEN, "Comments: closed")
    path = source(site, OPEN)
    path.write_text(path.read_text().replace("Comments: open\n", ""), encoding="utf-8")
    build(site, site / "output", COMMENTS_CLOSE_AFTER_DAYS=DAYS)
    r = client.patch(f"/api/threads/{OPEN}/comments/{answer['id']}",
                     json={"body": "Second thoughts", "edit_token": answer["edit_token"]})
    assert r.status_code == 403 and "closed" in r.json["error"]
    # Deleting one's own words stays possible within the window.
    r = client.delete(f"/api/threads/{OPEN}/comments/{answer['id']}", json={"edit_token": answer["edit_token"]})
    assert r.status_code == 200 and r.json["status"] == "deleted"
