"""The reader's side in a real browser (Playwright driving Debian's chromium) against the real
service (background jobs on, the Akismet stand-in) serving a real build: Edit and Delete on one's
own comments, pending and published, and closed threads, with and without JavaScript."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from pathlib import Path

import pytest
from conftest import CHROMIUM
from moderation_helpers import add_moderator, fast_password_hashing
from publish_helpers import build, make_site
from service_helpers import akismet_env, comment, comments, hub_of

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed at /usr/bin/chromium "
                                                                  "(apt-get install chromium)")]

OPEN = "social-media-and-network-marketing"
CLOSED = "email-lists-are-built-on-permission"
YOUNG = "measuring-social-media-without-vanity-metrics"  # open at the build date, closed since
BUILT_ON = dt.datetime(2011, 4, 1, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    fast_password_hashing(monkeypatch)


def set_meta(site: Path, slug: str, line: str) -> None:
    path = site / "content" / "posts" / f"{slug}.md"
    head, _, rest = path.read_text(encoding="utf-8").partition("\n")
    path.write_text(f"{head}\n{line}\n{rest}", encoding="utf-8")


@pytest.fixture
def rate_limit() -> str:
    return "1000/minute"


@pytest.fixture
def server(make_app, tmp_path, akismet, monkeypatch, rate_limit):
    from werkzeug.serving import make_server

    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(BUILT_ON.timestamp())))
    site = make_site(tmp_path)
    set_meta(site, OPEN, "Comments: open")
    set_meta(site, CLOSED, "Comments: closed")
    build(site, site / "output", COMMENTS_CLOSE_AFTER_DAYS=30)
    env = {"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "browser",
           "HUBBUB_DEVELOPMENT": "1", "HUBBUB_RATE_LIMIT": rate_limit}
    app = make_app(akismet_env(env, akismet), run_jobs=True)
    add_moderator(app)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(5)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield b
        b.close()


def reload(page) -> None:
    """Load the page again, up to its scripts having run (what the tests look at); its images and
    stylesheet are not waited for (on a loaded machine one once took over the 10 s timeout)."""
    page.reload(wait_until="domcontentloaded")


def open_page(browser, url: str, javascript: bool = True):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    # Script errors and CSP violations (the service's CSP forbids inline code and eval).
    page.on("console", lambda m: page.problems.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.goto(url)
    return page


def send_comment(page, body: str, author: str = "Reader", email: str = "reader@example.org") -> int:
    page.fill("#comment-body", body)
    page.fill("#comment-author", author)
    page.fill("#comment-email", email)
    before = page.locator("li.comment.pending").count()
    page.click("form.comment-form button[type=submit]")
    page.locator("li.comment.pending").nth(before).wait_for()
    return int(page.locator("li.comment.pending").last.get_attribute("data-comment"))


def wait_for(predicate, what: str, timeout: float = 15.0):
    """Background jobs run on their own: wait (bounded) for what they bring about."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def approve(app, comment_id: int) -> None:
    from comments_service.models import Comment
    from comments_service.moderation import actions
    from comments_service.moderation.auth import find_moderator

    with hub_of(app).transaction() as s:
        actions.apply(hub_of(app), s, s.get(Comment, comment_id), "approve", find_moderator(s, "mod@example.org"))


def page_file(app, slug: str) -> str:
    return (hub_of(app).config.output_dir / f"posts/{slug}/index.html").read_text(encoding="utf-8")


def test_a_new_tab_shows_the_pending_comment_with_its_edit_and_delete(server, browser):
    """The commenter closes the tab and opens the post again: their comment still waits there,
    and they can still take it back."""
    app, base = server
    page = open_page(browser, f"{base}/posts/{OPEN}/")
    cid = send_comment(page, "Sent from the first tab")
    again = page.context.new_page()
    page.close()
    again.goto(f"{base}/posts/{OPEN}/")
    item = again.locator(f"#pending-{cid}")
    item.wait_for()
    assert "Sent from the first tab" in item.inner_text()
    assert item.locator(".own-actions button").all_inner_texts() == ["Edit", "Delete"]


def test_edit_and_delete_own_comments_pending_then_published(server, browser):
    app, base = server
    page = open_page(browser, f"{base}/posts/{OPEN}/")
    cid = send_comment(page, "Frist post")
    item = page.locator(f"#pending-{cid}")
    assert item.locator(".own-actions button").all_inner_texts() == ["Edit", "Delete"]
    # Edit the pending comment: the text box holds what was written.
    item.locator("button.own-edit").click()
    assert page.input_value(f"#own-edit-{cid}") == "Frist post"
    page.fill(f"#own-edit-{cid}", "First post, with *emphasis*")
    item.locator("button.own-save").click()
    page.wait_for_selector(f"#pending-{cid} .comment-body em")
    assert item.locator(".comment-body").inner_text() == "First post, with emphasis"
    wait_for(lambda: comment(app, cid).body == "First post, with *emphasis*", "the edit to be stored")

    # Published into the static page: after a reload the controls sit on the built comment.
    wait_for(lambda: comment(app, cid).akismet == "ham", "the check")
    approve(app, cid)
    wait_for(lambda: f'id="comment-{cid}"' in page_file(app, OPEN), "the publish")
    reload(page)
    built = page.locator(f"#comment-{cid}")
    assert page.locator(f"#pending-{cid}").count() == 0
    built.locator("button.own-edit").click()
    assert page.input_value(f"#own-edit-{cid}") == "First post, with *emphasis*"
    page.fill(f"#own-edit-{cid}", "First post, now **final**")
    built.locator("button.own-save").click()
    page.wait_for_selector(f"#comment-{cid} .comment-body strong")
    assert "Edited" in built.locator(".pending-label").inner_text()
    # Akismet passes it and the fast publisher puts the new text on the page.
    wait_for(lambda: "First post, now <strong>final</strong>" in page_file(app, OPEN), "the edit on the page")
    reload(page)
    assert page.locator(f"#comment-{cid} .comment-body").inner_text() == "First post, now final"

    # Delete another one, after a second thought.
    other = send_comment(page, "Oops, wrong thread")
    page.locator(f"#pending-{other} button.own-delete").click()
    assert page.locator(f"#pending-{other} .own-confirm").inner_text().startswith("Delete this comment for good?")
    page.locator(f"#pending-{other} button.own-delete-yes").click()
    page.wait_for_selector(f"#pending-{other} .own-deleted")
    assert comment(app, other) is None
    reload(page)
    assert page.locator(f"#pending-{other}").count() == 0
    assert page.problems == []


