"""Static search (issue 16): what the Pagefind index costs the build and what a search costs a reader.

For each size it generates a site (bench_plugins.generate_site: posts by 40 writers, profiles,
comment threads), builds it with Pelican, then indexes it with hubbub.search.index_site, and
measures side by side in one run:

- index time vs build time (wall, and CPU including child processes: Pagefind is one);
- an incremental index after one post changed (only that page passed as changed);
- in Debian's chromium, the site served by a static file server on 127.0.0.1: the bytes a reader
  downloads for the search page's first search (Pagefind's script, WebAssembly, index chunks,
  the fragments of the first ten results), and query -> results rendered times of warm searches
  (form submitted, timed in the page until the results list is filled).

    .venv/bin/python bench/bench_search.py [--sizes 5000] [--queries 15] [--keep]

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
import resource
import shutil
import statistics
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


@contextlib.contextmanager
def static_server(root: Path):
    """output/ on a free port of 127.0.0.1, as any static web server would serve it."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def browser_figures(out: Path, queries: list[str]) -> dict:
    from playwright.sync_api import sync_playwright

    with static_server(out) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        client = page.context.new_cdp_session(page)
        client.send("Network.enable")
        sizes: dict[str, int] = {}
        urls: dict[str, str] = {}
        client.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))
        client.on("Network.loadingFinished",
                  lambda e: sizes.__setitem__(urls.get(e["requestId"], e["requestId"]), e["encodedDataLength"]))
        page.goto(f"{base}/search/?q={queries[0]}", wait_until="load")
        page.wait_for_selector(".search-result", timeout=60_000)
        page.wait_for_timeout(500)  # let the last fragment requests finish
        search_bytes = sum(n for url, n in sizes.items() if "/pagefind/" in url)
        page_bytes = sum(sizes.values())
        count = page.locator(".search-result").count()
        firsts, times = [], []
        for word in queries[1:]:
            # From the submit to the first result on screen, and to all of the first page (10) shown.
            first, took = page.evaluate("""(word) => new Promise((resolve) => {
                const form = document.querySelector('.search-form'), list = document.querySelector('.search-results');
                const input = form.elements.namedItem('q');
                let first = null;
                const start = performance.now();
                const done = () => list.getAttribute('aria-busy') === 'false'
                  && document.querySelector('.search-status').textContent.includes(word);
                const observer = new MutationObserver(() => {
                  if (first === null && list.children.length && list.getAttribute('aria-busy') === 'true') first = performance.now() - start;
                  if (done()) { observer.disconnect(); const all = performance.now() - start; resolve([first === null ? all : first, all]); }
                });
                observer.observe(document.querySelector('.search'), {subtree: true, childList: true, attributes: true, characterData: true});
                input.value = word;
                form.requestSubmit();
            })""", word)
            firsts.append(first)
            times.append(took)
        browser.close()
    return {"first_search_bytes": search_bytes, "search_page_bytes_total": page_bytes, "results_shown": count,
            "query_ms": times, "query_ms_median": statistics.median(times), "query_ms_max": max(times),
            "first_result_ms": firsts, "first_result_ms_median": statistics.median(firsts)}


def run(size: int, queries: int, keep: bool) -> dict:
    from bench_plugins import generate_site
    from pelican import Pelican

    from hubbub.build import load_settings
    from hubbub.search import index_site

    work = Path(tempfile.mkdtemp(prefix=f"bench-search-{size}-"))
    try:
        site = generate_site(work / "site", size)
        out = site / "output"
        settings = load_settings(site, OUTPUT_PATH=str(out))
        _, build_wall, build_cpu = timed(lambda: Pelican(settings).run())
        result, index_wall, index_cpu = timed(index_site, settings, out)
        post = site / "content" / "posts" / "post-00007.md"
        post.write_text(post.read_text(encoding="utf-8") + "\nA brand new zanzibarish paragraph.\n", encoding="utf-8")
        settings = load_settings(site, OUTPUT_PATH=str(out))
        Pelican(settings).run()
        again, inc_wall, inc_cpu = timed(index_site, settings, out, ["posts/post-00007/index.html"])
        skipped, skip_wall, _ = timed(index_site, settings, out, ["index.html", "tags/index.html"])
        bundle = sum(p.stat().st_size for p in (out / "pagefind").rglob("*") if p.is_file())
        figures = {
            "posts": size, "pages_indexed": result.pages, "bundle_bytes": bundle,
            "build_wall_s": build_wall, "build_cpu_s": build_cpu, "index_wall_s": index_wall, "index_cpu_s": index_cpu,
            "index_vs_build_wall": index_wall / build_wall, "index_vs_build_cpu": index_cpu / build_cpu,
            "incremental_index_wall_s": inc_wall, "incremental_index_cpu_s": inc_cpu, "incremental_ran": again.ran,
            "unsearchable_change_wall_s": skip_wall, "unsearchable_change_ran": skipped.ran,
        }
        figures.update(browser_figures(out, (QUERIES * 3)[: queries + 1]))
        return figures
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000])
    parser.add_argument("--queries", type=int, default=15, help="timed searches after the first")
    parser.add_argument("--keep", action="store_true", help="keep the generated sites")
    args = parser.parse_args(argv)
    logging.disable(logging.WARNING)  # the generated site's two missing profiles warn on purpose
    results = []
    for size in args.sizes:
        f = run(size, args.queries, args.keep)
        results.append(f)
        print(f"\n{size} posts ({f['pages_indexed']} pages indexed, bundle {f['bundle_bytes'] / 1e6:.1f} MB)")
        print(f"  build (Pelican)       {f['build_wall_s']:7.1f} s wall  {f['build_cpu_s']:7.1f} s CPU")
        print(f"  index (Pagefind)      {f['index_wall_s']:7.1f} s wall  {f['index_cpu_s']:7.1f} s CPU"
              f"   = {f['index_vs_build_wall']:.1%} of the build (wall), {f['index_vs_build_cpu']:.1%} (CPU)"
              f"   goal <= 10%")
        print(f"  one post changed      {f['incremental_index_wall_s']:7.1f} s wall (re-index)"
              f"; listing pages only: {f['unsearchable_change_wall_s'] * 1000:.0f} ms (Pagefind not run)")
        print(f"  first search          {f['first_search_bytes'] / 1000:7.1f} kB from pagefind/"
              f" ({f['search_page_bytes_total'] / 1000:.1f} kB with the page)   goal <= 300 kB")
        print(f"  query -> results      first result: median {f['first_result_ms_median']:.0f} ms; first 10 shown:"
              f" median {f['query_ms_median']:.0f} ms, max {f['query_ms_max']:.0f} ms over {len(f['query_ms'])} searches"
              f"   goal <= 100 ms")
    (REPO / "bench" / "results").mkdir(parents=True, exist_ok=True)
    (REPO / "bench" / "results" / "search.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
