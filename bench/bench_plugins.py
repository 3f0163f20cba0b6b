"""How much the hub_profiles and similar_posts plugins add to a site build.

Generates sites of 1,000 and 5,000 posts (by default) in a temporary directory, with the project's
theme, plugins and settings, author profiles, and published comment threads; then builds each site
with and without the two plugins (every other plugin the same) and prints the times and ratios.

    .venv/bin/python bench/bench_plugins.py [--sizes 1000 5000] [--repeat 1] [--keep]

Each build runs in a fresh Python process so that one build's imports and caches do not help the
next; the times are of the build itself (Pelican run), not interpreter start-up. Wall time is what
a writer waits; CPU time of the build process is steadier on a busy machine, so both are shown,
with the time spent inside the two plugins' own signal handlers.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OURS = ("hubbub.plugins.hub_profiles", "hubbub.plugins.similar_posts")

TOPICS = {
    "email marketing": "email list subscribers newsletter permission unsubscribe open rate subject line "
                       "campaign autoresponder segment bounce deliverability inbox",
    "local seo": "search ranking map listing reviews keywords local citations google business profile "
                 "directory backlinks schema snippet",
    "networking events": "breakfast referral handshake elevator pitch follow-up business card chamber "
                         "meetup introductions speaker room",
    "social media": "followers likes shares hashtags engagement timeline profile platform influencer "
                    "viral audience community posts",
    "computer networks": "router switch packet latency bandwidth protocol firewall subnet gateway dns "
                         "ethernet wireless topology",
    "copywriting": "headline draft editing tone voice persuasion reader story benefit call to action "
                   "clarity sentence",
    "analytics": "metrics dashboard conversion funnel traffic sessions bounce attribution goals "
                 "cohort report measurement",
    "freelancing": "clients invoice pricing proposal contract portfolio rates deadline scope "
                   "retainer pipeline niche",
}
FILLER = ("people week small business time start simple practice honest lesson plan budget better "
          "work often friends first year start habit idea question answer").split()


def _sentence(rng: random.Random, words: list[str], length: int) -> str:
    picked = [rng.choice(words) if rng.random() < 0.55 else rng.choice(FILLER) for _ in range(length)]
    return " ".join(picked).capitalize() + "."


def generate_site(root: Path, posts: int, seed: int = 1) -> Path:
    """A site of `posts` posts by 40 authors (38 with profiles), a third of posts with comments."""
    rng = random.Random(seed)
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(REPO / "pelicanconf.py", root / "pelicanconf.py")
    content = root / "content"
    for sub in ("posts", "authors", "comments", "pages", "images/avatars"):
        (content / sub).mkdir(parents=True, exist_ok=True)
    (content / "images/avatars/default.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8"><circle cx="4" cy="4" r="4"/></svg>\n')

    authors = [f"Writer {chr(65 + n // 10)}{n % 10} Example" for n in range(40)]
    for n, name in enumerate(authors[:38]):
        slug = name.lower().replace(" ", "-")
        (content / "authors" / f"{slug}.md").write_text(
            f"Name: {name}\nEmail: {slug}@example.org\n"
            + ("Avatar: avatars/default.svg\n" if n % 2 else "")
            + f"Tagline: Writes about {rng.choice(list(TOPICS))}\nWebsite: https://{slug}.example.org/\n"
            f"Joined: 20{10 + n % 10}-0{1 + n % 9}-15\n\nA short bio with *some* Markdown.\n",
            encoding="utf-8",
        )

    from hubbub.core import identity  # the same keys the comment service writes

    salt = identity.site_salt(root)
    keys = [identity.author_key(name.lower().replace(" ", "-") + "@example.org", salt) for name in authors]
    topics = list(TOPICS.items())
    for i in range(posts):
        topic, vocabulary = topics[i % len(topics)]
        words = vocabulary.split()
        slug = f"post-{i:05d}"
        title = " ".join(rng.choice(words) for _ in range(4)).title()
        tags = ", ".join(sorted({topic, *rng.sample(words, 2), rng.choice(["tips", "opinion", "how-to"])}))
        paragraphs = [" ".join(_sentence(rng, words, rng.randint(8, 16)) for _ in range(rng.randint(3, 6)))
                      for _ in range(rng.randint(3, 5))]
        body = f"{paragraphs[0]}\n\n## {title}\n\n" + "\n\n".join(paragraphs[1:])
        date = f"{2008 + i * 17 // posts}-{1 + i % 12:02d}-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}"
        (content / "posts" / f"{slug}.md").write_text(
            f"Title: {title}\nDate: {date}\nAuthor: {rng.choice(authors)}\nCategory: {topic.title()}\n"
            f"Tags: {tags}\nSlug: {slug}\nSummary: {_sentence(rng, words, 12)}\n\n{body}\n",
            encoding="utf-8",
        )
        if i % 3 == 0:
            comments = []
            for c in range(rng.randint(1, 8)):
                who = rng.randrange(len(authors) + 20)  # some commenters are writers, most are readers
                comments.append({
                    "id": c + 1, "parent": None, "author": f"Commenter {who}", "url": "",
                    "html": f"<p>{_sentence(rng, words, 20)}</p>",
                    "created": f"2024-{1 + c:02d}-{1 + i % 28:02d}T10:00:00+00:00",
                    "author_key": keys[who] if who < len(keys) else f"{who:064x}",
                })
            (content / "comments" / f"{slug}.json").write_text(json.dumps({"thread": slug, "comments": comments}))
    return root


# Runs in a fresh process. The plugins' signal handlers are wrapped with timers before Pelican
# registers them, so the report can also say how much of the difference is the plugins' own work
# (the rest is rendering what they add to the pages).
_BUILD = """
import json, logging, pathlib, sys, time
logging.disable(logging.WARNING)  # the bench's two missing profiles warn on purpose
site, out, plugins, handlers = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])
spent = {}