def test_controls_go_when_the_window_closes_or_the_token_is_refused(server, browser):
    app, base = server
    page = open_page(browser, f"{base}/posts/{OPEN}/")
    cid = send_comment(page, "Keep me")
    key = f"hubbub:edit:{OPEN}"
    # A token the service does not know: the service says so, the controls go.
    page.evaluate(f"""() => {{ const all = JSON.parse(localStorage.getItem("{key}"));
        all["{cid}"].token = "forged"; localStorage.setItem("{key}", JSON.stringify(all)); }}""")
    page.locator(f"#pending-{cid} button.own-edit").click()
    page.fill(f"#own-edit-{cid}", "Changed by someone else")
    page.locator(f"#pending-{cid} button.own-save").click()
    page.wait_for_selector(f"#pending-{cid} .own-status")
    assert "wrong or has expired" in page.locator(f"#pending-{cid} .own-status").inner_text()
    assert page.locator(f"#pending-{cid} .own-actions").count() == 0
    assert comment(app, cid).body == "Keep me"
    # A window that has closed: nothing is offered after a reload.
    second = send_comment(page, "Another")
    assert page.locator(f"#pending-{second} .own-actions").count() == 1
    page.evaluate(f"""() => {{ const all = JSON.parse(localStorage.getItem("{key}"));
        all["{second}"].until = Date.now() - 1000; localStorage.setItem("{key}", JSON.stringify(all)); }}""")
    reload(page)
    page.wait_for_selector(f"#pending-{second}")
    assert page.locator(".own-actions").count() == 0


def test_the_subscribe_box_asks_for_a_subscription(server, browser):
    app, base = server
    page = open_page(browser, f"{base}/posts/{OPEN}/")
    page.check("#comment-subscribe")
    send_comment(page, "Following along", email="follow@example.org")
    from comments_service.moderation.models import Subscription

    with hub_of(app).sessions() as s:
        [sub] = s.query(Subscription).all()
        assert (sub.thread, sub.email, sub.confirmed_at) == (OPEN, "follow@example.org", None)


def test_closed_threads_in_the_browser(server, browser):
    app, base = server
    closed = open_page(browser, f"{base}/posts/{CLOSED}/")
    assert closed.locator("form.comment-form").count() == 0
    assert closed.locator("#respond .comments-closed").inner_text() == "Comments are closed."
    # Open at the build date, closed since: the script closes the form the page still has.
    aged = open_page(browser, f"{base}/posts/{YOUNG}/")
    aged.wait_for_selector("#respond .comments-closed", state="visible")
    assert aged.locator("form.comment-form").is_hidden() and aged.locator("#reply-title").is_hidden()
    # Without JavaScript the form is there, and the service answers with a page that says why.
    plain = open_page(browser, f"{base}/posts/{YOUNG}/", javascript=False)
    assert plain.locator("form.comment-form").is_visible()
    assert plain.locator("#respond .comments-closed").is_hidden()
    plain.fill("#comment-body", "Too late")
    plain.fill("#comment-author", "Latecomer")
    plain.fill("#comment-email", "late@example.org")
    plain.click("form.comment-form button[type=submit]")
    plain.wait_for_selector("h1.page-title")
    assert plain.locator("h1.page-title").inner_text() == "Comments are closed"
    assert comments(app) == []
    assert closed.problems == [] and aged.problems == []


@pytest.mark.parametrize("rate_limit", ["1/minute"])
def test_a_reader_who_posts_too_fast_is_told_when_to_send_again(server, browser):
    _app, base = server
    page = open_page(browser, f"{base}/posts/{OPEN}/")
    send_comment(page, "A first comment.")
    page.fill("#comment-body", "A second one, too soon.")
    page.click("form.comment-form button[type=submit]")
    status = page.locator("form.comment-form .form-status")
    status.filter(has_text="faster than we allow").wait_for()
    # The 429's Retry-After as the clock time from which sending works, and the text is kept.
    assert re.search(r"Please send again from \d{1,2}:\d{2}", status.inner_text()), status.inner_text()
    assert page.input_value("#comment-body") == "A second one, too soon."
    assert not page.problems
