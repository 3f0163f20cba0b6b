"""Benchmark: Hubbub's comment service against Isso 0.14, on loopback, in one run.

    .venv/bin/python bench/bench_service.py [--duration 10] [--rounds 3]

What it measures, for each system, with the same load generator (bench/loadgen.py), under each
server (`--servers`): gunicorn (the same settings for both: 2 workers x 4 threads, gthread) and
each project's own default server, one process each (`hubbub serve`: Waitress, a pool of threads;
Isso's `isso run`: Werkzeug, a thread per request):
- GET of a 100-comment thread (the same 100 Markdown comments on both sides);
- POST of new comments at 8 connections, with a local Akismet stand-in (tests/akismet_server.py)
  that answers after 300 ms.
Systems run alternately (A B, B A, ...), each round on a fresh database; the tables show the
median of the rounds, the ratios Hubbub/Isso, the server CPU per request (user + system time of
the server's processes from /proc/PID/stat, divided by the answers) and whether the goals are met
(judged under gunicorn): POST rate >= 2x Isso with p99 <= 100 ms; GET rate >= 100x Isso.

Both sides answer a POST only once the comment is on stable storage: Hubbub commits with SQLite's
synchronous=FULL in WAL mode (one fsync of the log per commit, shared by comments that arrive
together: comments_service/group_commit.py); Isso 0.14 sets no PRAGMA, so it runs SQLite's
defaults, a rollback journal with synchronous=FULL (the run checks that default in Isso's venv).

Isso 0.14 has no Akismet support, so stock Isso never calls the stand-in. The run therefore also
measures, for reference only, Isso with a synchronous Akismet check added through its own
before-save signal (bench/isso_sync_akismet.py), which is how request-path checking behaves.
Isso lives in its own venv (bench/.venv-isso, created on first run) so it cannot disturb Hubbub's.
Raw results go to bench/results/service-<time>.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import loadgen  # noqa: E402  (bench/loadgen.py, beside this file)
import procgroup  # noqa: E402

ISSO_VERSION = "0.14.0"
SITE_PARTS = ("content", "pelicanconf.py", "publishconf.py")
SITE_ORIGIN = "http://127.0.0.1:8000"  # SITEURL in pelicanconf.py; only sent as Origin/Referer
AKISMET_LATENCY = 0.3
THREAD_SIZE = 100
# Same process model for both services: what a small production deployment on 2 cores runs.
GUNICORN_ARGS = ["--workers", "2", "--threads", "4", "--worker-class", "gthread", "--keep-alive", "75",
                 "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning"]
GOAL_POST_RATIO, GOAL_POST_P99_MS, GOAL_GET_RATIO = 2.0, 100.0, 100.0
SERVERS = {"gunicorn": "gunicorn, 2 workers x 4 threads",
           "serve": "default servers: `hubbub serve` / `isso run` (one process each)"}
BIN = Path(sys.executable).parent  # Hubbub's venv: gunicorn and the hubbub command
SQLITE_SYNCHRONOUS = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                      "print(c.execute('PRAGMA journal_mode').fetchone()[0], c.execute('PRAGMA synchronous').fetchone()[0])")
ISSO_INIT_DB = ("import os; from isso import config, db; "
                "c = config.load(config.default_file(), os.environ['ISSO_SETTINGS']); "
                "db.SQLite3(c.get('general', 'dbpath'), c)")

# Each POST is a new comment (@N@: unique number) from one of 200 regular commenters (@K@), as on
# a busy site. (With a new email every time, Isso's per-process hash cache passes 1024 entries and
# its pruning, not thread-safe, fails some requests with a 500 under gunicorn's threads.)
COMMENT_TEXT = ("Comment @N@: I tried the *breakfast* approach with [my local group](https://example.org/groups) "
                "and it **worked**: three referrals in a month.\n\n"
                "What I would add:\n\n- follow up within a day\n- bring `printed` cards, people still take them")


class BenchError(Exception):
    """The benchmark could not run; the message says what to fix."""


# Setup ----------------------------------------------------------------------------------------
def ensure_isso_venv(venv: Path) -> Path:
    """bench/.venv-isso with isso==0.14.0 and gunicorn, created on first use."""
    python = venv / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('isso'))"]
    if python.exists() and (venv / "bin" / "gunicorn").exists():
        found = subprocess.run(probe, capture_output=True, text=True).stdout.strip()
        if found == ISSO_VERSION:
            return venv
    print(f"setting up {venv} with isso=={ISSO_VERSION} and gunicorn (once)...", flush=True)
    # The interpreter Hubbub's venv is built on, so both sides run the same Python.
    base = getattr(sys, "_base_executable", None) or shutil.which("python3") or "python3"
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"isso=={ISSO_VERSION}", "gunicorn"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"could not install Isso into {venv}:\n{done.stderr[-2000:]}\n"
                         "Delete the directory and try again, with PyPI reachable.")
    return venv


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def thread_comments(n: int = THREAD_SIZE) -> list[dict]:
    """The GET thread's comments, identical in substance on both sides."""
    start = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    return [{
        "author": f"Reader {i}", "email": f"reader{i}@example.org",
        "website": f"https://example.org/~reader{i}" if i % 3 == 0 else "",
        "text": COMMENT_TEXT.replace("@N@", str(i)), "created": start + dt.timedelta(minutes=7 * i),
    } for i in range(1, n + 1)]


