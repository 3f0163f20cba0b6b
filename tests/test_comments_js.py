"""The reply form in a real browser (Playwright driving Debian's chromium), with and without JS.

The built site (a real Pelican build of a copy of the project, with a published thread) is served
by a tiny local HTTP server that also answers POST /api/threads/<slug>/comments as the contract
says. It is a stand-in for the comment service on purpose: this file tests the page and its
script; the service's own end-to-end test drives the real thing.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from publish_helpers import HOSTILE_NAME, build, comment, make_site, manifest, save_thread

CHROMIUM = "/usr/bin/chromium"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)"),
]

REJECTED_DOMAIN = "@invalid.example"
HOSTILE_BODY = "I *really* mean it <img src=x onerror=alert(1)>"
OUTAGE_AUTHOR = "Unlucky Reader"


class StubService:
    """Remembers what was posted and answers like the comment service would."""

    def __init__(self, threads):
        self.threads = set(threads)
        self.posts: list[dict] = []
        self.next_id = 1000
        self.lock = threading.Lock()

    def answer(self, slug: str, content_type: str, raw: bytes):
        if slug not in self.threads:
            return 404, {"Content-Type": "application/json"}, b'{"error": "no such thread"}'
        form = content_type.startswith("application/x-www-form-urlencoded")
        if form:
            data = {k: v[0] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        else:
            try:
                data = json.loads(raw)
            except ValueError:
                return 400, {"Content-Type": "application/json"}, b'{"error": "malformed JSON", "fields": {}}'
        with self.lock:
            self.posts.append({"content_type": content_type, "data": data, "thread": slug})
            if data.get("author") == OUTAGE_AUTHOR:  # the service's database is down
                body = {"error": "The comment database is unavailable for a moment.", "fields": {}}
                return 503, {"Content-Type": "application/json", "Retry-After": "30"}, json.dumps(body).encode()
            fields = {}
            if not str(data.get("body", "")).strip():
                fields["body"] = "Please write a comment."
            if str(data.get("email", "")).endswith(REJECTED_DOMAIN):
                fields["email"] = "This address cannot receive mail."
            if fields:
                body = {"error": "Please correct the highlighted fields.", "fields": fields}
                return 400, {"Content-Type": "application/json"}, json.dumps(body).encode()
            self.next_id += 1
            status = "published" if data.get("author") == "Trusted Regular" else "pending"
        if form:
            return 303, {"Location": f"/posts/{slug}/#comment-{status}"}, b""
        return 202, {"Content-Type": "application/json"}, json.dumps({"id": self.next_id, "status": status}).encode()


class Handler(SimpleHTTPRequestHandler):
    stub: StubService

    def log_message(self, *args):
        pass

    def do_POST(self):
        match = re.fullmatch(r"/api/threads/([^/]+)/comments", urlsplit(self.path).path)
        if not match:
            self.send_error(404)
            return
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, headers, body = self.stub.answer(match.group(1), self.headers.get("Content-Type", ""), raw)
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("js")
    site = make_site(tmp)
    out = tmp / "out"
    build(site, out)
    slug = sorted(manifest(out)["threads"])[0]
    save_thread(site, slug, [comment(site, 1, author="Ann"), comment(site, 2, 1, author="Bob <b>")])
    build(site, out)
    stub = StubService(manifest(out)["threads"])
    handler = type("BoundHandler", (Handler,), {"stub": stub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"base": f"http://127.0.0.1:{server.server_port}", "slug": slug, "stub": stub, "out": out}
    server.shutdown()
    server.server_close()
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield instance
        instance.close()


@pytest.fixture
def page_for(browser, served):
    contexts = []

    def open_page(javascript=True):
        context = browser.new_context(java_script_enabled=javascript)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(5000)
        page.dialogs = []
        page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(f"{served['base']}/posts/{served['slug']}/")
        return page

    served["stub"].posts.clear()
    yield open_page
    for context in contexts:
        context.close()


def fill(page, body="A thoughtful reply.", author="Reader", email="reader@example.org", url=""):
    page.fill("#comment-body", body)
    page.fill("#comment-author", author)
    page.fill("#comment-email", email)
    page.fill("#comment-url", url)


def test_without_javascript_the_form_posts_and_the_page_says_pending(page_for, served):
    page = page_for(javascript=False)
    assert page.is_hidden(".save-info") and page.is_hidden(".preview-toggle")
    assert page.is_hidden("#comment-pending")
    fill(page)
    page.click("form.comment-form button[type=submit]")
    page.wait_for_url(re.compile(r"#comment-pending$"))
    assert page.is_visible("#comment-pending") and page.is_hidden("#comment-published")
    [post] = served["stub"].posts
    assert post["content_type"].startswith("application/x-www-form-urlencoded")
    assert post["data"]["body"] == "A thoughtful reply." and post["data"]["parent"] == ""


def test_javascript_shows_errors_inline_then_the_pending_comment(page_for, served):
    page = page_for()
    url = page.url
    page.click("form.comment-form button[type=submit]")  # empty: caught before sending
    assert page.get_attribute("#comment-body", "aria-invalid") == "true"
    assert "name" in page.inner_text("#comment-author-error")
    assert served["stub"].posts == []

    fill(page, body=HOSTILE_BODY, author=HOSTILE_NAME, email="someone" + REJECTED_DOMAIN)
    page.click("form.comment-form button[type=submit]")
    page.wait_for_selector("#comment-email-error")
    assert page.inner_text("#comment-email-error") == "This address cannot receive mail."
    assert page.get_attribute("#comment-email", "aria-invalid") == "true"
    assert page.get_attribute("#comment-author", "aria-invalid") is None
    assert "comment-email-error" in page.get_attribute("#comment-email", "aria-describedby")
    assert page.is_visible(".form-status")

    page.fill("#comment-email", "someone@example.org")
    page.click("form.comment-form button[type=submit]")
    pending = page.wait_for_selector("li.comment.pending")
    assert page.url == url  # never left the page
    assert pending.query_selector(".author").inner_text() == HOSTILE_NAME  # text, not markup
    assert pending.query_selector(".author > bdi").inner_text() == HOSTILE_NAME  # isolated from the line
    assert page.query_selector("li.comment.pending img, li.comment.pending script") is None
    assert "<img src=x" in pending.query_selector(".comment-body").inner_text()
    assert pending.query_selector(".comment-body em").inner_text() == "really"
    assert page.dialogs == []
    assert page.is_visible("#comment-pending") and page.is_hidden("#comment-published")
    assert page.input_value("#comment-body") == ""
    assert page.query_selector("[aria-invalid=true]") is None
    sent = served["stub"].posts[-1]
    assert sent["content_type"].startswith("application/json")
    assert sent["data"]["author"] == HOSTILE_NAME and sent["data"]["parent"] is None
    # The writer still sees it after a reload (until it is published into the page).
    page.reload()
    assert page.wait_for_selector("li.comment.pending .author").inner_text() == HOSTILE_NAME
    assert page.errors == []


def test_an_outage_keeps_the_text_and_says_to_send_again(page_for, served):
    page = page_for()
    fill(page, body="Typed before the outage.", author=OUTAGE_AUTHOR)
    page.click("form.comment-form button[type=submit]")
    page.wait_for_selector(".form-status:not([hidden])")
    assert "send again in half a minute" in page.inner_text(".form-status")
    assert page.input_value("#comment-body") == "Typed before the outage."
    assert page.query_selector("li.comment.pending") is None
    assert page.errors == []


def test_reply_link_fills_parent_and_nests_the_pending_reply(page_for, served):
    page = page_for()
    page.click("#comment-2 > article .comment-reply")
    assert page.input_value("input[name=parent]") == "2"
    assert "Bob <b>" in page.inner_text(".replying-to")
    page.click(".cancel-reply")
    assert page.input_value("input[name=parent]") == "" and page.is_hidden(".replying-to")
    page.click("#comment-2 > article .comment-reply")
    fill(page, body="Replying to Bob")
    page.click("form.comment-form button[type=submit]")
    page.wait_for_selector("#comment-2 > ol.children > li.comment.pending")
    assert served["stub"].posts[-1]["data"]["parent"] == 2
    assert page.input_value("input[name=parent]") == ""


def test_published_answer_shows_the_published_notice(page_for):
    page = page_for()
    fill(page, author="Trusted Regular")
    page.click("form.comment-form button[type=submit]")
    page.wait_for_selector("li.comment.pending")
    assert page.is_visible("#comment-published") and page.is_hidden("#comment-pending")


def test_markdown_preview_is_safe(page_for):
    page = page_for()
    page.click(".preview-toggle")
    assert page.get_attribute(".preview-toggle", "aria-expanded") == "true"
    page.fill(
        "#comment-body",
        "**bold** and <img src=x onerror=alert(1)> [bad](javascript:alert(1)) [good](https://example.org/a?b=1&c=2)\n\n"
        "> quoted `<code>`\n\n- one\n- two",
    )
    preview = page.locator("#comment-preview")
    assert preview.locator("strong").inner_text() == "bold"
    assert preview.locator("img").count() == 0 and "<img src=x" in preview.inner_text()
    assert preview.locator("a").count() == 1
    assert preview.locator("a").get_attribute("href") == "https://example.org/a?b=1&c=2"
    assert preview.locator("blockquote code").inner_text() == "<code>"
    assert preview.locator("ul li").count() == 2
    # A heading is published as its text alone (markup.py allows none): the preview shows the same.
    for typed in ("## A heading ##\nThe text under it", "#A heading\nThe text under it",
                  "A heading\n=========\nThe text under it"):
        page.fill("#comment-body", typed)
        assert preview.locator("p").all_inner_texts() == ["A heading", "The text under it"], typed
    assert page.dialogs == []


def test_name_email_website_saved_only_when_ticked(page_for):
    page = page_for()
    assert page.is_visible(".save-info")
    fill(page, author="Forgettable", url="https://me.example/")
    page.click("form.comment-form button[type=submit]")
    page.wait_for_selector("li.comment.pending")
    assert page.evaluate("localStorage.getItem('hubbub:commenter')") is None

    fill(page, author="Memorable", email="memo@example.org", url="https://memo.example/")
    page.check("#comment-save")
    page.click("form.comment-form button[type=submit]")
    page.wait_for_function("document.querySelectorAll('li.comment.pending').length === 2")
    saved = json.loads(page.evaluate("localStorage.getItem('hubbub:commenter')"))
    assert saved == {"author": "Memorable", "email": "memo@example.org", "url": "https://memo.example/"}
    page.reload()
    assert page.input_value("#comment-author") == "Memorable"
    assert page.input_value("#comment-email") == "memo@example.org"
    assert page.is_checked("#comment-save")
    # Unticking and sending again forgets them.
    page.uncheck("#comment-save")
    page.fill("#comment-body", "One more")
    page.click("form.comment-form button[type=submit]")
    page.wait_for_function("localStorage.getItem('hubbub:commenter') === null")


def test_a_thread_closed_while_writing_keeps_the_text_and_says_so(page_for, served):
    """The service answers 403 (closed since the page was built): the form goes, the text stays."""
    page = page_for()
    page.route("**/api/threads/*/comments", lambda route: route.fulfill(
        status=403, content_type="application/json", body='{"error": "Comments on this article are closed."}'))
    fill(page, body="Words I spent an hour on")
    page.click("form.comment-form button[type=submit]")
    page.wait_for_selector("#comment-kept")
    assert page.locator("form.comment-form").is_hidden()
    assert page.locator("#respond .comments-closed").get_attribute("role") == "alert"
    assert page.input_value("#comment-kept") == "Words I spent an hour on"
    assert page.evaluate("document.activeElement.id") == "comment-kept"
    assert page.errors == []


def test_an_edit_sent_back_to_moderation_stays_in_view_for_its_writer(page_for, served):
    """Editing a published comment may take it off the site until a moderator decides: its writer
    keeps seeing it (as theirs, awaiting moderation, where it was) after a reload, with no Reply."""
    page = page_for()
    slug = served["slug"]
    page.evaluate("""([slug]) => localStorage.setItem('hubbub:edit:' + slug, JSON.stringify(
        {"2": {token: "t-2", until: Date.now() + 600000, body: "Bob's words"}}))""", [slug])
    page.route(f"**/api/threads/{slug}/comments/2", lambda route: route.fulfill(
        status=200, content_type="application/json", body='{"id": 2, "status": "pending"}'))
    page.reload()
    page.locator("#comment-2 button.own-edit").click()
    page.fill("#own-edit-2", "Bob's better words")
    page.locator("#comment-2 button.own-save").click()
    page.wait_for_selector("#comment-2 .own-editor", state="detached")
    assert page.locator("#comment-2 > article a.comment-reply").is_hidden()
    # The page as the publisher leaves it: without the comment.
    built = Path(served["out"], "posts", slug, "index.html").read_text(encoding="utf-8")
    without = re.sub(r'<li id="comment-2".*?</li>', "", built, count=1, flags=re.S)
    assert without != built
    page.route(f"**/posts/{slug}/", lambda route: route.fulfill(status=200, content_type="text/html", body=without))
    page.reload()
    mine = page.locator("#comment-1 #pending-2")
    mine.wait_for()
    assert "Bob's better words" in mine.inner_text() and "awaiting moderation" in mine.inner_text()
    assert page.errors == []


def test_edit_after_another_tab_took_the_comment_back_says_so(page_for, served):
    """Deleted (or its window closed) in another tab: Edit and Delete say it can no longer be changed."""
    page = page_for()
    slug = served["slug"]
    page.evaluate("""([slug]) => localStorage.setItem('hubbub:edit:' + slug, JSON.stringify(
        {"2": {token: "t-2", until: Date.now() + 600000, body: "Bob's words"}}))""", [slug])
    page.reload()
    page.locator("#comment-2 button.own-edit").wait_for()
    page.evaluate("([slug]) => localStorage.removeItem('hubbub:edit:' + slug)", [slug])  # the other tab
    page.locator("#comment-2 button.own-edit").click()
    assert page.locator("#comment-2 .pending-label").inner_text() == "This comment can no longer be changed."
    assert page.locator("#comment-2 .own-actions").count() == 0
    assert page.errors == []
