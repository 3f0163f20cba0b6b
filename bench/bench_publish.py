"""Approval → updated page: the fast publisher next to a full site build.

Generates sites of 1,000 and 5,000 posts (by default) with 10 published comments per post, in a
temporary directory, using the project's theme, plugins and settings. For each size it:

1. builds the site without the comments plugin (every other plugin the same), then with it
   (the real `hubbub build`), each in a fresh Python process, and prints both and their ratio;
2. approves comments one at a time on random articles through hubbub.core.publisher
   (thread file + article page + counts on listing pages + feeds) and prints the first (cold:
   imports, manifest, template compile) and the warm median, p95 and maximum, checking each time
   that the new comment is in the page;
3. publishes a burst of 25 threads in one call (how the service coalesces approvals).

    .venv/bin/python bench/bench_publish.py [--sizes 1000 5000] [--approvals 50] [--keep]

Goals (issue 6): approval → page worst case ≤ 1 s and median ≤ 0.2 s at 5,000 posts; the build with
all comments at most 1.15× the build without the comments plugin.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

COMMENTS_PER_POST = 10
BURST = 25
WORDS = ("network marketing email list referral breakfast handshake router packet search ranking "
         "review trust permission audience follower headline story client invoice budget habit "
         "community question answer lesson practice honest simple small business week people").split()
CATEGORIES = ["Networking", "Online Marketing", "Social Media", "Copywriting", "Analytics", "Freelancing"]
TAGS = [f"topic {i}" for i in range(60)]
AUTHORS = [f"Writer {chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(40)]
COMMENTERS = [(f"Commenter {i}", f"commenter{i}@example.org") for i in range(300)]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def generate_site(root: Path, posts: int, seed: int = 6) -> tuple[Path, list[str]]:
    """A copy of the project's site with `posts` generated posts and 10 comments on each."""
    from hubbub.core.identity import author_key, site_salt
    from hubbub.core.threadfile import parse_comments, write_thread

    rng = random.Random(seed)
    site = root / "site"
    site.mkdir()
    shutil.copy2(REPO / "pelicanconf.py", site / "pelicanconf.py")
    content = site / "content"
    shutil.copytree(REPO / "content" / "pages", content / "pages")
    (content / "posts").mkdir(parents=True)
    comments_dir = content / "comments"
    comments_dir.mkdir()
    salt = site_salt(site)
    keys = {email: author_key(email, salt) for _, email in COMMENTERS}
    start = datetime(2008, 1, 1, tzinfo=UTC)
    slugs, next_id = [], 1
    for i in range(posts):
        slug = f"post-{i:05d}"
        date = start + timedelta(hours=6 * i)
        body = "\n\n".join(_text(rng, 60) for _ in range(4))
        (content / "posts" / f"{slug}.md").write_text(
            f"Title: {_text(rng, 6)[:-1]} {i}\nDate: {date:%Y-%m-%d %H:%M}\nSlug: {slug}\n"
            f"Author: {rng.choice(AUTHORS)}\nCategory: {rng.choice(CATEGORIES)}\n"
            f"Tags: {', '.join(rng.sample(TAGS, 3))}\nSummary: {_text(rng, 20)}\n\n{body}\n",
            encoding="utf-8",
        )
        thread = []
        for j in range(COMMENTS_PER_POST):
            name, email = rng.choice(COMMENTERS)
            parent = rng.choice(thread)["id"] if thread and rng.random() < 0.5 else None
            thread.append({
                "id": next_id, "parent": parent, "author": name,
                "url": f"https://{name.split()[1]}.example/" if rng.random() < 0.3 else "",
                "html": f"<p>{_text(rng, 40)}</p>",
                "created": (date + timedelta(days=1, minutes=37 * j)).isoformat(), "author_key": keys[email],
            })
            next_id += 1
        write_thread(comments_dir, slug, parse_comments(thread, slug))
        slugs.append(slug)
    return site, slugs


