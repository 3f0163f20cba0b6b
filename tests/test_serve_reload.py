"""`hubbub serve --reload`: a saved change reaches the open page in a real browser, build errors
show in the page (and go away once fixed), and the output ends as a full build would write it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from build_helpers import make_site, slugify, tree_differences, write_post

from hubbub.build import run_build

CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path):
    """A generated site served by `hubbub serve --reload` in its own process."""
    with serving(tmp_path) as (site, base, log, _):
        yield site, base, log


@contextlib.contextmanager
def serving(tmp_path, prepare=None):
    """(site, its address, the server's log, the server's process) of `hubbub serve --reload`;
    `prepare(site)` may change the generated site before the server starts."""
    site = make_site(tmp_path / "site", posts=12)
    if prepare is not None:
        prepare(site)
    port = free_port()
    env = {**os.environ, "HUBBUB_SITE_DIR": str(site), "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"),
           "HUBBUB_SECRET_KEY": "test", "HUBBUB_DEVELOPMENT": "1"}
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "hubbub", "serve", "--reload", "--port", str(port)], cwd=site,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/posts/post-3/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        else:
            pytest.fail("hubbub serve --reload did not start:\n" + (tmp_path / "serve.log").read_text())
        yield site, base, tmp_path / "serve.log", proc
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def wait_for(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


def test_the_dev_server_adds_the_reload_script_and_the_files_stay_clean(served):
    site, base, _ = served
    page = httpx.get(f"{base}/posts/post-3/").text
    assert '<script src="/__hubbub/livereload.js" defer></script></body>' in page
    assert "livereload" not in (site / "output" / "posts" / "post-3" / "index.html").read_text()
    missing = httpx.get(f"{base}/posts/not-written-yet/")  # reloads itself once the post is built
    assert missing.status_code == 404 and "/__hubbub/livereload.js" in missing.text
    script = httpx.get(f"{base}/__hubbub/livereload.js")
    assert script.status_code == 200 and "EventSource" in script.text
    assert "'unsafe-inline'" not in script.headers["Content-Security-Policy"].split("script-src")[-1].split(";")[0]


def test_open_pages_leave_the_server_room_for_requests(served):
    """Each open page holds a connection, and a server thread, for its reload events: more open
    pages than the server has request threads must not stop it from answering."""
    from hubbub.cli import REQUEST_THREADS
    from hubbub.livereload import EVENTS_PATH

    site, base, _ = served
    with contextlib.ExitStack() as streams, httpx.Client(timeout=10, limits=httpx.Limits(max_connections=None)) as c:
        for _ in range(REQUEST_THREADS + 4):
            events = streams.enter_context(c.stream("GET", base + EVENTS_PATH))
            assert events.status_code == 200
            assert next(events.iter_lines()).startswith("retry:")  # a server thread is on it
        assert c.get(f"{base}/posts/post-3/", timeout=5).status_code == 200


def test_ctrl_c_ends_the_open_pages_streams_and_stops_the_server(tmp_path):
    """The server ends each open page's event stream as it stops, rather than waiting for the
    stream's thread and then dropping the connection mid-stream."""
    from hubbub.livereload import EVENTS_PATH

    with serving(tmp_path) as (_, base, log, proc), httpx.stream("GET", base + EVENTS_PATH, timeout=30) as events:
        lines = events.iter_lines()
        assert next(lines).startswith("retry:")
        proc.send_signal(signal.SIGINT)
        rest = list(lines)  # raises httpx.RemoteProtocolError if the stream is cut off unfinished
        assert all(line.startswith(": still here") or not line for line in rest), rest
        assert proc.wait(timeout=20) == 0, log.read_text()