def prepare_site(work: Path) -> dict:
    """A built copy of the project's site whose first thread has 100 published comments."""
    from comments_service import markup
    from hubbub.core import identity

    site = work / "site"
    site.mkdir(parents=True)
    for part in SITE_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, site / part, ignore=shutil.ignore_patterns("__pycache__", "*.json", ".salt"))
        else:
            shutil.copy2(src, site / part)
    # Build once to learn the articles, then publish the thread file (the documented format) and
    # build again, so the build itself checks the file.
    _build(site)
    slugs = sorted(_manifest_threads(site))
    if len(slugs) < 2:
        raise BenchError(f"the site has {len(slugs)} article(s) in its manifest; the bench needs two")
    get_slug, post_slug = slugs[0], slugs[1]
    salt = identity.site_salt(site)
    comments = [{
        "id": i, "parent": None, "author": c["author"], "url": c["website"], "html": markup.render(c["text"]),
        "created": c["created"].isoformat(), "author_key": identity.author_key(c["email"], salt),
    } for i, c in enumerate(thread_comments(), start=1)]
    thread_file = site / "content" / "comments" / f"{get_slug}.json"
    thread_file.parent.mkdir(parents=True, exist_ok=True)
    thread_file.write_text(json.dumps({"thread": get_slug, "comments": comments}, ensure_ascii=False))
    _build(site)
    threads = _manifest_threads(site)
    return {
        "dir": site,
        "get": {"slug": get_slug, "uri": "/" + threads[get_slug]["url"].lstrip("/"), "title": threads[get_slug]["title"]},
        "post": {"slug": post_slug, "uri": "/" + threads[post_slug]["url"].lstrip("/"),
                 "title": threads[post_slug]["title"]},
    }


def _build(site: Path) -> None:
    from hubbub.build import BuildError, build_site

    try:
        build_site(site)
    except BuildError as exc:
        raise BenchError(f"the site copy in {site} does not build: {exc}") from exc


def _manifest_threads(site: Path) -> dict:
    path = site / "output" / ".hubbub" / "manifest.json"
    try:
        return json.loads(path.read_text())["threads"]
    except (OSError, ValueError, KeyError) as exc:
        raise BenchError(f"the build wrote no usable thread manifest at {path} ({exc}): "
                         "plugins/comments.py must write output/.hubbub/manifest.json") from exc


