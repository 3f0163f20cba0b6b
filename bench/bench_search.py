"""Static search (issue 16): what the Pagefind index costs the build and what a search costs a reader.

For each size it generates a site (bench_plugins.generate_site: posts by 40 writers, profiles,
comment threads), builds it with Pelican, then, for each SEARCH_SHARD_PAGES of --shard-pages (0:
one bundle; the default 1000: shards), indexes it with hubbub.search.index_site and measures side
by side in one run:

- index time vs build time (wall, and CPU including child processes: Pagefind is one);
- an incremental index after one post changed (its page in output/ rewritten with one more word,
  only that page passed as changed);
- in Debian's chromium, the site served on 127.0.0.1 by each server of --servers (nginx as a
  static host serves it, and Python's ThreadingHTTPServer): the bytes a reader downloads for the
  search page's first search (Pagefind's script, WebAssembly, index chunks, the fragments of the
  first ten results; counted by the server, as Pagefind fetches from a web worker) and of the
  filter lists the page loads after the first results, and query -> results rendered times of warm searches (form submitted, timed
  in the page until the results list is filled).

    .venv/bin/python bench/bench_search.py [--sizes 5000] [--shard-pages 0 1000] [--servers nginx python]

Goals (issue 16, at 5,000 posts): index <= 10% of the build; one search <= 300 kB;
query -> results rendered <= 100 ms. Results go to bench/results/search.json.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import json
import logging
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
QUERIES = ["router", "referral", "newsletter", "ranking", "dashboard", "invoice", "headline", "followers",
           "bandwidth", "breakfast", "subscribers", "campaign", "engagement", "protocol", "pricing"]


def cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(function, *args, **kwargs):
    wall, used = time.perf_counter(), cpu()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - wall, cpu() - used


# Each server yields its address and a function giving the (path, body bytes) it has sent so far:
# counted where they are sent, since the search's fetches come from Pagefind's web worker, which a
# page's own network events do not see.

@contextlib.contextmanager
def python_server(root: Path):
    """output/ on a free port of 127.0.0.1 by Python's ThreadingHTTPServer."""
    sent: list[tuple[str, int]] = []

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def send_header(self, keyword, value):
            if keyword.lower() == "content-length":
                sent.append((self.path.split("?")[0], int(value)))
            super().send_header(keyword, value)

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", lambda: list(sent)
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def nginx_server(root: Path):
    """output/ on a free port of 127.0.0.1 by a private nginx, as a static host serves it (the
    compression and keep-alive of deploy/hubbub.conf)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="bench-nginx-") as tmp:
        temp = "".join(f"  {kind}_temp_path {tmp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root;\n" if os.geteuid() == 0 else ""
        conf = Path(tmp, "nginx.conf")
        conf.write_text(
            f"{user}worker_processes 1;\npid {tmp}/nginx.pid;\nerror_log {tmp}/error.log warn;\n"
            "events { worker_connections 256; }\n"
            f"http {{\n  include /etc/nginx/mime.types;\n  default_type application/octet-stream;\n{temp}"
            "  sendfile on;\n  tcp_nopush on;\n  keepalive_timeout 65;\n  gzip on;\n  gzip_min_length 1024;\n"
            "  gzip_types text/css application/javascript application/json;\n"
            f"  log_format sent '$uri $body_bytes_sent';\n  access_log {tmp}/access.log sent buffer=1k flush=100ms;\n"
            f"  server {{\n    listen 127.0.0.1:{port};\n    root {root};\n    index index.html;\n"
            "    location / { try_files $uri $uri/ =404; }\n  }\n}\n")
        process = subprocess.Popen([nginx, "-p", tmp, "-c", str(conf), "-g", "daemon off;"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for _ in range(100):
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
                if process.poll() is not None:
                    raise RuntimeError(f"nginx did not start: {process.stderr.read().decode()}")
                time.sleep(0.05)

            def sent() -> list[tuple[str, int]]:
                time.sleep(0.2)  # the log is flushed every 100 ms
                log = Path(tmp, "access.log")
                lines = log.read_text().splitlines() if log.exists() else []
                return [(path, int(size)) for path, size in (line.rsplit(" ", 1) for line in lines)]

            yield f"http://127.0.0.1:{port}", sent
        finally:
            process.terminate()
            process.wait(10)


SERVERS = {"nginx": nginx_server, "python": python_server}


def browser_figures(out: Path, queries: list[str], server: str) -> dict:
    from playwright.sync_api import sync_playwright

    with SERVERS[server](out) as (base, sent), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"{base}/search/?q={queries[0]}", wait_until="load")
        page.wait_for_selector(".search-result", timeout=60_000)
        page.wait_for_timeout(500)  # let the last requests finish
        first_search = sent()
        # The search page asks for the filter lists (.pf_filter) only once the first results are shown.
        search_bytes = sum(n for path, n in first_search if path.startswith("/pagefind/") and not path.endswith(".pf_filter"))
        filter_bytes = sum(n for path, n in first_search if path.endswith(".pf_filter"))
        page_bytes = sum(n for _path, n in first_search)
        count = page.locator(".search-result").count()
        firsts, times = [], []
        for word in queries[1:]:
            # From the submit to the first result on screen, and to all of the first page (10) shown.
            first, took = page.evaluate("""(word) => new Promise((resolve) => {
                const form = document.querySelector('.search-form'), list = document.querySelector('.search-results');
                const input = form.elements.namedItem('q');
                let first = null;
                const old = new Set(list.children);  // the last search's results, until they are replaced
                const start = performance.now();
                const done = () => list.getAttribute('aria-busy') === 'false'
                  && document.querySelector('.search-status').textContent.includes(word);
                const observer = new MutationObserver(() => {
                  if (first === null && list.firstElementChild && !old.has(list.firstElementChild)) first = performance.now() - start;
                  if (done()) { observer.disconnect(); const all = performance.now() - start; resolve([first === null ? all : first, all]); }
                });
                observer.observe(document.querySelector('.search'), {subtree: true, childList: true, attributes: true, characterData: true});
                input.value = word;
                form.requestSubmit();
            })""", word)
            firsts.append(first)
            times.append(took)
        browser.close()
    return {"first_search_bytes": search_bytes, "filter_list_bytes": filter_bytes, "search_page_bytes_total": page_bytes, "results_shown": count,
            "first_search_requests": len(first_search), "query_ms": times, "query_ms_median": statistics.median(times), "query_ms_max": max(times),
            "first_result_ms": firsts, "first_result_ms_median": statistics.median(firsts)}


def run(size: int, queries: int, shard_pages: list[int], servers: list[str], repeat: int, keep: bool) -> list[dict]:
    from bench_plugins import generate_site
    from pelican import Pelican

    from hubbub.build import load_settings
    from hubbub.search import BUNDLE, RECORD, index_site

    work = Path(tempfile.mkdtemp(prefix=f"bench-search-{size}-"))
    try:
        site = generate_site(work / "site", size)
        out = site / "output"
        settings = load_settings(site, OUTPUT_PATH=str(out))
        _, build_wall, build_cpu = timed(lambda: Pelican(settings).run())
        post = out / "posts" / "post-00007" / "index.html"
        page = post.read_bytes()
        samples: dict[int, list[dict]] = {pages: [] for pages in shard_pages}
        runs = []
        for round_ in range(repeat):  # the settings take turns, so that a busy spell hits them alike
            for pages in shard_pages:
                shutil.rmtree(out / BUNDLE, ignore_errors=True)
                (out / RECORD).unlink(missing_ok=True)
                settings = load_settings(site, OUTPUT_PATH=str(out), SEARCH_SHARD_PAGES=pages)
                result, index_wall, index_cpu = timed(index_site, settings, out)
                post.write_bytes(page.replace(b"</h1>", b" zanzibarish</h1>", 1))
                again, inc_wall, inc_cpu = timed(index_site, settings, out, ["posts/post-00007/index.html"])
                post.write_bytes(page)
                index_site(settings, out, ["posts/post-00007/index.html"])
                skipped, skip_wall, _ = timed(index_site, settings, out, ["index.html", "tags/index.html"])
                samples[pages].append({"index_wall_s": index_wall, "index_cpu_s": index_cpu,
                                       "incremental_index_wall_s": inc_wall, "incremental_index_cpu_s": inc_cpu,
                                       "unsearchable_change_wall_s": skip_wall})
                if round_ < repeat - 1:
                    continue
                figures = {key: statistics.median(s[key] for s in samples[pages]) for key in samples[pages][0]}
                figures.update({
                    "posts": size, "shard_pages": pages, "repeat": repeat, "samples": samples[pages],
                    "shards": len(json.loads((out / BUNDLE / "hubbub-shards.json").read_text())["bundles"]),
                    "pages_indexed": result.pages,
                    "bundle_bytes": sum(p.stat().st_size for p in (out / BUNDLE).rglob("*") if p.is_file()),
                    "build_wall_s": build_wall, "build_cpu_s": build_cpu,
                    "incremental_pages": again.pages, "incremental_ran": again.ran, "unsearchable_change_ran": skipped.ran,
                    "browser": {server: browser_figures(out, (QUERIES * 3)[: queries + 1], server) for server in servers},
                })
                figures["index_vs_build_wall"] = figures["index_wall_s"] / build_wall
                figures["index_vs_build_cpu"] = figures["index_cpu_s"] / build_cpu
                runs.append(figures)
        return runs
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000])
    parser.add_argument("--shard-pages", type=int, nargs="+", default=[0, 3000],
                        help="SEARCH_SHARD_PAGES values to compare (0: one bundle)")
    parser.add_argument("--servers", nargs="+", choices=sorted(SERVERS), default=["nginx", "python"])
    parser.add_argument("--queries", type=int, default=15, help="timed searches after the first")
    parser.add_argument("--repeat", type=int, default=3, help="index timings per setting (medians shown)")
    parser.add_argument("--keep", action="store_true", help="keep the generated sites")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the generated site's two missing profiles warn on purpose
    results = []
    for size in args.sizes:
        for f in run(size, args.queries, args.shard_pages, args.servers, args.repeat, args.keep):
            results.append(f)
            print(f"\n{size} posts, SEARCH_SHARD_PAGES={f['shard_pages']}: {f['shards']} bundle(s), "
                  f"{f['pages_indexed']} pages indexed, {f['bundle_bytes'] / 1e6:.1f} MB")
            print(f"  build (Pelican)       {f['build_wall_s']:7.1f} s wall  {f['build_cpu_s']:7.1f} s CPU")
            print(f"  index (Pagefind)      {f['index_wall_s']:7.1f} s wall  {f['index_cpu_s']:7.1f} s CPU (medians of {f['repeat']})"
                  f"   = {f['index_vs_build_wall']:.1%} of the build (wall), {f['index_vs_build_cpu']:.1%} (CPU)"
                  f"   goal <= 10%")
            print(f"  one post changed      {f['incremental_index_wall_s']:7.2f} s wall  {f['incremental_index_cpu_s']:7.2f} s CPU"
                  f" ({f['incremental_pages']} pages re-indexed)"
                  f"; listing pages only: {f['unsearchable_change_wall_s'] * 1000:.0f} ms (Pagefind not run)")
            for server, b in f["browser"].items():
                print(f"  [{server}] first search {b['first_search_bytes'] / 1000:6.1f} kB from pagefind/   goal <= 300 kB;"
                      f" then the filter lists {b['filter_list_bytes'] / 1000:.1f} kB;"
                      f" {b['search_page_bytes_total'] / 1000:.1f} kB in all with the page")
                print(f"  [{server}] query -> results: first result median {b['first_result_ms_median']:.0f} ms;"
                      f" first 10 shown median {b['query_ms_median']:.0f} ms, max {b['query_ms_max']:.0f} ms"
                      f" over {len(b['query_ms'])} searches   goal <= 100 ms")
    (REPO / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (REPO / "bench" / "results" / "search.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
