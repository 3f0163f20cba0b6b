"""Soak test: a steady mixed load on the real service for a long while; nothing lost, no leak.

    .venv/bin/python bench/soak.py                 # 10 minutes
    .venv/bin/python bench/soak.py --minutes 1     # a quick check that it works

Starts the service as production runs it (gunicorn, 2 workers x 4 threads, `comments_service:
create_app()`, in-process jobs, SQLite unless --database-url) on a built copy of the project's
site, with the Akismet stand-in (tests/akismet_server.py, answering after 300 ms), and sends
requests at a fixed rate (open loop: the next request leaves on time whether or not the last one
was answered), mixed as MIX says: thread JSON, static pages, new comments (some from returning
commenters, which publish at once, some spam), and a moderator who lists the pending comments
through the moderation API and approves them, so that the service keeps publishing.

At the end, when the jobs are done, it checks that nothing was lost: every comment answered 202
is in the database, and every published one is on its article's static page. It prints the
requests, errors, lost comments and the resident memory of the gunicorn processes after the
warm-up and at the end (goal: growth <= 10%). Exit status 2 when a request failed or a comment
was lost. Raw figures go to bench/results/soak-<time>.json.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(ROOT))

import procgroup  # noqa: E402  (bench/procgroup.py, beside this file)
from bench_service import (  # noqa: E402  (bench/bench_service.py, beside this file)
    COMMENT_TEXT,
    GUNICORN_ARGS,
    SITE_ORIGIN,
    AkismetStandIn,
    BenchError,
    Process,
    free_port,
    http_get,
    prepare_site,
)

# What each request of the load is, by weight.
MIX = {"thread": 50, "page": 20, "post": 20, "moderate": 10}
SPAM_SHARE = 0.05  # of the posts: the stand-in's documented spam trigger
REGULARS = 40  # commenters who come back: once one of theirs is approved, the next publish at once
EMAIL = "soak@example.org"
PASSWORD = "soak-test-password-not-for-production"
GOAL_GROWTH = 10.0  # % of resident memory, end against after warm-up
PERIODIC = ("retention", "notify-digest", "webmention-scan")


class Tally:
    """Answers by kind, latencies and what the checks at the end need; shared by the senders."""

    def __init__(self):
        self.lock = threading.Lock()
        self.requests: dict[str, int] = dict.fromkeys(MIX, 0)
        self.errors: list[str] = []
        self.latency_ms: dict[str, list[float]] = {k: [] for k in MIX}
        self.accepted: list[int] = []  # ids answered 202
        self.approved: list[int] = []
        self.late = 0  # requests that left more than a second after their time (the sender fell behind)

    def record(self, kind: str, ms: float, error: str | None = None) -> None:
        with self.lock:
            self.requests[kind] += 1
            self.latency_ms[kind].append(ms)
            if error:
                self.errors.append(f"{kind}: {error}")


class Client:
    """Keep-alive HTTP per sender thread."""

    def __init__(self, port: int):
        self.port = port
        self.local = threading.local()

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        data = json.dumps(body).encode() if body is not None else None
        try:
            conn.request(method, path, body=data, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException):
            conn.close()
            self.local.conn = None
            raise


class Load:
    """The requests of the mix, each checking its own answer."""

    def __init__(self, client: Client, site: dict, threads: dict, token: str, tally: Tally):
        self.client, self.tally, self.token = client, tally, token
        self.slugs = sorted(threads)
        self.pages = ["/", *("/" + threads[s]["url"].lstrip("/") for s in self.slugs)]
        self.read_slugs = [site["get"]["slug"], *self.slugs]  # the 100-comment thread, and the rest
        self.counter = 0
        self.count_lock = threading.Lock()

    def _timed(self, kind: str, fn) -> None:
        t0 = time.perf_counter()
        try:
            error = fn()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        self.tally.record(kind, (time.perf_counter() - t0) * 1000, error)

    def thread(self) -> None:
        slug = random.choice(self.read_slugs)

        def go():
            status, body = self.client.request("GET", f"/api/threads/{slug}/comments", headers={"Accept": "application/json"})
            return None if status == 200 and "comments" in json.loads(body) else f"GET thread {slug}: {status}"
        self._timed("thread", go)

    def page(self) -> None:
        path = random.choice(self.pages)

        def go():
            status, body = self.client.request("GET", path)
            return None if status == 200 and b"</html>" in body else f"GET {path}: {status}"
        self._timed("page", go)

    def post(self) -> None:
        with self.count_lock:
            self.counter += 1
            n = self.counter
        slug = self.slugs[n % len(self.slugs)]
        spam = random.random() < SPAM_SHARE
        comment = {"author": "akismet-guaranteed-spam" if spam else f"Reader {n % REGULARS}",
                   "email": f"regular{n % REGULARS}@example.org", "body": COMMENT_TEXT.replace("@N@", str(n))}
        headers = {"Content-Type": "application/json", "Origin": SITE_ORIGIN, "Referer": SITE_ORIGIN + "/",
                   "User-Agent": "hubbub-soak/1"}

        def go():
            status, body = self.client.request("POST", f"/api/threads/{slug}/comments", comment, headers)
            if status != 202:
                return f"POST {slug}: {status} {body[:200]!r}"
            with self.tally.lock:
                self.tally.accepted.append(json.loads(body)["id"])
            return None
        self._timed("post", go)

    def moderate(self) -> None:
        auth = {"Authorization": f"Bearer {self.token}"}

        def go():
            status, body = self.client.request("GET", "/api/moderation/comments?status=pending&limit=3", headers=auth)
            if status != 200:
                return f"list pending: {status}"
            for c in json.loads(body)["comments"]:
                status, body = self.client.request("POST", f"/api/moderation/comments/{c['id']}/approve", headers=auth)
                if status != 200:
                    return f"approve {c['id']}: {status} {body[:200]!r}"
                with self.tally.lock:
                    self.tally.approved.append(c["id"])
            return None
        self._timed("moderate", go)


def gunicorn_rss_mb(pgid: int) -> float:
    """Resident memory of the gunicorn master and workers (not of short-lived children they start)."""
    total = 0
    for pid, _fields in procgroup.members(pgid):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                if b"gunicorn" not in fh.read():
                    continue
            with open(f"/proc/{pid}/status") as fh:
                total += next(int(line.split()[1]) for line in fh if line.startswith("VmRSS:"))
        except (OSError, StopIteration):  # gone meanwhile
            continue
    return total / 1024


def hubbub_cli(env: dict, *args: str, stdin: str = "") -> str:
    done = subprocess.run([sys.executable, "-m", "hubbub", *args], env=env, input=stdin, capture_output=True,
                          text=True, cwd=env["HUBBUB_SITE_DIR"])
    if done.returncode != 0:
        raise BenchError(f"hubbub {' '.join(args)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def run_load(load: Load, mix: dict, rate: float, seconds: float, sample, tally: Tally) -> None:
    """Send requests at `rate` per second for `seconds`, in the mix's proportions, from a pool of senders."""
    kinds = [k for k, w in mix.items() for _ in range(w)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        start = time.monotonic()
        n = 0
        next_sample = start
        while (now := time.monotonic()) - start < seconds:
            due = start + n / rate
            if now < due:
                time.sleep(min(due - now, 0.05))
                continue
            if now - due > 1.0:
                tally.late += 1
            pool.submit(getattr(load, random.choice(kinds)))
            n += 1
            if now >= next_sample:
                sample(now - start)
                next_sample += 2.0


def wait_for_jobs(engine, timeout: float) -> int:
    """Wait until no job but the periodic ones is due soon; returns how many are left."""
    from sqlalchemy import text

    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            left = conn.execute(text(
                "SELECT count(*) FROM jobs WHERE kind NOT IN ('retention', 'notify-digest', 'webmention-scan') "
                "AND attempts < 25")).scalar()
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(1)


def check_nothing_lost(engine, port: int, threads: dict, tally: Tally) -> dict:
    from sqlalchemy import text

    with engine.connect() as conn:
        stored = {row.id: (row.thread, row.status) for row in conn.execute(text("SELECT id, thread, status FROM comments"))}
    lost = sorted(set(tally.accepted) - set(stored))
    published = [(i, stored[i][0]) for i in tally.accepted if i in stored and stored[i][1] == "published"]
    pages = {}
    for slug in {t for _, t in published}:
        status, body = http_get(f"http://127.0.0.1:{port}/" + threads[slug]["url"].lstrip("/"), timeout=30)
        pages[slug] = body.decode("utf-8", "replace") if status == 200 else ""
    missing = sorted(i for i, slug in published if f'id="comment-{i}"' not in pages[slug])
    statuses: dict[str, int] = {}
    for i in tally.accepted:
        if i in stored:
            statuses[stored[i][1]] = statuses.get(stored[i][1], 0) + 1
    return {"lost": lost, "published": len(published), "missing_from_page": missing, "statuses": statuses,
            "approved": len(set(tally.approved))}


def parse_mix(text: str) -> dict[str, int]:
    mix = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        if kind.strip() not in MIX or not weight.strip().isdigit():
            raise argparse.ArgumentTypeError(f"{part!r}: use KIND=WEIGHT with KIND one of {', '.join(MIX)}")
        mix[kind.strip()] = int(weight)
    if not sum(mix.values()):
        raise argparse.ArgumentTypeError("every weight is 0: give at least one kind a weight")
    return mix


def percentile(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="how long the load runs (default 10)")
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second, all kinds (default 20)")
    parser.add_argument("--mix", type=parse_mix, default=MIX,
                        help="weights of the kinds of request, e.g. thread=50,page=50 for reads alone "
                             f"(default {','.join(f'{k}={v}' for k, v in MIX.items())})")
    parser.add_argument("--database-url", help="an empty database to use instead of a fresh SQLite file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (site, database, logs)")
    args = parser.parse_args()
    seconds = args.minutes * 60
    warmup = min(60.0, seconds / 4)
    gunicorn = Path(sys.executable).parent / "gunicorn"
    work = Path(tempfile.mkdtemp(prefix="hubbub-soak-"))
    akismet = AkismetStandIn(work)
    server = None
    try:
        print(f"building a copy of the site in {work} ...", flush=True)
        site = prepare_site(work)
        threads = json.loads((site["dir"] / "output" / ".hubbub" / "manifest.json").read_text())["threads"]
        port = free_port()
        env = {**os.environ,
               "HUBBUB_SITE_DIR": str(site["dir"]), "HUBBUB_INSTANCE_DIR": str(work / "instance"),
               "HUBBUB_DATABASE_URL": args.database_url or f"sqlite:///{work / 'hubbub.db'}",
               "HUBBUB_SECRET_KEY": "soak-secret-key-not-for-production", "HUBBUB_RATE_LIMIT": "1000000/minute",
               "PYTHON_AKISMET_API_KEY": "test-key", "PYTHON_AKISMET_BLOG_URL": "http://127.0.0.1/",
               "HUBBUB_AKISMET_ENDPOINT": akismet.url}
        env.pop("HUBBUB_QUEUE_URL", None)  # in-process jobs: the default deployment
        akismet.start()
        hubbub_cli(env, "migrate")
        hubbub_cli(env, "moderator", "add", EMAIL, "--role", "admin", "--notify", "off", "--password-stdin",
                   stdin=PASSWORD + "\n")
        token = hubbub_cli(env, "token", "create", EMAIL, "--name", "soak").strip()
        server = Process("Hubbub (gunicorn)", [str(gunicorn), "--bind", f"127.0.0.1:{port}", *GUNICORN_ARGS,
                                               "comments_service:create_app()"], env, work / "server.log", site["dir"])
        server.start(f"http://127.0.0.1:{port}/api/health")
        pgid = server.proc.pid  # its own session: the group of the master and its workers
        tally = Tally()
        load = Load(Client(port), site, threads, token, tally)
        samples: list[tuple[float, float]] = []
        print(f"soak: {args.minutes:g} min at {args.rate:g} req/s against gunicorn on :{port} "
              f"({'SQLite' if not args.database_url else args.database_url.split(':')[0]}); "
              f"memory after {warmup:.0f} s of warm-up vs at the end", flush=True)
        run_load(load, args.mix, args.rate, seconds, lambda t: samples.append((t, gunicorn_rss_mb(pgid))), tally)
        samples.append((seconds, gunicorn_rss_mb(pgid)))
        from sqlalchemy import create_engine

        engine = create_engine(env["HUBBUB_DATABASE_URL"])
        try:
            jobs_left = wait_for_jobs(engine, timeout=180)
            outcome = check_nothing_lost(engine, port, threads, tally)
        finally:
            engine.dispose()
    finally:
        if server:
            server.stop()
        akismet.process.stop()

    window = max(10.0, seconds / 10)
    warm = statistics.median([mb for t, mb in samples if warmup <= t <= warmup + window] or [samples[0][1]])
    end = statistics.median([mb for t, mb in samples if t >= seconds - window])
    growth = (end - warm) / warm * 100
    total = sum(tally.requests.values())
    print(f"requests: {total} ({', '.join(f'{k} {v}' for k, v in tally.requests.items())}), "
          f"{tally.late} sent late; errors: {len(tally.errors)}")
    for err in tally.errors[:10]:
        print(f"  {err}")
    for kind, values in tally.latency_ms.items():
        print(f"  {kind:8} p50 {percentile(values, 50):7.1f} ms  p99 {percentile(values, 99):7.1f} ms")
    print(f"comments: {len(tally.accepted)} accepted (by status now: {outcome['statuses']}), "
          f"{outcome['approved']} approved by the moderator, {len(outcome['lost'])} lost; "
          f"{outcome['published']} published, {len(outcome['missing_from_page'])} missing from their page; "
          f"{jobs_left} jobs still waiting")
    print(f"memory (RSS, gunicorn master + workers): {warm:.1f} MB after warm-up, {end:.1f} MB at the end: "
          f"{growth:+.1f}% (goal <= {GOAL_GROWTH:g}%: {'met' if growth <= GOAL_GROWTH else 'MISSED'})")
    results = BENCH / "results"
    results.mkdir(exist_ok=True)
    out = results / f"soak-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.json"
    out.write_text(json.dumps({"minutes": args.minutes, "rate": args.rate, "requests": tally.requests,
                               "errors": tally.errors, "late": tally.late, "outcome": outcome, "jobs_left": jobs_left,
                               "memory_mb": samples, "warm_mb": warm, "end_mb": end, "growth_pct": growth}, indent=1))
    print(f"raw figures: {out}")
    if args.keep:
        print(f"kept {work}")
    else:
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    failed = tally.errors or outcome["lost"] or outcome["missing_from_page"] or jobs_left
    return 2 if failed else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
