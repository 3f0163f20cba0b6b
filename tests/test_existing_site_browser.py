"""Hubbub's comment section inside Pelican's notmyidea theme, in a real browser (Debian's chromium
through Playwright), served by the real `hubbub serve` with its Content-Security-Policy: the
stylesheet hides what must be hidden, the form works without JavaScript, and comments.js works
with it, with no script error and no CSP violation."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from hubbub.build import build_site

CHROMIUM = "/usr/bin/chromium"
EXISTING = Path(__file__).resolve().parent / "data" / "existing-site"
SLUG = "before-the-first-frost"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("existing-browser")
    site = tmp / "site"
    shutil.copytree(EXISTING, site)
    build_site(site)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBBUB_", "PYTHON_AKISMET_"))}
    env.update(HUBBUB_SITE_DIR=str(site), HUBBUB_SECRET_KEY="s" * 40, HUBBUB_DEVELOPMENT="1",
               HUBBUB_RATE_LIMIT="1000/minute", HUBBUB_REBUILD_AFTER_PUBLISH="0")
    log = (tmp / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "hubbub", "serve", "--port", str(port)], cwd=tmp, env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, (tmp / "serve.log").read_text()
            time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM,
                                     args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield instance
        instance.close()


def open_page(browser, base: str, javascript: bool):
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    page.set_default_timeout(5000)
    page.problems = []
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("console", lambda m: page.problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(f"{base}/{SLUG}.html")
    return context, page


def fill(page, body: str):
    page.fill("#comment-body", body)
    page.fill("#comment-author", "Lou Gardener")
    page.fill("#comment-email", "lou@example.org")


def test_without_javascript_the_form_posts_and_the_notice_shows(browser, served):
    context, page = open_page(browser, served, javascript=False)
    try:
        assert page.is_visible("section#content h1.entry-title")  # the theme's own page around it
        assert page.is_visible("#comments") and page.is_visible("form.comment-form")
        assert page.is_hidden("#comment-pending") and page.is_hidden("#comment-published")
        assert page.locator("#comment-hp").bounding_box()["x"] < 0  # the honeypot is out of sight
        fill(page, "Frost came early here too.")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(rf"/{SLUG}\.html#comment-pending$"))
        assert page.is_visible("#comment-pending") and page.is_hidden("#comment-published")
        assert page.problems == []
    finally:
        context.close()


def test_comments_js_works_in_the_foreign_theme_under_the_csp(browser, served):
    context, page = open_page(browser, served, javascript=True)
    try:
        url = page.url
        fill(page, "The *finches* thank you.")
        page.click("button[type=submit]")
        pending = page.wait_for_selector("li.comment.pending")
        assert page.url == url  # sent by the script, the page never left
        assert pending.query_selector(".comment-body em").inner_text() == "finches"
        assert page.is_visible("#comment-pending")
        assert page.problems == []
    finally:
        context.close()