def test_a_save_reaches_the_file_and_ends_as_a_full_build_writes_it(served, tmp_path):
    site, base, log = served
    write_post(site, 5, title="Edited while serving")
    wait_for(lambda: "Edited while serving" in httpx.get(f"{base}/posts/post-5/").text, 30, "the edited page")
    write_post(site, 77, title="Written while serving", date="2031-01-01 10:00")
    wait_for(lambda: "Written while serving" in httpx.get(f"{base}/").text, 60, "the new post on the home page")
    full = tmp_path / "full"
    run_build(site, full=True, OUTPUT_PATH=str(full))
    # The build after the save may still be writing on a busy machine: the output must end equal.
    deadline = time.monotonic() + 90
    while (differences := tree_differences(site / "output", full)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert differences == [], log.read_text()[-3000:]


def test_a_thread_file_kept_outside_the_content_directory_is_watched(tmp_path):
    """COMMENTS_DIR may lead out of PATH ("../threads"): the watcher sees a thread file changed
    there, as the build does, and the post's page shows it."""
    import shutil

    def threads_apart(site):
        shutil.move(site / "content" / "comments", site / "threads")
        conf = site / "pelicanconf.py"
        conf.write_text(conf.read_text(encoding="utf-8") + '\nCOMMENTS_DIR = "../threads"\n', encoding="utf-8")

    with serving(tmp_path, threads_apart) as (site, base, log, _proc):
        # Once this save's build is over, the watcher runs and no build is left to read threads anew.
        write_post(site, 5, title="Watched already")
        wait_for(lambda: "incremental build: 1 source(s) changed" in log.read_text(), 60, "the save's build")
        thread = site / "threads" / "post-3.json"
        data = json.loads(thread.read_text(encoding="utf-8"))
        data["comments"][0]["html"] = "<p>Written beside the content.</p>"
        thread.write_text(json.dumps(data), encoding="utf-8")
        wait_for(lambda: "Written beside the content." in httpx.get(f"{base}/posts/post-3/").text, 60,
                 "the thread's new text on the post's page")


def test_a_save_made_before_the_watcher_starts_is_not_missed(tmp_path):
    """`serve --reload` builds, then starts the service, then watches: a save in between must show
    without waiting for another save."""
    import threading

    from hubbub.build.reload import LiveSite

    site = make_site(tmp_path / "site", posts=6)
    live = LiveSite(site)
    live.build()
    write_post(site, 2, title="Saved while the service started")
    watcher = threading.Thread(target=live.watch, daemon=True)
    watcher.start()
    try:
        page = site / "output" / "posts" / "post-2" / "index.html"
        wait_for(lambda: "Saved while the service started" in page.read_text(encoding="utf-8"), 60, "the saved page")
    finally:
        live.stop()
        watcher.join(10)


class HeldBuilds:
    """A LiveSite watching its site, whose builds wait until the test lets them go on."""

    def __init__(self, site: Path, monkeypatch):
        import threading

        from hubbub.build import reload

        self.live = reload.LiveSite(site)
        self.live.build()
        self.building, self.go_on = threading.Event(), threading.Event()
        real_build = reload.run_build

        def slow_build(*args, **kwargs):
            self.building.set()
            self.go_on.wait(60)
            return real_build(*args, **kwargs)

        monkeypatch.setattr(reload, "run_build", slow_build)
        self.watcher = threading.Thread(target=self.live.watch, daemon=True)

    def __enter__(self):
        self.watcher.start()
        wait_for(self.building.is_set, 60, "the watcher's first build")
        return self

    def finish(self) -> None:
        """Let the builds go on, and wait until they have taken in every save."""
        self.go_on.set()
        wait_for(lambda: not self.live.lock.locked() and not self.live._build_wanted, 120, "the builds to finish")

    def __exit__(self, *exc):
        self.go_on.set()
        self.live.stop()
        self.watcher.join(30)


def test_a_save_made_while_a_build_runs_shows_at_once_and_the_site_ends_as_a_full_build(tmp_path, monkeypatch):
    """Saves do not wait for the build of the save before them (at 5,000 posts it takes seconds):
    each takes the fast path at once, and the builds that follow leave what --full writes."""
    site = make_site(tmp_path / "site", posts=6)
    page = site / "output" / "posts" / "post-2" / "index.html"
    with HeldBuilds(site, monkeypatch) as held:
        for title in ("Saved once", "Saved twice"):
            write_post(site, 2, title=title)
            wait_for(lambda title=title: title in page.read_text(encoding="utf-8"), 30, f"the page of {title!r}")
        assert not held.go_on.is_set()  # both shown while a build was still running
        held.finish()
    run_build(site, full=True, OUTPUT_PATH=str(tmp_path / "full"))
    assert not tree_differences(site / "output", tmp_path / "full")


def test_the_first_save_after_starting_on_a_built_site_takes_the_fast_path(tmp_path, monkeypatch):
    """Starting on a site built earlier finds nothing changed and serves at once; the site is then
    worked out in the background, so the first save shows without waiting for its build."""
    import threading

    from hubbub.build import reload

    site = make_site(tmp_path / "site", posts=6)
    run_build(site)
    live = reload.LiveSite(site)
    live.build()
    assert live.memory.pelican is None  # nothing changed: no Pelican run before serving
    watcher = threading.Thread(target=live.watch, daemon=True)
    watcher.start()
    go_on = threading.Event()
    try:
        wait_for(lambda: live.memory.pelican is not None, 60, "the site worked out after starting")
        wait_for(lambda: not live.lock.locked(), 60, "that build to finish")
        real_build = reload.run_build
        monkeypatch.setattr(reload, "run_build", lambda *a, **k: go_on.wait(60) and real_build(*a, **k))
        write_post(site, 2, title="The first save")
        page = site / "output" / "posts" / "post-2" / "index.html"
        wait_for(lambda: "The first save" in page.read_text(encoding="utf-8"), 30, "the first save's page")
        assert not go_on.is_set()  # shown by the fast path: its build has not run
    finally:
        go_on.set()
        live.stop()
        watcher.join(30)


def test_a_new_post_shows_at_once_on_the_home_page_and_its_lists(tmp_path, monkeypatch):
    """A new post's page and the first page of the lists it joins are written before any build:
    those lists exactly as --full writes them; the builds then bring the rest of the site up."""
    site = make_site(tmp_path / "site", posts=14)
    output = site / "output"
    lists = ["index.html", "tag/seo/index.html", "tag/a-brand-new-tag/index.html", "category/analytics/index.html"]
    with HeldBuilds(site, monkeypatch) as held:
        page_two = (output / "page" / "2" / "index.html").read_bytes()
        write_post(site, 99, title="Brand new post", date="2031-01-01 10:00", category="Analytics",
                   tags=["seo", "a brand new tag"])
        wait_for(lambda: all((output / name).exists() and "Brand new post" in (output / name).read_text("utf-8")
                             for name in ["posts/post-99/index.html", *lists]), 30, "the new post's pages")
        assert not held.go_on.is_set()  # written while the build was held
        first_pages = {name: (output / name).read_bytes() for name in lists}
        assert (output / "page" / "2" / "index.html").read_bytes() == page_two  # later pages wait for the build
        held.finish()
    full = tmp_path / "full"
    run_build(site, full=True, OUTPUT_PATH=str(full))
    assert not tree_differences(output, full)
    assert {name: (full / name).read_bytes() for name in lists} == first_pages


def test_a_new_post_renamed_before_any_build_leaves_no_page_behind(tmp_path):
    """Two saves of a new post reach the fast path before a build reads it (a slug and a tag
    changed in between): the next build removes what the first save showed, search included."""
    from hubbub.build.reload import LiveSite
    from hubbub.search import RECORD

    site = make_site(tmp_path / "site", posts=8)
    output = site / "output"
    live = LiveSite(site)
    live.build()
    post = write_post(site, 99, title="Alph", date="2031-01-01 10:00", tags=["a typo tag"], extra="Slug: alph\n")
    live._apply_fast({post.resolve()})
    assert (output / "posts" / "alph" / "index.html").exists() and (output / "tag" / "a-typo-tag").exists()
    write_post(site, 99, title="Alpha", date="2031-01-01 10:00", tags=["seo"], extra="Slug: alpha\n")
    live._apply_fast({post.resolve()})
    live._rebuild()
    assert not (output / "posts" / "alph").exists() and not (output / "tag" / "a-typo-tag").exists()
    documents = json.loads((output / RECORD).read_text())["documents"]
    assert "posts/alpha/index.html" in documents and "posts/alph/index.html" not in documents
    full = tmp_path / "full"
    run_build(site, full=True, OUTPUT_PATH=str(full))
    assert not tree_differences(output, full)


def test_a_file_the_fast_path_cannot_read_keeps_what_it_showed_of_the_others(tmp_path):
    """One batch of saves (a `git pull`): a new post, then a post with a broken date. The new
    post's pages are shown and handed to the next build (its search index among them)."""
    from hubbub.build.reload import LiveSite

    site = make_site(tmp_path / "site", posts=8)
    live = LiveSite(site)
    live.build()
    new = write_post(site, 10, title="Brand new post", date="2031-01-01 10:00")
    broken = site / "content" / "posts" / "post-3.md"
    broken.write_text(broken.read_text(encoding="utf-8").replace("Date: ", "Date: not a date "), encoding="utf-8")
    shown = []
    live.notify = lambda event: shown.extend(event.get("pages", []))
    live._apply_fast({new.resolve(), broken.resolve()})
    assert "posts/post-10/index.html" in shown and "posts/post-10/index.html" in live._shown


def test_a_new_post_saved_over_a_page_of_the_site_does_not_replace_it_at_once(tmp_path):
    from hubbub.build.reload import LiveSite

    site = make_site(tmp_path / "site", posts=8)
    live = LiveSite(site)
    live.build()
    about = site / "output" / "about" / "index.html"
    before = about.read_bytes()
    post = write_post(site, 99, title="Squatter", date="2031-01-01 10:00", extra="Slug: squatter\nSave_as: about/index.html\n")
    live._apply_fast({post.resolve()})
    assert about.read_bytes() == before and not live._shown


@pytest.mark.browser
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason=f"{CHROMIUM} not installed (apt-get install chromium)")
def test_the_open_page_reloads_after_a_save_and_shows_build_errors(served):
    from playwright.sync_api import sync_playwright

    site, base, _ = served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu",
                                                                     "--disable-background-networking"])
        try:
            page = browser.new_page()
            violations = []
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(f"{base}/posts/post-4/")
            page.wait_for_load_state("networkidle")
            write_post(site, 4, title="Seen without pressing reload")
            # A locator, not wait_for_function: polling a string predicate needs eval, which the CSP forbids.
            page.locator("h1", has_text="Seen without pressing").first.wait_for(timeout=30_000)
            # A profile with a date that is not a date stops the build: the page says so, with the file.
            profile = site / "content" / "authors" / f"{slugify('Dana Okafor')}.md"
            good = profile.read_text(encoding="utf-8")
            profile.write_text(good.replace("Joined: 2012-03-04", "Joined: last spring"), encoding="utf-8")
            page.wait_for_selector("#hubbub-build-error", timeout=30_000)
            message = page.text_content("#hubbub-build-error")
            assert "dana-okafor.md" in message and "line" in message and "Joined" in message
            profile.write_text(good, encoding="utf-8")
            page.wait_for_selector("#hubbub-build-error", state="detached", timeout=30_000)
            # The open post made unreadable: the error names its line, and its page stays served.
            post = site / "content" / "posts" / "post-4.md"
            text = post.read_text(encoding="utf-8")
            post.write_text(text.replace("Date: ", "Date: 2026-02-30 10:00\nOld-Date: ", 1), encoding="utf-8")
            page.wait_for_selector("#hubbub-build-error", timeout=30_000)
            message = page.text_content("#hubbub-build-error")
            assert "post-4.md, line 2" in message and "not a valid date" in message, message
            assert httpx.get(f"{base}/posts/post-4/").status_code == 200
            post.write_text(text, encoding="utf-8")
            page.wait_for_selector("#hubbub-build-error", state="detached", timeout=30_000)
            assert violations == []
        finally:
            browser.close()


