"""Hubbub's incremental build against plain Pelican, on the same generated posts, side by side.

    .venv/bin/python bench/bench_build.py [--sizes 5000 20000] [--saves 10] [--keep] [--reload-only]

For each size it generates a Hubbub site (about 600 words a post, 40 writers, 6 categories, 60
tags, profiles and comment threads; bench/sitegen.py) and a plain Pelican site with the same posts
(Pelican's default theme, no plugins), then measures, each build in a fresh process:
- cold: `hubbub build --full` and `pelican content`, wall time and peak memory (the process and
  its children);
- nothing changed, and after editing one post: `hubbub build` and `pelican content`;
- `hubbub serve --reload`: a saved post -> its page on disk shows the edit (median and worst of
  --saves), and a new post -> on the home page and on its tag page; `pelican --autoreload` on the
  plain site: a saved post -> its page.
It prints the figures and the ratios; nothing here is a pass/fail test.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import procgroup  # noqa: E402
import sitegen  # noqa: E402

BIN = Path(sys.executable).parent


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    """(seconds, peak MB) of a command run to its end; GNU time reports the largest resident set
    of the process and of the children it waited for."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], cwd=cwd, check=True,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def hubbub(*args: str) -> list[str]:
    return [str(BIN / "hubbub"), *args]


def pelican(*args: str) -> list[str]:
    return [str(BIN / "pelican"), "content", "-s", "pelicanconf.py", "-q", *args]


def edit(path: Path, marker: str) -> None:
    text = path.read_text(encoding="utf-8")
    path.write_text(text.rstrip("\n") + f"\n\nEdited: {marker}.\n", encoding="utf-8")


TIMEOUT = 600  # seconds a save may take to reach its page before it counts as never


def wait_for(path: Path, text: str, timeout: float = TIMEOUT) -> float:
    """Seconds until `path` contains `text` (polled every 5 ms)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if text in path.read_text(encoding="utf-8"):
                return time.perf_counter() - started
        except (FileNotFoundError, UnicodeDecodeError):
            pass
        time.sleep(0.005)
    raise TimeoutError(f"{path} never showed {text!r}")


def settle(log: Path, quiet: float = 3.0, timeout: float = TIMEOUT) -> None:
    """Wait until the watcher's log has been quiet for `quiet` seconds: its rebuild is over. A
    save made while Pelican's autoreload is still rebuilding can go unnoticed."""
    started, last = time.perf_counter(), (-1, time.perf_counter())
    while time.perf_counter() - started < timeout:
        size = log.stat().st_size
        if size != last[0]:
            last = (size, time.perf_counter())
        elif time.perf_counter() - last[1] >= quiet:
            return
        time.sleep(0.1)


def warm_up(site: Path, page_of) -> None:
    """Save a post until the watcher shows it, twice: the first saves land during its initial
    build (Pelican's autoreload does not notice those; the initial build may read them), and a
    watcher notices saves only once it has started, which a second save shown proves. Then let
    the rebuild finish."""
    first = sorted((site / "content" / "posts").glob("*.md"))[7]
    started = time.perf_counter()
    for _ in range(2):
        while True:
            marker = f"warm-up-{time.time_ns()}"
            edit(first, marker)
            try:
                wait_for(page_of(first), marker, timeout=60)
                break
            except TimeoutError:
                if time.perf_counter() - started > TIMEOUT:
                    raise
    settle(site / "watch.log")


@contextmanager
def watching(site: Path, command: list[str]):
    """A watching server for `site`, its output in site/watch.log; stopped on leaving."""
    log = open(site / "watch.log", "w")
    proc = subprocess.Popen(command, cwd=site, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "HUBBUB_SITE_DIR": str(site), "HUBBUB_DEVELOPMENT": "1"})
    try:
        yield
    finally:
        procgroup.stop(proc, signal.SIGINT, grace=30)
        log.close()


def watched_saves(site: Path, command: list[str], saves: int, page_of) -> list[float]:
    """Start a watching server, save posts one after another, time each until its page shows it."""
    times = []
    with watching(site, command):
        try:
            warm_up(site, page_of)
        except TimeoutError as exc:  # a watcher that never noticed a save: its figures say "never"
            print(f"  {exc} (see watch.log)", flush=True)
            return [float("inf")]
        for n in range(saves):
            post = sorted((site / "content" / "posts").glob("*.md"))[101 + 37 * n]
            marker = f"save-{n}-{time.time_ns()}"
            edit(post, marker)
            try:
                times.append(wait_for(page_of(post), marker))
            except TimeoutError as exc:  # the figure says "never", the run goes on
                print(f"  {exc} (within {TIMEOUT} s; see watch.log)", flush=True)
                times.append(float("inf"))
                break
            settle(site / "watch.log")  # the rest of the rebuild finishes before the next save
    return times


def new_post(site: Path, number: int) -> tuple[float, float]:
    """Seconds until a new post is on the home page, and on its first tag's page, under serve --reload
    (once the watcher shows saves, as in watched_saves)."""
    import random

    with watching(site, hubbub("serve", "--reload", "--port", "0")):
        warm_up(site, lambda p: site / "output" / "posts" / p.stem / "index.html")
        title = f"Brand New Post {time.time_ns()}"
        text = sitegen.post_source(random.Random(number), number, number, title=title, date="2099-01-01 10:00")
        tag = [line for line in text.splitlines() if line.startswith("Tags: ")][0][6:].split(", ")[0]
        started = time.perf_counter()
        (site / "content" / "posts" / f"post-{number:05d}.md").write_text(text, encoding="utf-8")
        home = wait_for(site / "output" / "index.html", title)
        tag_page = site / "output" / "tag" / tag.replace(" ", "-") / "index.html"
        wait_for(tag_page, title)
        return home, time.perf_counter() - started


