"""Tools shared by the attack tests (tests/test_attack_*.py).

- live servers: the service as `hubbub serve` and gunicorn run it (subprocesses, always killed in
  teardown), or the app in a thread of the test process (Werkzeug's server);
- jobs: run every queued job now (checks and publishes), approve comments;
- scanning: find anything executable in HTML, feeds and API answers, the way a browser parses them;
- chromium through Playwright, skipped with a reason when /usr/bin/chromium is missing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from bs4 import BeautifulSoup
from conftest import CHROMIUM, PG_ADMIN_URL, POSTGRES_UP, copy_site

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # the venv's bin/: hubbub, gunicorn
DATA = Path(__file__).resolve().parent / "data"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


# Ports and servers ---------------------------------------------------------------------------------
def load_vectors(path: Path = DATA / "xss_vectors.txt") -> list[str]:
    """The XSS corpus: one vector a line, backslash escapes for the characters a line cannot hold."""
    vectors = []
    for line in path.read_text(encoding="ascii").splitlines():
        if not line or line.startswith("#"):
            continue
        vectors.append(line.encode("ascii").decode("unicode_escape"))
    return vectors


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Poll `predicate` until it returns something truthy; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def process_env(**settings) -> dict:
    """The environment of a service subprocess: this one without any Hubbub or Akismet setting,
    plus `settings` (HUBBUB_SITE_DIR, HUBBUB_DATABASE_URL, ...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HUBBUB_", "PYTHON_AKISMET_"))}
    env.update({k: str(v) for k, v in settings.items()})
    env["PYTHONUNBUFFERED"] = "1"
    return env


def stop_group(proc: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 20.0) -> None:
    """Send `sig` to the process's whole group (started with start_new_session=True), wait up to
    `grace` seconds, then SIGKILL whatever of the group is left and reap the process."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(10)


class LiveProcess:
    """A service subprocess in its own process group, its output in a log file.

    Use as a context manager: it is stopped (and if need be SIGKILLed) on exit, whatever happens.
    """

    def __init__(self, argv: list[str], env: dict, cwd: Path, log_path: Path, port: int):
        self.argv, self.env, self.cwd, self.log_path, self.port = argv, env, cwd, log_path, port
        self.proc: subprocess.Popen | None = None
        self.url = f"http://127.0.0.1:{port}"

    def start(self, ready_timeout: float = 30.0, ready_status: int = 200) -> LiveProcess:
        """Start, and wait until /api/health answers `ready_status` (503: up, its database down)."""
        log = open(self.log_path, "ab")
        try:
            self.proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"{self.argv[0]} exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == ready_status:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"{' '.join(map(str, self.argv))} not answering after {ready_timeout} s:\n"
                                     f"{self.log_tail()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the whole process group (the crash test) and reap it."""
        if self.proc is not None:
            stop_group(self.proc, signal.SIGKILL, grace=0)

    def stop(self) -> None:
        if self.proc is not None:
            stop_group(self.proc, signal.SIGTERM, grace=5)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def __enter__(self) -> LiveProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def hubbub_serve(env: dict, site: Path, log_path: Path, port: int | None = None) -> LiveProcess:
    port = port or free_port()
    return LiveProcess([str(BIN / "hubbub"), "serve", "--host", "127.0.0.1", "--port", str(port)],
                       env, site, log_path, port)


def gunicorn(env: dict, site: Path, log_path: Path, workers: int = 4, port: int | None = None) -> LiveProcess:
    port = port or free_port()
    return LiveProcess([str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                        "--graceful-timeout", "3", "--timeout", "60", "comments_service:create_app()"],
                       env, site, log_path, port)


@contextlib.contextmanager
def serve_app(app):
    """The app on a free port of 127.0.0.1, in a thread of Werkzeug's threaded server."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextlib.contextmanager
def pg_database():
    """A fresh PostgreSQL database for one test (skip when the server does not answer)."""
    import psycopg

    if not POSTGRES_UP:
        pytest.skip("PostgreSQL is not answering on 127.0.0.1:5432")
    name = f"hubbub_a_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def store(database_url: str):
    """A Hub-less view of a service's database, for reading what a subprocess stored."""
    from comments_service import db

    engine = db.make_engine(database_url)
    return engine, db.make_sessionmaker(engine)


def stored_field(database_url: str, field: str) -> dict:
    """comment id -> one column (body, akismet, ...) of every comment a subprocess stored."""
    from sqlalchemy import select

    from comments_service.models import Comment

    engine, sessions = store(database_url)
    try:
        with sessions() as s:
            return dict(s.execute(select(Comment.id, getattr(Comment, field))).all())
    finally:
        engine.dispose()


def fresh_site(dest: Path) -> Path:
    """The project's site copied to `dest` and built there: a site of the test's own, which it may
    publish into and rebuild without touching the session's built template."""
    from hubbub.build import build_site

    site = copy_site(dest)
    build_site(site)
    return site


# Jobs and approval ---------------------------------------------------------------------------------
def hub_of(app):
    return app.extensions["hubbub"]


PERIODIC_JOBS = {"retention", "notify-digest", "webmention-scan"}  # re-schedule themselves for the next time slot


def run_all_jobs(app, timeout: float = 30.0, rounds: int | None = None) -> int:
    """Run every queued one-off job now (checks, publishes, retries and delayed ones included) until
    none is left, or for `rounds` rounds (while a fault keeps retrying); periodic jobs keep their time."""
    from sqlalchemy import func, select, update

    from comments_service.models import Job

    hub = hub_of(app)
    ran = 0
    deadline = time.monotonic() + timeout
    while True:
        with hub.transaction() as s:
            s.execute(update(Job).where(Job.locked_until.is_(None), Job.kind.not_in(PERIODIC_JOBS))
                      .values(due_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
        ran += hub.runner.run_due(limit=1000)
        if rounds is not None:
            rounds -= 1
            if rounds <= 0:
                return ran
        with hub.sessions() as s:
            left = s.scalar(select(func.count(Job.id)).where(Job.kind.not_in(PERIODIC_JOBS)))
        if not left:
            return ran
        if time.monotonic() > deadline:
            raise AssertionError(f"{left} job(s) still queued after {timeout} s")


def approve(app, ids, client=None, token: str | None = None) -> None:
    """Approve comments: through the moderation API when a token is given, else in the database
    as a moderator's approval does (status + a publish job), like service_helpers.set_status."""
    if token:
        for cid in ids:
            r = client.post(f"/api/moderation/comments/{cid}/approve", headers={"Authorization": f"Bearer {token}"})
            assert r.status_code == 200, (cid, r.status_code, r.get_data(as_text=True)[:300])
        return
    from comments_service.check import request_publish
    from comments_service.models import Comment, utcnow

    with hub_of(app).transaction() as s:
        for cid in ids:
            c = s.get(Comment, cid)
            c.status = "published"
            c.published_at = utcnow()
            request_publish(s, c.thread)


def moderation_available() -> bool:
    try:
        from comments_service.moderation import init_app  # noqa: F401
    except ImportError:
        return False
    return True


# Scanning for executable content -------------------------------------------------------------------
EXECUTABLE_SCHEMES = ("javascript:", "vbscript:", "data:", "livescript:", "mocha:", "jar:")
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "srcset", "data",
                  "code", "codebase", "cite", "longdesc", "dynsrc", "lowsrc", "ping", "manifest", "icon", "usemap",
                  "to", "values", "from", "by", "content"}
FORBIDDEN_TAGS = {"iframe", "frame", "frameset", "object", "embed", "applet", "base", "style",
                  "animate", "set", "animatemotion", "animatetransform", "handler", "listener", "foreignobject",
                  "portal", "noembed", "xmp", "plaintext", "template"}
STYLE_DANGER = ("expression", "javascript", "vbscript", "behavior", "-moz-binding", "url(", "@import")


_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")


def href_scheme(value: str) -> str:
    """The scheme a browser finds in a link ("" for a relative link, which stays on the page's own
    http(s) origin)."""
    match = _SCHEME.match(_url_value(value))
    return match.group(1) if match else ""


def _url_value(value: str) -> str:
    """An attribute URL the way a browser reads it: C0 controls and spaces around it stripped,
    tabs and newlines inside removed, scheme compared case-insensitively."""
    value = value.strip("".join(chr(c) for c in range(0x21)))
    return "".join(ch for ch in value if ch not in "\t\n\r").lower()


def executable_problems(html: str, page_url: str = "http://site.test/", theme_prefix: str = "/theme/") -> list[str]:
    """Everything in `html` a browser could execute that the theme did not put there.

    The theme's own scripts are <script src> under /theme/ (resolved against `page_url`)."""
    soup = BeautifulSoup(html, "html5lib")  # parses as a browser does (foreign content, error recovery)
    problems = []
    for el in soup.find_all(True):
        name = el.name.lower()
        where = f"<{name}> {str(el)[:120]!r}"
        if name == "script" and (el.get("type") or "").lower() == "application/ld+json" and not el.get("src"):
            try:  # a data block (JSON-LD), never run by a browser: it must be JSON, whole
                json.loads(el.string or "")  # (get_text() leaves script text out)
            except ValueError:
                problems.append(f"JSON-LD that is not JSON: {where}")
        elif name == "script":
            src = el.get("src")
            path = urlsplit(urljoin(page_url, src)).path if src else ""
            if not src or not path.startswith(theme_prefix) or el.get_text().strip():
                problems.append(f"script not from the theme: {where}")
        if name in FORBIDDEN_TAGS:
            problems.append(f"forbidden element: {where}")
        if name == "meta" and (el.get("http-equiv") or "").lower() == "refresh":
            problems.append(f"meta refresh: {where}")
        if name == "link" and (el.get("rel") and "import" in [r.lower() for r in el.get("rel")]):
            problems.append(f"link import: {where}")
        for attr, value in el.attrs.items():
            attr_l = attr.lower()
            text = " ".join(value) if isinstance(value, list) else str(value)
            if attr_l.startswith("on"):
                problems.append(f"event handler {attr}=: {where}")
            if attr_l == "srcdoc":
                problems.append(f"srcdoc: {where}")
            if attr_l == "style" and any(d in text.lower() for d in STYLE_DANGER):
                problems.append(f"dangerous style: {where}")
            if attr_l in URL_ATTRIBUTES or attr_l.endswith(":href"):
                if attr_l == "content" and (name != "meta" or not el.get("http-equiv")):
                    continue  # a URL only in a meta http-equiv (refresh); og:title and the like are data
                url = _url_value(text)
                if attr_l == "content":
                    url = _url_value(url.split("url=", 1)[1]) if "url=" in url else ""
                if name == "img" and attr_l == "src" and url.startswith("data:image/") and "svg" not in url[:20]:
                    continue  # an inert inline picture
                rel = [r.lower() for r in (el.get("rel") or [])]
                if name == "link" and attr_l == "href" and rel == ["icon"] and url.startswith("data:"):
                    continue  # a favicon (browsers never run one); `data:,` means "no icon"
                if url.startswith(EXECUTABLE_SCHEMES):
                    problems.append(f"executable URL in {attr}=: {where}")
    return problems


def comment_link_problems(html: str) -> list[str]:
    """Links inside comment bodies and on author names must be http(s) or mailto and nofollow."""
    soup = BeautifulSoup(html, "html5lib")
    problems = []
    for body in soup.select(".comment-body, .comment-head .author"):
        for a in body.find_all("a"):
            href = a.get("href")
            if href is None:
                continue
            scheme = href_scheme(href)
            if scheme not in ("", "http", "https", "mailto"):
                problems.append(f"comment link with scheme {scheme!r}: {str(a)[:120]!r}")
            rel = set(a.get("rel") or [])
            if not {"nofollow", "ugc"} <= rel:
                problems.append(f"comment link without rel nofollow ugc: {str(a)[:120]!r}")
    return problems


def feed_problems(path: Path) -> list[str]:
    """A comment feed must be well-formed XML whose HTML payloads hold nothing executable."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        return [f"{path.name}: not well-formed XML ({exc})"]
    problems = []
    for el in root.iter():
        tag = el.tag.rsplit("}", 1)[-1]
        if tag == "link" and el.get("href"):
            if _url_value(el.get("href")).startswith(EXECUTABLE_SCHEMES):
                problems.append(f"{path.name}: executable link {el.get('href')!r}")
        is_html = tag == "description" or (tag in ("content", "summary", "title", "subtitle")
                                           and el.get("type") in ("html", "xhtml"))
        if is_html and el.text:
            problems += [f"{path.name} <{tag}>: {p}" for p in executable_problems(el.text)]
        if tag == "link" and el.text and _url_value(el.text).startswith(EXECUTABLE_SCHEMES):
            problems.append(f"{path.name}: executable link {el.text!r}")
        if tag == "uri" and el.text and not _url_value(el.text).startswith(("http:", "https:")):
            problems.append(f"{path.name}: author uri {el.text!r}")
    return problems


def scan_output(out: Path) -> tuple[list[str], int, int]:
    """Scan every page and feed of a built site: (problems, pages scanned, feeds scanned)."""
    problems: list[str] = []
    pages = feeds = 0
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(out).as_posix()
        if path.suffix == ".html":
            pages += 1
            html = path.read_text(encoding="utf-8")
            problems += [f"{rel}: {p}" for p in executable_problems(html, "http://site.test/" + rel)]
            problems += [f"{rel}: {p}" for p in comment_link_problems(html)]
        elif path.suffix == ".xml" and rel.startswith("feeds/"):
            feeds += 1
            problems += feed_problems(path)
    return problems, pages, feeds


def api_problems(answer: dict) -> list[str]:
    """A public thread answer: HTML fields hold nothing executable, URLs are http(s) or empty."""
    problems = []
    for c in answer.get("comments", []):
        problems += [f"comment {c.get('id')}: {p}" for p in executable_problems(c.get("html", ""))]
        if c.get("url") and href_scheme(c["url"]) not in ("http", "https"):
            problems.append(f"comment {c.get('id')}: url {c['url']!r}")
    return problems


# The browser -------------------------------------------------------------------------------------
def need_chromium():
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed")


@contextlib.contextmanager
def browser():
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, timeout=30_000)
        try:
            yield b
        finally:
            b.close()


class PageWatch:
    """Records what a page does that it should not: dialogs, uncaught errors, console errors."""

    def __init__(self, page):
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console: list[tuple[str, str]] = []
        self.failed: list[str] = []  # responses >= 400 (resources that did not load)
        page.on("dialog", self._dialog)
        page.on("response", lambda r: self.failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: self.console.append((msg.type, f"{msg.text} [{msg.location.get('url')}]")))

    def _dialog(self, dialog):
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def console_errors(self) -> list[str]:
        """Console errors, with the failed responses they stand for (Chromium does not name them)."""
        errors = [text for kind, text in self.console if kind == "error" and "/favicon.ico]" not in text]
        return errors + ([f"failed responses: {self.failed}"] if errors and self.failed else [])


def json_dump(path: Path, data) -> None:
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