def test_a_build_under_reload_starts_from_the_objects_as_read(tmp_path):
    """The objects the last build used keep what Pelican and the plugins put in them: the next
    build starts from the posts as read. A post that became a translation loses its comment
    thread, and a summary's link follows the post it links to."""
    from hubbub.build.reload import LiveSite

    site = make_site(tmp_path / "site", posts=8)
    write_post(site, 3, extra="Slug: post-3\nLang: fr\n")  # the only post-3 (with a thread): the original
    write_post(site, 1, extra="Slug: post-1\nSummary: Read [the fourth]({filename}post-4.md) first.\n")
    live = LiveSite(site)
    live.memory.watching = True
    live.build()
    english = write_post(site, 30, title="English three", extra="Slug: post-3\nLang: en\n")
    moved = write_post(site, 4, extra="Slug: fourth-moved\n")
    live.build({english.resolve(), moved.resolve()})
    full = tmp_path / "full"
    run_build(site, full=True, OUTPUT_PATH=str(full))
    assert not tree_differences(site / "output", full)


def test_changed_python_asks_for_a_restart_and_builds_nothing(tmp_path):
    """A module the process imported once (here a Jinja filter next to pelicanconf.py) changed:
    a build would run the old code and record the new. The build refuses, saying what to do,
    and the last good output stays."""
    from hubbub.build.reload import LiveSite

    site = make_site(tmp_path / "site", posts=6)
    (site / "site_filters.py").write_text("def shout(text):\n    return str(text).upper()\n", encoding="utf-8")
    conf = site / "pelicanconf.py"
    conf.write_text(conf.read_text(encoding="utf-8") + "\nimport sys\nsys.path.insert(0, str(__import__('pathlib')"
                    ".Path(__file__).parent))\nfrom site_filters import shout\nJINJA_FILTERS = {'shout': shout}\n",
                    encoding="utf-8")
    live = LiveSite(site)
    messages = []
    live.notify = messages.append
    live.build()
    assert live.failed is None
    before = {p: p.read_bytes() for p in (site / "output").rglob("*.html")}
    (site / "site_filters.py").write_text("def shout(text):\n    return str(text).lower()\n", encoding="utf-8")
    post = write_post(site, 2, title="A title saved after the filter changed")
    live.build({post.resolve()})
    assert "start it again" in live.failed and messages[-1]["event"] == "failure"
    # Only the saved post's own page, from the fast path (the build after a restart renders all again).
    after = {p: p.read_bytes() for p in (site / "output").rglob("*.html")}
    assert [p.relative_to(site / "output").as_posix() for p in after if after[p] != before.get(p)] == [
        "posts/post-2/index.html"]


def test_python_the_process_never_imported_builds_as_usual(tmp_path):
    """A tasks.py next to the settings is no module of the build: editing it asks for no restart."""
    from hubbub.build.reload import LiveSite

    site = make_site(tmp_path / "site", posts=4)
    (site / "tasks.py").write_text("def deploy():\n    pass\n", encoding="utf-8")
    live = LiveSite(site)
    live.build()
    (site / "tasks.py").write_text("def deploy():\n    print('deploying')\n", encoding="utf-8")
    post = write_post(site, 1, title="Saved after tasks.py changed")
    live.build({post.resolve()})
    assert live.failed is None
    assert "Saved after tasks.py changed" in (site / "output" / "posts" / "post-1" / "index.html").read_text()
