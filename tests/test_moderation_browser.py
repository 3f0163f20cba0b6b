"""The moderation UI in a real browser (Playwright driving Debian's chromium): log in, keyboard
shortcuts, mark spam (Akismet hears it), search, bulk-approve until the queue is clear, and the
same without JavaScript. Screenshots go to test-artifacts/moderation/."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from conftest import CHROMIUM
from moderation_helpers import PASSWORD, add_moderator, fast_password_hashing, insert_comments
from service_helpers import akismet_env, comment, comments

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed at /usr/bin/chromium "
                                                                  "(apt-get install chromium)")]

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "moderation"
OTHER_SLUG = "email-lists-are-built-on-permission"
HOUR = dt.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _fast_password_hashing(monkeypatch):
    fast_password_hashing(monkeypatch)

@pytest.fixture
def server(make_app, site_dir, sqlite_url, tmp_path, akismet):
    """The real app (background jobs on) behind werkzeug's server on a free port."""
    from werkzeug.serving import make_server

    env = {"HUBBUB_SITE_DIR": str(site_dir), "HUBBUB_DATABASE_URL": sqlite_url,
           "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "browser-test",
           "HUBBUB_DEVELOPMENT": "1"}
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


def new_page(browser, **options):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, **options)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: page.problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("dialog", lambda d: d.accept())
    return page


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def log_in(page, base: str) -> None:
    page.goto(base + "/moderate/")
    page.fill("input[name=email]", "mod@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:text('Log in')")
    page.wait_for_url(base + "/moderate/")


def seed(app, slug):
    from comments_service.models import utcnow

    [needle] = insert_comments(app, 1, slug, author="Grace", email="grace@example.org", start=utcnow() - HOUR,
                               body="A needle in the haystack", html="<p>A needle in the haystack</p>")
    insert_comments(app, 6, slug, body="An ordinary comment", html="<p>An ordinary comment</p>")
    insert_comments(app, 1, OTHER_SLUG, author="Link Lover", email="links@spam.example",
                    body="Cheap [pills](https://pills.example) here", html='<p>Cheap <a href="https://pills.example" '
                    'rel="nofollow ugc noopener">pills</a> here</p>', guard_reasons=["links: 4 links (more than 3)"],
                    remote_addr="203.0.113.9", start=utcnow() - 2 * HOUR)
    return needle


def count(page, status: str) -> int:
    return int(page.locator(f'.tab [data-count="{status}"]').inner_text())


def test_clear_a_queue_in_the_browser(server, browser, akismet, slug):
    app, base = server
    needle = seed(app, slug)
    page = new_page(browser)
    page.goto(base + "/moderate/login")
    shot(page, "01-login")
    log_in(page, base)
    page.evaluate("window.__noReload = true")
    assert page.locator(".comment").count() == 8 and count(page, "pending") == 8
    shot(page, "02-queue")

    # Keyboard: j focuses the first (newest) comment, a approves it, without a reload.
    first_id = page.locator(".comment").first.get_attribute("data-id")
    page.keyboard.press("j")
    assert "current" in page.locator(".comment").first.get_attribute("class")
    page.keyboard.press("a")
    page.wait_for_selector(f"#c-{first_id}", state="detached")
    assert count(page, "pending") == 7 and count(page, "published") == 1
    assert page.evaluate("window.__noReload") is True
    assert comment(app, int(first_id)).status == "published"
    assert "approved" in page.locator("#flashes").inner_text()

    # Mark spam with the button: Akismet hears it with the original submission.
    spam_card = page.locator(".comment", has_text="Link Lover")
    spam_id = int(spam_card.get_attribute("data-id"))
    spam_card.locator("button.act-spam").click()
    page.wait_for_selector(f"#c-{spam_id}", state="detached")
    assert count(page, "spam") == 1
    [sent] = akismet.wait_for_requests("submit-spam", 1, timeout=15)
    assert sent.form["comment_author"] == "Link Lover" and sent.form["user_ip"] == "203.0.113.9"

    # Search, with the / shortcut.
    page.keyboard.press("/")
    page.keyboard.type("needle")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=needle**")
    assert [int(i) for i in page.locator(".comment").evaluate_all("els => els.map(e => e.dataset.id)")] == [needle]
    shot(page, "03-search")
    page.goto(base + "/moderate/")

    # Bulk: select everything on the page and approve it.
    page.check("#select-all")
    shot(page, "04-selected")
    page.click("#bulk button[value=approve]")
    page.wait_for_selector("#cleared", state="visible")
    assert page.locator(".comment").count() == 0 and count(page, "pending") == 0
    assert page.locator("#cleared").inner_text().strip() == "The queue is clear. Nothing waits for you."
    assert {c.status for c in comments(app)} == {"published", "spam"}
    shot(page, "05-cleared")

    # The published tab, then one comment's page with its audit log.
    page.goto(base + "/moderate/?status=published")
    assert page.locator(".comment").count() == 7
    page.goto(base + f"/moderate/comments/{first_id}")
    page.click("details.audit summary")
    assert "approve" in page.locator("details.audit").inner_text()
    shot(page, "06-comment")
    page.goto(base + "/moderate/?status=spam")
    shot(page, "07-spam-tab")
    assert page.problems == []  # no script errors, no CSP violations


def test_delete_asks_first_and_edit_works(server, browser, slug):
    app, base = server
    ids = insert_comments(app, 3, slug)
    page = new_page(browser)
    log_in(page, base)
    # Select by clicking its text (its middle may be one of its links, which a click would follow).
    page.locator(f"#c-{ids[-1]} .comment-body").click()
    page.keyboard.press("d")  # the confirm dialog is accepted by the test
    page.wait_for_selector(f"#c-{ids[-1]}", state="detached")
    assert comment(app, ids[-1]) is None
    page.locator(f"#c-{ids[0]} .comment-body").click()
    page.keyboard.press("e")
    page.wait_for_url("**/edit**")
    page.fill("textarea[name=body]", "Edited in the *browser*")
    shot(page, "08-edit")
    page.click("button:text('Save')")
    page.wait_for_url(base + "/moderate/")
    assert comment(app, ids[0]).html == "<p>Edited in the <em>browser</em></p>"
    assert page.problems == []


def test_works_without_javascript(server, browser, slug):
    app, base = server
    ids = insert_comments(app, 3, slug)
    page = new_page(browser, java_script_enabled=False)
    log_in(page, base)
    page.locator(f"#c-{ids[1]} button.act-approve").click()
    page.wait_for_load_state()
    assert f"Comment {ids[1]} approved." in page.locator("#flashes").inner_text()
    assert page.locator(".comment").count() == 2
    page.check(f"#c-{ids[0]} input[name=ids]")
    page.check(f"#c-{ids[2]} input[name=ids]")
    page.click("#bulk button[value=reject]")
    page.wait_for_load_state()
    assert "2 comments rejected." in page.locator("#flashes").inner_text()
    assert "The queue is clear" in page.content()
    shot(page, "09-no-js-cleared")
    assert [comment(app, i).status for i in ids] == ["rejected", "published", "rejected"]