def reload_saves(ours: Path, size: int, saves: int) -> list[float]:
    print(f"{size} posts: saves under serve --reload...", flush=True)
    times = watched_saves(ours, hubbub("serve", "--reload", "--port", "0"), saves,
                          lambda p: ours / "output" / "posts" / p.stem / "index.html")
    print(f"{size} posts, serve --reload saves (s): {times}", flush=True)
    return times


def measure(size: int, saves: int, workdir: Path, reload_only: bool = False) -> dict:
    ours, plain = workdir / f"hubbub-{size}", workdir / f"pelican-{size}"
    sitegen.generate(ours, size)
    row: dict = {"posts": size}
    if reload_only:
        row["saves"] = reload_saves(ours, size, saves)
        row["new_home"], row["new_tag"] = new_post(ours, size + 1)
        return row
    sitegen.generate(plain, size, plain=True)
    print(f"\n{size} posts: cold builds...", flush=True)
    row["cold"], row["cold_mb"] = timed(hubbub("build", "--full"), ours)
    row["p_cold"], row["p_cold_mb"] = timed(pelican(), plain)
    row["nothing"], _ = timed(hubbub("build"), ours)
    row["p_nothing"], _ = timed(pelican(), plain)
    edit(ours / "content" / "posts" / "post-00042.md", "one edit")
    edit(plain / "content" / "posts" / "post-00042.md", "one edit")
    row["edit"], _ = timed(hubbub("build"), ours)
    row["p_edit"], _ = timed(pelican(), plain)
    print(f"{size} posts, builds: {row}", flush=True)
    row["saves"] = reload_saves(ours, size, saves)
    print(f"{size} posts: saves under pelican --autoreload...", flush=True)
    row["p_saves"] = watched_saves(plain, [str(BIN / "pelican"), "content", "-s", "pelicanconf.py", "-q",
                                           "--autoreload"], max(2, saves // 4),
                                   lambda p: plain / "output" / "posts" / p.stem / "index.html")
    row["new_home"], row["new_tag"] = new_post(ours, size + 1)
    print(f"{size} posts: {row}", flush=True)
    return row


def report(rows: list[dict]) -> None:
    print("\n| posts | what | Hubbub | plain Pelican | ratio (Pelican ÷ Hubbub) |")
    print("|---:|---|---:|---:|---:|")
    def line(posts, what, ours, theirs, unit="s"):
        ratio = f"{theirs / ours:.1f}×" if ours and ours != float("inf") else "-"
        shown = [f"{v:.2f} {unit}" if v != float("inf") else f"never (> {TIMEOUT} s)" for v in (ours, theirs)]
        print(f"| {posts} | {what} | {shown[0]} | {shown[1]} | {ratio} |")

    for r in rows:
        if "cold" not in r:  # --reload-only
            saves = sorted(r["saves"])
            print(f"| {r['posts']} | save → that post's page, median / worst (serve --reload) | "
                  f"{statistics.median(saves):.3f} s / {saves[-1]:.3f} s | | |")
            print(f"| {r['posts']} | new post → home page / its tag page (serve --reload) | "
                  f"{r['new_home']:.2f} s / {r['new_tag']:.2f} s | | |")
            continue
        line(r["posts"], "cold build (`hubbub build --full` / `pelican content`)", r["cold"], r["p_cold"])
        line(r["posts"], "peak memory, cold build", r["cold_mb"], r["p_cold_mb"], "MB")
        line(r["posts"], "build, nothing changed", r["nothing"], r["p_nothing"])
        line(r["posts"], "build after editing one post", r["edit"], r["p_edit"])
        saves, p_saves = sorted(r["saves"]), sorted(r["p_saves"])
        line(r["posts"], "save → that post's page (median)", statistics.median(saves), statistics.median(p_saves))
        line(r["posts"], "save → that post's page (worst)", saves[-1], p_saves[-1])
        print(f"| {r['posts']} | new post → home page / its tag page (serve --reload) | "
              f"{r['new_home']:.2f} s / {r['new_tag']:.2f} s | | |")
    if len(rows) > 1:
        first, last = rows[0], rows[-1]
        growth = statistics.median(last["saves"]) / statistics.median(first["saves"])
        print(f"\nsave → page, {last['posts']} posts ÷ {first['posts']} posts: {growth:.2f}×")
    print(f"\nMeasured on {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[5000])
    parser.add_argument("--saves", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the generated sites")
    parser.add_argument("--reload-only", action="store_true",
                        help="only saves and a new post under `hubbub serve --reload` (no Pelican, no builds): for large sizes")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="hubbub-build-bench-"))
    try:
        rows = [measure(size, args.saves, workdir, args.reload_only) for size in args.sizes]
    finally:
        if args.keep:
            print(f"sites kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report(rows)


if __name__ == "__main__":
    main()
