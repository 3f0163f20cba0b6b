"""CPU time of one accepted comment POST, in-process and deterministic (issue 15).

    .venv/bin/python bench/profile_post.py [-n 2000] [--profile cprofile|pyinstrument] [--akismet]

Builds a copy of the project's site as bench_service.py does, creates the service app with the
same settings (SQLite, in-process jobs, `HUBBUB_RATE_LIMIT=1000000/minute`, one client address),
and posts N new comments through Flask's test client, then runs their check jobs. It prints the
CPU seconds (time.process_time) per POST of each phase: the request itself, and the background
check the server also pays for. The test client leaves out the WSGI server (gunicorn or
Werkzeug, about 0.5 ms per request under `hubbub serve`); bench_service.py measures with it.

`--akismet` checks against tests/akismet_server.py in its own process (as the bench does, with no
latency), so its CPU is not counted; without it Akismet is off and the check only holds the comment.
`--profile` profiles the POST phase (pyinstrument must be importable: it is no dependency of the
project; `pip install --target /tmp/pyi pyinstrument` and add /tmp/pyi to PYTHONPATH).
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import json
import os
import pstats
import resource
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

import bench_service  # noqa: E402  (bench/bench_service.py: the same site, comment and headers)


class CPUSampler:
    """Where the CPU time goes: the main thread's stack, sampled every 0.5 ms of the process's CPU
    time (SIGPROF). cProfile's cost per call inflates Python-heavy code (Markdown) several times
    over; sampling costs the same wherever it lands. Only the main thread is seen: the test client
    runs each request there, and a lone request leads its own group commit."""

    def __init__(self, interval: float = 0.0005):
        self.interval = interval
        self.stacks: collections.Counter = collections.Counter()

    def _sample(self, _signum, frame) -> None:
        names = []
        while frame is not None:
            code = frame.f_code
            names.append(f"{Path(code.co_filename).parent.name}/{Path(code.co_filename).name}:{code.co_name}")
            frame = frame.f_back
        self.stacks[tuple(names)] += 1

    def start(self) -> None:
        signal.signal(signal.SIGPROF, self._sample)
        signal.setitimer(signal.ITIMER_PROF, self.interval, self.interval)

    def stop(self) -> None:
        signal.setitimer(signal.ITIMER_PROF, 0, 0)

    def report(self, top: int) -> None:
        total = sum(self.stacks.values())
        inclusive: collections.Counter = collections.Counter()
        own: collections.Counter = collections.Counter()
        for stack, count in self.stacks.items():
            own[stack[0]] += count
            for name in set(stack):
                inclusive[name] += count
        for title, counter in (("inclusive", inclusive), ("own (leaf)", own)):
            print(f"\n{title}: % of {total} samples")
            for name, count in counter.most_common(top):
                print(f"{100 * count / total:6.1f}  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000, help="comments to post (after 50 unmeasured)")
    parser.add_argument("--profile", choices=("sample", "cprofile", "pyinstrument"),
                        help="sample: CPU-time sampling (ITIMER_PROF), the least distorted")
    parser.add_argument("--akismet", action="store_true", help="check with the Akismet stand-in, not Akismet off")
    parser.add_argument("--rate-limit", default="1000000/minute",
                        help="HUBBUB_RATE_LIMIT (the bench's default: one address, every hit counted)")
    parser.add_argument("--addresses", type=int, default=1, help="client addresses the comments come from")
    parser.add_argument("--threads", type=int, default=1,
                        help="post from this many threads at once (the sampler sees only the first)")
    parser.add_argument("--top", type=int, default=35, help="cProfile: functions shown")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="hubbub-profile-") as tmp:
        work = Path(tmp)
        site = bench_service.prepare_site(work)
        akismet = None
        env = {
            "HUBBUB_SITE_DIR": str(site["dir"]),
            "HUBBUB_INSTANCE_DIR": str(work / "instance"),
            "HUBBUB_DATABASE_URL": f"sqlite:///{work / 'hubbub.db'}",
            "HUBBUB_SECRET_KEY": "bench-secret-key-not-for-production",
            "HUBBUB_RATE_LIMIT": args.rate_limit,
        }
        if args.akismet:
            port = bench_service.free_port()
            akismet = bench_service.Process("akismet stand-in", [
                sys.executable, str(BENCH.parent / "tests" / "akismet_server.py"), "--port", str(port)],
                dict(os.environ), work / "akismet.log", BENCH.parent)
            akismet.start(f"http://127.0.0.1:{port}/_control/requests")
            env.update({"PYTHON_AKISMET_API_KEY": "test-key", "PYTHON_AKISMET_BLOG_URL": "http://127.0.0.1/",
                        "HUBBUB_AKISMET_ENDPOINT": f"http://127.0.0.1:{port}"})
        try:
            return run(args, site, env)
        finally:
            if akismet:
                akismet.stop()


def run(args, site: dict, env: dict) -> int:
    from comments_service import create_app

    app = create_app(env=env, run_jobs=False)  # jobs run below, measured on their own
    hub = app.extensions["hubbub"]
    local = threading.local()  # a test client per thread: one keeps per-request state
    url = f"/api/threads/{site['post']['slug']}/comments"
    headers = {"Origin": bench_service.SITE_ORIGIN, "Referer": bench_service.SITE_ORIGIN + site["post"]["uri"],
               "User-Agent": "hubbub-bench/1 (loadgen)"}
    template = json.loads(json.dumps({"author": "Reader @N@", "email": "regular@K@@example.org",
                                      "body": bench_service.COMMENT_TEXT}))

    def post(i: int) -> None:
        body = {k: v.replace("@N@", str(i)).replace("@K@", str(i % 200)) for k, v in template.items()}
        if not hasattr(local, "client"):
            local.client = app.test_client()
        address = f"10.0.{i % args.addresses // 250}.{i % args.addresses % 250 + 1}"
        response = local.client.post(url, data=json.dumps(body), content_type="application/json", headers=headers,
                                     environ_base={"REMOTE_ADDR": address})
        if response.status_code != 202:
            raise SystemExit(f"POST {i}: {response.status_code} {response.get_data(as_text=True)[:300]}")

    def run_jobs() -> int:
        ran = 0
        while (done := hub.runner.run_due(limit=500)):
            ran += done
        return ran

    for i in range(50):  # warm-up: imports, caches, the connection pool
        post(i)
    run_jobs()

    profiler = None
    if args.profile == "sample":
        profiler = CPUSampler()
    elif args.profile == "cprofile":
        profiler = cProfile.Profile(time.process_time)  # CPU, not the waits for fsync
    elif args.profile == "pyinstrument":
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0002)
    cpu, wall, usage = time.process_time(), time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    if profiler:
        profiler.start() if args.profile != "cprofile" else profiler.enable()
    if args.threads == 1:
        for i in range(50, 50 + args.n):
            post(i)
    else:  # as a threaded server runs them: comments share commits, connections take turns
        with ThreadPoolExecutor(args.threads) as pool:
            list(pool.map(post, range(50, 50 + args.n)))
    if profiler:
        profiler.stop() if args.profile != "cprofile" else profiler.disable()
    post_cpu, post_wall = time.process_time() - cpu, time.perf_counter() - wall
    post_sys = resource.getrusage(resource.RUSAGE_SELF).ru_stime - usage.ru_stime  # the kernel's part: writes, fsync
    cpu = time.process_time()
    ran = run_jobs()
    jobs_cpu = time.process_time() - cpu
    hub.stop()

    n = args.n
    print(f"{n} POSTs: {post_cpu / n * 1000:.3f} ms CPU each (system {post_sys / n * 1000:.3f}; "
          f"{post_wall / n * 1000:.3f} ms wall); "
          f"their {ran} jobs: {jobs_cpu / n * 1000:.3f} ms CPU per POST; "
          f"total {(post_cpu + jobs_cpu) / n * 1000:.3f} ms; load average {os.getloadavg()[0]:.2f}")
    if args.profile == "sample":
        profiler.report(args.top)
    elif args.profile == "cprofile":
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    elif args.profile == "pyinstrument":
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