BUILD = """
import json, logging, resource, sys, time
from pathlib import Path
sys.path.insert(0, {repo!r})
logging.disable(logging.WARNING)
from hubbub.build import build_site

def cpu(who):
    use = resource.getrusage(who)
    return use.ru_utime + use.ru_stime

t, own, kids = time.perf_counter(), cpu(resource.RUSAGE_SELF), cpu(resource.RUSAGE_CHILDREN)
build_site(Path({site!r}), OUTPUT_PATH={out!r}, **json.loads({override!r}))
own = cpu(resource.RUSAGE_SELF) - own
print(json.dumps({{"wall": time.perf_counter() - t, "main": own, "cpu": own + cpu(resource.RUSAGE_CHILDREN) - kids}}))
"""


def _one_build(site: Path, out: Path, override: dict) -> dict:
    code = BUILD.format(repo=str(REPO), site=str(site), out=str(out), override=json.dumps(override))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=site)
    if done.returncode != 0:
        raise SystemExit(f"build failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def timed_builds(site: Path, out: Path, repeat: int = 1, **override) -> dict:
    """Seconds of a build into an empty `out` ("fresh") and of the same build again into that
    output ("rebuild", what `hubbub build` usually does), each in a fresh process: the Pelican
    run's own time, not interpreter start-up; the best of `repeat` pairs. For each: wall time;
    CPU of the whole build ("cpu", child processes included) and of the main process ("main",
    which is the wall time of an otherwise idle machine with a spare core)."""
    best: dict = {}
    for _ in range(repeat):
        shutil.rmtree(out, ignore_errors=True)
        for kind in ("fresh", "rebuild"):
            got = _one_build(site, out, override)
            old = best.get(kind)
            best[kind] = got if old is None else {k: min(old[k], got[k]) for k in got}
    return best


def _ratio_line(label: str, full: dict, plain: dict) -> str:
    return (f"{label:<8} without plugin {plain['wall']:6.1f} s (CPU {plain['cpu']:5.1f}, main {plain['main']:5.1f})"
            f"  with {full['wall']:6.1f} s (CPU {full['cpu']:5.1f}, main {full['main']:5.1f})"
            f"  ratio wall {full['wall'] / plain['wall']:.3f}  CPU {full['cpu'] / plain['cpu']:.3f}"
            f"  main {full['main'] / plain['main']:.3f}")


def read_comments(site: Path, slug: str) -> list[dict]:
    from hubbub.core.threadfile import read_thread

    return [c.to_json() for c in read_thread(site / "content" / "comments", slug).comments]


def approvals(site: Path, out: Path, slugs: list[str], count: int, seed: int = 7) -> list[float]:
    """Approve `count` comments one by one; seconds from publish call to page on disk, each."""
    from hubbub.core.publisher import publish_thread

    rng = random.Random(seed)
    times, next_id = [], 10_000_000
    for _ in range(count):
        slug = rng.choice(slugs)
        comments = read_comments(site, slug)  # what the service reads from its database
        next_id += 1
        comments.append({
            "id": next_id, "parent": rng.choice([None, comments[-1]["id"]]), "author": "New <Commenter>",
            "url": "", "html": "<p>Just approved.</p>", "author_key": "",
            "created": datetime.now(UTC).replace(microsecond=0).isoformat(),
        })
        started = time.perf_counter()
        result = publish_thread(site, out, slug, comments)
        times.append(time.perf_counter() - started)
        page = (out / "posts" / slug / "index.html").read_text(encoding="utf-8")
        if result.problems or f'id="comment-{next_id}"' not in page:
            raise SystemExit(f"publish of {slug} did not reach the page: {result.problems}")
    return times


def burst(site: Path, out: Path, slugs: list[str], seed: int = 8) -> float:
    from hubbub.core.publisher import publish_threads

    rng = random.Random(seed)
    batch = {}
    for n, slug in enumerate(rng.sample(slugs, BURST)):
        comments = read_comments(site, slug)
        comments.append({"id": 20_000_000 + n, "parent": None, "author": "Burst", "url": "", "author_key": "",
                         "html": "<p>One of many.</p>", "created": "2026-12-01T00:00:00+00:00"})
        batch[slug] = comments
    started = time.perf_counter()
    result = publish_threads(site, out, batch)
    seconds = time.perf_counter() - started
    if result.problems:
        raise SystemExit(f"burst publish failed: {result.problems}")
    return seconds


def run(size: int, count: int, keep: bool, repeat: int) -> dict:
    root = Path(tempfile.mkdtemp(prefix=f"publish-bench-{size}-"))
    try:
        print(f"\n== {size} posts, {COMMENTS_PER_POST} comments each ({root})", flush=True)
        t = time.perf_counter()
        site, slugs = generate_site(root, size)
        print(f"generated in {time.perf_counter() - t:.1f} s", flush=True)
        from pelican.settings import read_settings

        plugins = read_settings(str(site / "pelicanconf.py"))["PLUGINS"]
        without = [p for p in plugins if p != "comments"]
        plain = timed_builds(site, root / "out-plain", repeat, PLUGINS=without)
        full = timed_builds(site, root / "out", repeat)
        for kind in ("fresh", "rebuild"):
            print(_ratio_line(kind, full[kind], plain[kind]), flush=True)
        times = approvals(site, root / "out", slugs, count)
        cold, warm = times[0], times[1:] or times
        warm_sorted = sorted(warm)
        p95 = warm_sorted[min(len(warm_sorted) - 1, int(0.95 * len(warm_sorted)))]
        median = statistics.median(warm)
        print(f"approval → page: cold {cold * 1000:.0f} ms; warm median {median * 1000:.1f} ms, "
              f"p95 {p95 * 1000:.1f} ms, max {max(warm) * 1000:.1f} ms over {len(warm)}", flush=True)
        print(f"full build / median approval: {full['rebuild']['wall'] / median:.0f}×", flush=True)
        burst_s = burst(site, root / "out", slugs)
        print(f"burst of {BURST} threads in one publish: {burst_s * 1000:.0f} ms", flush=True)
        return {"posts": size, "plain": plain, "full": full, "cold": cold, "median": median, "p95": p95,
                "max": max(times), "burst": burst_s}
    finally:
        if keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--approvals", type=int, default=50, help="approvals timed per size")
    parser.add_argument("--repeat", type=int, default=1, help="builds per variant (the best counts)")
    parser.add_argument("--keep", action="store_true", help="keep the generated sites")
    args = parser.parse_args()
    rows = [run(size, args.approvals, args.keep, args.repeat) for size in args.sizes]
    print("\nBuild time with the comments plugin ÷ without it (wall; CPU of all processes; CPU of the main")
    print("process, i.e. wall on an idle machine with a spare core):")
    print("posts  fresh: wall   CPU   main   rebuild: wall   CPU   main   full rebuild")
    for r in rows:
        f, p, rf, rp = r["full"]["fresh"], r["plain"]["fresh"], r["full"]["rebuild"], r["plain"]["rebuild"]
        print(f"{r['posts']:>5}  {f['wall'] / p['wall']:>11.3f} {f['cpu'] / p['cpu']:>5.3f} {f['main'] / p['main']:>6.3f}"
              f"  {rf['wall'] / rp['wall']:>13.3f} {rf['cpu'] / rp['cpu']:>5.3f} {rf['main'] / rp['main']:>6.3f}"
              f"  {rf['wall']:>10.1f} s")
    print("\nApproval → updated page (thread file, article page, counts on listing pages, feeds):")
    print("posts  cold      median    p95       max(all)  burst of 25  full rebuild ÷ median")
    for r in rows:
        print(f"{r['posts']:>5}  {r['cold'] * 1000:>5.0f} ms  {r['median'] * 1000:>5.1f} ms  {r['p95'] * 1000:>5.1f} ms"
              f"  {r['max'] * 1000:>6.0f} ms  {r['burst'] * 1000:>8.0f} ms  {r['full']['rebuild']['wall'] / r['median']:>12.0f}×")

if __name__ == "__main__":
    main()