# Processes ------------------------------------------------------------------------------------
class Process:
    """A server started in its own session, so that stopping it stops its workers too."""

    def __init__(self, name: str, cmd: list[str], env: dict, log: Path, cwd: Path):
        self.name, self.cmd, self.env, self.log, self.cwd = name, cmd, env, log, cwd
        self.proc: subprocess.Popen | None = None

    def start(self, ready_url: str, timeout: float = 60.0) -> None:
        if not Path(self.cmd[0]).exists():
            raise BenchError(f"{self.cmd[0]} not found: install the project with `make test` (Hubbub) "
                             "or delete bench/.venv-isso to have it made again (Isso)")
        with open(self.log, "ab") as fh:
            self.proc = subprocess.Popen(self.cmd, env=self.env, cwd=self.cwd, stdout=fh, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited with {self.proc.returncode} while starting; "
                                 f"its log:\n{self.log.read_text()[-3000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if http_get(ready_url, timeout=2)[0] == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise BenchError(f"{self.name} did not answer {ready_url} within {timeout:.0f} s; see {self.log}")

    def stop(self) -> None:
        if self.proc is not None:
            procgroup.stop(self.proc)


def group_cpu_seconds(pgid: int) -> float:
    """User + system CPU of every live process in a process group (a gunicorn master and its workers)."""
    total = sum(int(fields[11]) + int(fields[12]) for _pid, fields in procgroup.members(pgid))
    return total / os.sysconf("SC_CLK_TCK")


def http_request(method: str, url: str, body: bytes | None = None, headers: dict | None = None,
                 timeout: float = 10.0) -> tuple[int, bytes]:
    """One request on a fresh connection (setup and checks; the load itself goes through loadgen)."""
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    conn = http.client.HTTPConnection(host, int(port or 80), timeout=timeout)
    try:
        conn.request(method, "/" + path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def http_get(url: str, timeout: float = 10.0, headers: dict | None = None) -> tuple[int, bytes]:
    return http_request("GET", url, headers=headers, timeout=timeout)


def http_post(url: str, body: bytes, headers: dict, timeout: float = 10.0) -> tuple[int, bytes]:
    return http_request("POST", url, body, headers, timeout)


class AkismetStandIn:
    """tests/akismet_server.py in its own process, so the load generator never slows its answers."""

    def __init__(self, work: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = Process("akismet stand-in", [
            sys.executable, str(ROOT / "tests" / "akismet_server.py"), "--port", str(self.port),
            "--latency", str(AKISMET_LATENCY), "--max-records", "200000"],
            dict(os.environ), work / "akismet.log", ROOT)

    def start(self) -> None:
        self.process.start(self.url + "/_control/requests")

    def reset(self) -> None:
        http_post(self.url + "/_control/reset", b"", {"Content-Type": "application/x-www-form-urlencoded"})

    def comment_checks(self) -> int:
        status, body = http_get(self.url + "/_control/requests", timeout=30)
        return sum(1 for r in json.loads(body) if r["endpoint"] == "comment-check") if status == 200 else -1


# The systems ----------------------------------------------------------------------------------
class System:
    """One service under test: how to start it on a fresh database, and its two requests."""

    name = ""
    label = ""
    expected_post_status = 202
    measure_get = True

    def __init__(self, work: Path, site: dict, akismet: AkismetStandIn, server: str = "gunicorn"):
        self.work, self.site, self.akismet, self.server = work, site, akismet, server
        self.key = f"{self.name}@{server}"  # how results are filed
        self.port = 0
        self.process: Process | None = None
        self.data: Path | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, round_no: int) -> None:
        self.port = free_port()
        self.data = self.work / f"{self.name}-{self.server}-{round_no}"
        self.data.mkdir()
        self.process = self._process()
        self.process.start(self.ready_url())
        self.seed()

    def stop(self) -> None:
        if self.process:
            self.process.stop()

    def post_headers(self) -> dict:
        return {"Content-Type": "application/json", "Origin": SITE_ORIGIN,
                "Referer": SITE_ORIGIN + self.site["post"]["uri"], "User-Agent": "hubbub-bench/1 (loadgen)"}

    def get_headers(self) -> dict:
        return {"Accept": "application/json", "User-Agent": "hubbub-bench/1 (loadgen)"}

    def seed(self) -> None:
        """Make the GET thread hold the 100 published comments."""

    def _process(self) -> Process:
        """The server process, not yet started."""
        raise NotImplementedError

    def ready_url(self) -> str:
        """A URL that answers 200 once the server is up."""
        raise NotImplementedError

    def get_url(self) -> str:
        """The 100-comment thread."""
        raise NotImplementedError

    def post_url(self) -> str:
        """Where new comments of the POST thread go."""
        raise NotImplementedError

    def post_body(self) -> str:
        """A JSON comment with loadgen placeholders."""
        raise NotImplementedError

    def thread_size(self, body: bytes) -> int:
        """How many comments a GET answer holds."""
        raise NotImplementedError

    def stored_comments(self) -> int:
        """Comments of the POST thread in the database."""
        raise NotImplementedError


class Hubbub(System):
    name, label = "hubbub", "Hubbub"

    def _process(self) -> Process:
        env = {
            **os.environ,
            "HUBBUB_SITE_DIR": str(self.site["dir"]),
            "HUBBUB_INSTANCE_DIR": str(self.data / "instance"),
            "HUBBUB_DATABASE_URL": f"sqlite:///{self.data / 'hubbub.db'}",
            "HUBBUB_SECRET_KEY": "bench-secret-key-not-for-production",
            "HUBBUB_RATE_LIMIT": "1000000/minute",
            "PYTHON_AKISMET_API_KEY": "test-key",
            "PYTHON_AKISMET_BLOG_URL": "http://127.0.0.1/",
            "HUBBUB_AKISMET_ENDPOINT": self.akismet.url,
        }
        env.pop("HUBBUB_QUEUE_URL", None)  # in-process jobs: the default deployment
        if self.server == "serve":
            cmd = [str(BIN / "hubbub"), "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        else:
            cmd = [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", *GUNICORN_ARGS,
                   "comments_service:create_app()"]
        return Process(f"Hubbub ({self.server})", cmd, env, self.data / "server.log", self.site["dir"])

    def ready_url(self) -> str:
        return self.base + "/api/health"

    def get_url(self) -> str:
        return f"{self.base}/api/threads/{self.site['get']['slug']}/comments"

    def post_url(self) -> str:
        return f"{self.base}/api/threads/{self.site['post']['slug']}/comments"

    def post_body(self) -> str:
        return json.dumps({"author": "Reader @N@", "email": "regular@K@@example.org", "body": COMMENT_TEXT})

    def thread_size(self, body: bytes) -> int:
        return len(json.loads(body)["comments"])

    def stored_comments(self) -> int:
        with contextlib.closing(sqlite3.connect(self.data / "hubbub.db")) as db:
            return db.execute("SELECT count(*) FROM comments WHERE thread = ?", (self.site["post"]["slug"],)).fetchone()[0]


class Isso(System):
    name, label = "isso", "Isso 0.14"
    app = "isso.run:application"

    def __init__(self, work, site, akismet, venv: Path, guard: bool = False, server: str = "gunicorn"):
        super().__init__(work, site, akismet, server)
        self.venv = venv
        self.guard = guard

    def _process(self) -> Process:
        template = string.Template((BENCH / "isso.cfg.template").read_text())
        cfg = self.data / "isso.cfg"
        cfg.write_text(template.substitute(dbpath=self.data / "isso.db", site_origin=SITE_ORIGIN,
                                           public_endpoint=self.base, listen=self.base + "/",
                                           guard="true" if self.guard else "false"))
        env = {**os.environ, "ISSO_SETTINGS": str(cfg), "BENCH_AKISMET_ENDPOINT": self.akismet.url}
        env.pop("PYTHONPATH", None)
        # Create the schema and session key once, before the workers start, so that two workers never
        # race to initialise a fresh database. No --preload: with moderation on, Isso starts a purge
        # thread that takes its lock at start-up, and a worker forked while it is held hangs forever.
        init = subprocess.run([str(self.venv / "bin" / "python"), "-c", ISSO_INIT_DB], env=env,
                              capture_output=True, text=True)
        if init.returncode != 0:
            raise BenchError(f"could not create Isso's database: {init.stderr[-2000:]}")
        if self.server == "serve":
            cmd = [str(self.venv / "bin" / "isso"), "-c", str(cfg), "run"]
        else:
            cmd = [str(self.venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", *GUNICORN_ARGS,
                   "--pythonpath", str(BENCH), self.app]
        return Process(f"{self.label} ({self.server})", cmd, env, self.data / "server.log", self.data)

    def ready_url(self) -> str:
        return self.base + "/info"

    def get_url(self) -> str:
        return f"{self.base}/?uri={quote(self.site['get']['uri'], safe='')}"

    def post_url(self) -> str:
        return f"{self.base}/new?uri={quote(self.site['post']['uri'], safe='')}"

    def post_body(self) -> str:
        return json.dumps({"author": "Reader @N@", "email": "regular@K@@example.org", "text": COMMENT_TEXT,
                           "title": self.site["post"]["title"]})

    def seed(self) -> None:
        """Post the 100 comments through Isso's API, then approve them (they were held for moderation).

        One comment also goes to the POST thread first: Isso creates a thread on its first comment,
        and two workers doing that at once collide (UNIQUE constraint, a 500). Hubbub's threads
        exist before any comment, so this keeps the POST phase about posting comments.
        """
        url = f"{self.base}/new?uri={quote(self.site['get']['uri'], safe='')}"
        headers = {"Content-Type": "application/json", "Origin": SITE_ORIGIN}
        first = {"author": "Seed", "email": "seed@example.org", "text": "The first comment of this thread.",
                 "title": self.site["post"]["title"]}
        status, answer = http_post(self.post_url(), json.dumps(first).encode(), headers)
        if status not in (201, 202):
            raise BenchError(f"Isso refused the first comment of the POST thread: {status} {answer[:300]!r}")
        if not self.measure_get:
            return
        for c in thread_comments():
            body = {"author": c["author"], "email": c["email"], "text": c["text"], "title": self.site["get"]["title"]}
            if c["website"]:
                body["website"] = c["website"]
            status, answer = http_post(url, json.dumps(body).encode(), headers)
            if status not in (201, 202):
                raise BenchError(f"Isso refused a seed comment: {status} {answer[:300]!r}")
        # Approving = what Isso's activate link does: mode 2 (held) -> 1 (public).
        with contextlib.closing(sqlite3.connect(self.data / "isso.db")) as db, db:
            db.execute("UPDATE comments SET mode = 1 WHERE tid = (SELECT id FROM threads WHERE uri = ?)",
                       (self.site["get"]["uri"],))

    def thread_size(self, body: bytes) -> int:
        return len(json.loads(body)["replies"])

    def stored_comments(self) -> int:
        with contextlib.closing(sqlite3.connect(self.data / "isso.db")) as db:
            return db.execute("SELECT count(*) FROM comments WHERE tid = (SELECT id FROM threads WHERE uri = ?)",
                              (self.site["post"]["uri"],)).fetchone()[0]


class IssoSyncAkismet(Isso):
    name, label = "isso_sync", "Isso 0.14 + sync Akismet (reference)"
    app = "isso_sync_akismet:application"
    measure_get = False  # the same GET code as stock Isso


# Measuring ------------------------------------------------------------------------------------
def measure(system: System, round_no: int, args) -> dict:
    started = time.monotonic()
    system.start(round_no)
    try:
        result: dict = {"system": system.key, "round": round_no}
        if system.measure_get:
            status, body = http_get(system.get_url(), headers=system.get_headers())
            size = system.thread_size(body) if status == 200 else -1
            if size != THREAD_SIZE:
                raise BenchError(f"{system.label}: GET thread answered {status} with {size} comments, "
                                 f"expected 200 with {THREAD_SIZE}: {body[:300]!r}")
            result["get_body_bytes"] = len(body)
            load(system, "GET", args.warmup, args)
            result["get"] = load(system, "GET", args.duration, args)
            result["get"]["valid"] = _valid(result["get"], 200)
        before = system.stored_comments()
        system.akismet.reset()
        warm = load(system, "POST", args.warmup, args)
        post = load(system, "POST", args.duration, args)
        post["valid"] = _valid(post, system.expected_post_status) and _valid(warm, system.expected_post_status)
        post["akismet_checks_during_post"] = system.akismet.comment_checks()
        accepted = warm["statuses"].get(system.expected_post_status, 0) + post["statuses"].get(
            system.expected_post_status, 0)
        post["accepted"] = accepted
        post["stored"] = system.stored_comments() - before
        # wrk stops counting at the deadline, so a request in flight then is stored but not counted.
        if not accepted <= post["stored"] <= accepted + 2 * args.connections:
            post["valid"] = False
            print(f"  ! {system.label}: {accepted} POSTs accepted but {post['stored']} comments stored", flush=True)
        result["post"] = post
    finally:
        system.stop()
    result["seconds"] = time.monotonic() - started
    summary = []
    for kind in ("get", "post"):
        if kind in result:
            r = result[kind]
            summary.append(f"{kind.upper()} {r['rate']:7.1f}/s p99 {r['latency_ms']['p99']:7.1f} ms "
                           f"cpu {r['server_cpu_ms_per_request']:5.2f} ms/req")
    summary.append(f"akismet calls {result['post']['akismet_checks_during_post']}")
    print(f"  round {round_no} {system.label + ' (' + system.server + ')':<48} " + " | ".join(summary), flush=True)
    return result


def load(system: System, method, duration, args) -> dict:
    """One phase of load on `system`, with the server's CPU time and the machine's load around it."""
    if method == "GET":
        url, body, headers = system.get_url(), None, system.get_headers()
    else:
        url, body, headers = system.post_url(), system.post_body(), system.post_headers()
    pgid = system.process.proc.pid
    cpu_before, load_before = group_cpu_seconds(pgid), os.getloadavg()[0]
    result = loadgen.run(url, method=method, body=body, headers=headers, connections=args.connections,
                         duration=duration, engine=args.engine)
    cpu = group_cpu_seconds(pgid) - cpu_before
    result["server_cpu_seconds"] = cpu
    result["server_cpu_ms_per_request"] = 1000.0 * cpu / result["requests"] if result["requests"] else None
    result["loadavg_1min"] = [load_before, os.getloadavg()[0]]
    return result


def _valid(result: dict, expected: int) -> bool:
    wrong = {code: n for code, n in result["statuses"].items() if code != expected}
    if wrong or result["transport_errors"]:
        print(f"  ! unexpected answers {wrong} / transport errors {result['transport_errors']} "
              f"(expected only {expected})", flush=True)
        return False
    return result["requests"] > 0


def medians(rounds: list[dict], system: str) -> dict:
    mine = [r for r in rounds if r["system"] == system]
    out = {}
    for kind in ("get", "post"):
        runs = [r[kind] for r in mine if kind in r]
        if runs:
            out[kind] = {
                "rate": statistics.median(x["rate"] for x in runs),
                "p50_ms": statistics.median(x["latency_ms"]["p50"] for x in runs),
                "p99_ms": statistics.median(x["latency_ms"]["p99"] for x in runs),
                "cpu_ms_per_request": statistics.median(x["server_cpu_ms_per_request"] for x in runs),
                "valid": all(x["valid"] for x in runs),
                "rounds": len(runs),
            }
            if kind == "post":
                out[kind]["akismet_calls"] = statistics.median(x["akismet_checks_during_post"] for x in runs)
    return out


def goals_of(h: dict, i: dict) -> dict:
    post_ratio = h["post"]["rate"] / i["post"]["rate"]
    get_ratio = h["get"]["rate"] / i["get"]["rate"]
    return {
        "post_ratio": post_ratio, "post_ratio_met": post_ratio >= GOAL_POST_RATIO,
        "post_p99_ms": h["post"]["p99_ms"], "post_p99_met": h["post"]["p99_ms"] <= GOAL_POST_P99_MS,
        "get_ratio": get_ratio, "get_ratio_met": get_ratio >= GOAL_GET_RATIO,
    }


def report(summary: dict, server: str) -> str:
    h, i, s = summary[f"hubbub@{server}"], summary[f"isso@{server}"], summary.get(f"isso_sync@{server}")
    goals = summary["goals"][server]

    def row(name, a, b, ratio="", goal=""):
        return f"{name:<18}{a:>14}{b:>14}{ratio:>10}   {goal}"

    mark = {True: "MET", False: "NOT MET"}
    lines = [f"Under {SERVERS[server]}:", row("", "Hubbub", "Isso 0.14", "ratio", "goal"),
             row("POST req/s", f"{h['post']['rate']:.1f}", f"{i['post']['rate']:.1f}",
                 f"{goals['post_ratio']:.2f}x", f">= {GOAL_POST_RATIO:g}x: {mark[goals['post_ratio_met']]}"),
             row("POST p50 (ms)", f"{h['post']['p50_ms']:.1f}", f"{i['post']['p50_ms']:.1f}"),
             row("POST p99 (ms)", f"{h['post']['p99_ms']:.1f}", f"{i['post']['p99_ms']:.1f}", "",
                 f"Hubbub <= {GOAL_POST_P99_MS:g} ms: {mark[goals['post_p99_met']]}"),
             row("POST cpu ms/req", f"{h['post']['cpu_ms_per_request']:.2f}", f"{i['post']['cpu_ms_per_request']:.2f}",
                 f"{i['post']['cpu_ms_per_request'] / h['post']['cpu_ms_per_request']:.2f}x", "(server CPU; Isso/Hubbub)"),
             row("GET req/s", f"{h['get']['rate']:.1f}", f"{i['get']['rate']:.1f}",
                 f"{goals['get_ratio']:.1f}x", f">= {GOAL_GET_RATIO:g}x: {mark[goals['get_ratio_met']]}"),
             row("GET p50 (ms)", f"{h['get']['p50_ms']:.2f}", f"{i['get']['p50_ms']:.2f}"),
             row("GET p99 (ms)", f"{h['get']['p99_ms']:.2f}", f"{i['get']['p99_ms']:.2f}"),
             row("GET cpu ms/req", f"{h['get']['cpu_ms_per_request']:.3f}", f"{i['get']['cpu_ms_per_request']:.2f}",
                 f"{i['get']['cpu_ms_per_request'] / h['get']['cpu_ms_per_request']:.0f}x", "(server CPU; Isso/Hubbub)")]
    if s:
        ratio = h["post"]["rate"] / s["post"]["rate"] if s["post"]["rate"] else float("inf")
        lines += ["", "Reference: Isso 0.14 with a synchronous Akismet check (300 ms) in its before-save hook",
                  row("POST req/s", f"{h['post']['rate']:.1f}", f"{s['post']['rate']:.1f}", f"{ratio:.1f}x"),
                  row("POST p99 (ms)", f"{h['post']['p99_ms']:.1f}", f"{s['post']['p99_ms']:.1f}")]
    lines += ["", "Akismet stand-in calls during a POST phase (warm-up + measured, median): "
              f"Hubbub {h['post']['akismet_calls']:g} (background checks), Isso {i['post']['akismet_calls']:g}"
              + (f", Isso + sync Akismet {s['post']['akismet_calls']:g}" if s else "")
              + ". Isso 0.14 has no Akismet support."]
    invalid = [f"{name} {kind}" for name, m in (("Hubbub", h), ("Isso", i), ("Isso+sync", s or {}))
               for kind, v in m.items() if not v["valid"]]
    if invalid:
        lines += ["", "WARNING: unexpected answers in " + ", ".join(invalid) + ": those figures are not valid."]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Hubbub vs Isso 0.14 on loopback (see the module docstring).")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of measured load per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load before each phase")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of A/B (the median is reported)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--engine", choices=("auto", "wrk", "python"), default="auto",
                        help="load generator: wrk if installed (auto), else Python threads")
    parser.add_argument("--no-reference", action="store_true",
                        help="skip the Isso + synchronous Akismet reference measurement")
    parser.add_argument("--servers", default="gunicorn,serve",
                        help="comma-separated: gunicorn (both under the same gunicorn settings), serve "
                             "(`hubbub serve` and `isso run`, each project's default server)")
    parser.add_argument("--isso-venv", type=Path, default=BENCH / ".venv-isso")
    parser.add_argument("--isso-guard", action="store_true",
                        help="turn Isso's per-address guard on (limits raised); see bench/isso.cfg.template")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work directory (logs, databases)")
    parser.add_argument("--check-goals", action="store_true", help="exit 3 when a goal is not met")
    args = parser.parse_args(argv)
    servers = [name.strip() for name in args.servers.split(",") if name.strip()]
    if not servers or set(servers) - set(SERVERS):
        parser.error(f"--servers takes a comma-separated list of {', '.join(SERVERS)}")

    engine = args.engine if args.engine != "auto" else ("wrk" if loadgen.wrk_available() else "python")
    args.engine = engine
    if engine == "python":
        print("note: wrk not found (apt-get install wrk); the Python load generator takes CPU from the servers, "
              "so high rates read low", flush=True)
    venv = ensure_isso_venv(args.isso_venv)
    isso_sqlite = isso_sqlite_defaults(venv)
    print(f"durability: Hubbub WAL + synchronous=FULL; Isso (sets no PRAGMA) SQLite's defaults in its venv: "
          f"journal_mode={isso_sqlite[0]}, synchronous={isso_sqlite[1]} (2 = FULL)", flush=True)
    work = Path(tempfile.mkdtemp(prefix="hubbub-bench-"))
    started = time.time()
    akismet = AkismetStandIn(work)
    try:
        print(f"building the site in {work} ...", flush=True)
        site = prepare_site(work)
        akismet.start()
        systems = []
        for server in servers:
            systems += [Hubbub(work, site, akismet, server), Isso(work, site, akismet, venv, args.isso_guard, server)]
            if server == "gunicorn" and not args.no_reference:
                systems.append(IssoSyncAkismet(work, site, akismet, venv, args.isso_guard, server))
        print(f"{args.rounds} rounds, {args.connections} connections, {args.duration:g} s per phase "
              f"(+{args.warmup:g} s warm-up), load generator: {engine}", flush=True)
        rounds = []
        for n in range(1, args.rounds + 1):
            order = systems if n % 2 else list(reversed(systems))  # A B, B A, ...: drift hits both
            for system in order:
                rounds.append(measure(system, n, args))
    except (BenchError, loadgen.LoadError, OSError, http.client.HTTPException) as exc:
        print(f"benchmark failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        print(f"logs kept in {work}", file=sys.stderr)
        return 1
    finally:
        akismet.process.stop()

    summary = {system.key: medians(rounds, system.key) for system in systems}
    summary["goals"] = {server: goals_of(summary[f"hubbub@{server}"], summary[f"isso@{server}"]) for server in servers}
    table = "\n\n".join(report(summary, server) for server in servers)
    print("\n" + table)

    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out = results / f"service-{stamp}.json"
    out.write_text(json.dumps({
        "benchmark": "comment service: Hubbub vs Isso 0.14",
        "started": dt.datetime.fromtimestamp(started).isoformat(), "seconds": time.time() - started,
        "settings": {"duration": args.duration, "warmup": args.warmup, "rounds": args.rounds,
                     "connections": args.connections, "engine": engine, "gunicorn": GUNICORN_ARGS,
                     "akismet_latency": AKISMET_LATENCY, "thread_size": THREAD_SIZE,
                     "isso_guard": args.isso_guard, "servers": servers,
                     "isso_sqlite_defaults": {"journal_mode": isso_sqlite[0], "synchronous": isso_sqlite[1]}},
        "machine": {"cpus": os.cpu_count(), "loadavg_end": os.getloadavg(), "python": platform.python_version(),
                    "platform": platform.platform(), "git_commit": _git_commit()},
        "threads": {"get": site["get"], "post": site["post"]},
        "summary": summary, "rounds": rounds, "table": table,
    }, indent=2, default=str))
    print(f"\nraw results: {out.relative_to(ROOT)}  ({time.time() - started:.0f} s)")
    if args.keep:
        print(f"work directory kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    valid = all(v["valid"] for system in systems if not isinstance(system, IssoSyncAkismet)
                for v in summary[system.key].values())
    if not valid:
        return 2
    judged = summary["goals"].get("gunicorn") or summary["goals"][servers[0]]
    if args.check_goals and not all(judged[k] for k in ("post_ratio_met", "post_p99_met", "get_ratio_met")):
        return 3
    return 0


def isso_sqlite_defaults(venv: Path) -> tuple[str, str]:
    """(journal_mode, synchronous) of a fresh SQLite connection in Isso's Python: what Isso runs with."""
    with tempfile.TemporaryDirectory() as tmp:
        found = subprocess.run([str(venv / "bin" / "python"), "-c", SQLITE_SYNCHRONOUS, str(Path(tmp) / "probe.db")],
                               capture_output=True, text=True)
    parts = found.stdout.split()
    return (parts[0], parts[1]) if found.returncode == 0 and len(parts) == 2 else ("unknown", "unknown")


def _git_commit() -> str:
    found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return found.stdout.strip() or "unknown"


if __name__ == "__main__":
    sys.exit(main())