def timed(name, function):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.perf_counter() - started
    return wrapper

for module_name, names in handlers.items():
    if module_name in plugins:
        module = __import__(module_name, fromlist=["register"])
        for name in names:
            setattr(module, name, timed(module_name, getattr(module, name)))

from hubbub.build import build_site
started, cpu_started = time.perf_counter(), time.process_time()
build_site(root=pathlib.Path(site), OUTPUT_PATH=out, PLUGINS=plugins)
print(json.dumps({"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu_started,
                  "handlers": spent}))
"""
# The functions each plugin's register() connects to Pelican signals.
HANDLERS = {"hubbub.plugins.hub_profiles": ["build_profiles", "write_avatars"],
            "hubbub.plugins.similar_posts": ["find_similar_posts"]}


def timed_build(site: Path, plugins: list[str], label: str) -> dict:
    """{"seconds": wall time, "cpu": CPU time, "handlers": {plugin: seconds in its signal handlers}}"""
    out = site / f"output-{label}"
    shutil.rmtree(out, ignore_errors=True)
    result = subprocess.run(
        [sys.executable, "-c", _BUILD, str(site), str(out), json.dumps(plugins), json.dumps(HANDLERS)],
        cwd=site, capture_output=True, text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"build of {site} ({label}) failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000], help="numbers of posts")
    parser.add_argument("--repeat", type=int, default=1, help="builds per variant; the fastest counts")
    parser.add_argument("--keep", action="store_true", help="keep the generated sites and print where")
    args = parser.parse_args(argv)

    sys.path.insert(0, str(REPO))
    from hubbub.build import load_settings

    all_plugins = list(load_settings(REPO)["PLUGINS"])
    without = [p for p in all_plugins if p not in OURS]
    workdir = Path(tempfile.mkdtemp(prefix="hubbub-plugins-bench-"))
    rows = []
    try:
        for size in args.sizes:
            site = generate_site(workdir / f"site-{size}", size)
            without_runs, with_runs = [], []
            for _ in range(args.repeat):  # alternate, so a busy moment hurts both variants alike
                without_runs.append(timed_build(site, without, "without"))
                with_runs.append(timed_build(site, all_plugins, "with"))
            base = min(without_runs, key=lambda run: run["seconds"])
            best = min(with_runs, key=lambda run: run["seconds"])
            base_cpu = min(run["cpu"] for run in without_runs)
            best_cpu = min(run["cpu"] for run in with_runs)
            rows.append((size, base["seconds"], best["seconds"], base_cpu, best_cpu, best["handlers"]))
            own = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in sorted(best["handlers"].items()))
            print(f"{size:>6} posts: wall without {base['seconds']:6.2f}s with {best['seconds']:6.2f}s "
                  f"(ratio {best['seconds'] / base['seconds']:4.2f}); CPU without {base_cpu:6.2f}s with "
                  f"{best_cpu:6.2f}s (added {best_cpu - base_cpu:+5.2f}s, ratio {best_cpu / base_cpu:4.2f}); "
                  f"inside the plugins' handlers: {own}", flush=True)
    finally:
        if args.keep:
            print(f"sites kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\nplugins compared: {', '.join(OURS)}; always on: {', '.join(without) or '(none)'}")
    names = sorted(HANDLERS)
    print("| posts | wall without (s) | wall with (s) | wall ratio | CPU without (s) | CPU with (s) | CPU added (s) "
          "| CPU ratio | " + " | ".join(f"{n} handlers (s)" for n in names) + " |")
    print("|---:" * (8 + len(names)) + "|")
    for size, wall_base, wall_full, cpu_base, cpu_full, handlers in rows:
        print(f"| {size} | {wall_base:.2f} | {wall_full:.2f} | {wall_full / wall_base:.2f} | {cpu_base:.2f} | "
              f"{cpu_full:.2f} | {cpu_full - cpu_base:+.2f} | {cpu_full / cpu_base:.2f} | "
              + " | ".join(f"{handlers.get(n, 0.0):.2f}" for n in names) + " |")


if __name__ == "__main__":
    main()
