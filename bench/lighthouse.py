"""Lighthouse audit of the site's page types (issue 16): performance, accessibility, best practices, SEO.

Installs lighthouse@12.2.3 with npm into bench/.lighthouse/ (ignored by git; Lighthouse 13 needs
Node 22) on first use, builds a copy of the project's site with a 100-comment thread on one
article, serves it with the real comment service (its headers and Content-Security-Policy) on
127.0.0.1, and runs Lighthouse with Debian's chromium on each page, one at a time: the site's page
types, then the moderation pages (signed in as an administrator through a session cookie; they
ask search engines not to index them, which Lighthouse's SEO category counts against them). Prints
the four scores per page and every audit that cost points. Not part of `make test`.

    .venv/bin/python bench/lighthouse.py [--preset mobile|desktop] [--pages home article ...]

The machine's load moves the performance score (Lighthouse simulates a slow phone by default);
the other three categories do not depend on it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "bench" / ".lighthouse"
VERSION = "12.2.3"
CHROMIUM = "/usr/bin/chromium"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")


def lighthouse() -> Path:
    binary = TOOL / "node_modules" / ".bin" / "lighthouse"
    if not binary.exists():
        TOOL.mkdir(parents=True, exist_ok=True)
        (TOOL / "package.json").write_text('{"private": true}\n')
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "-E", f"lighthouse@{VERSION}"], cwd=TOOL,
                       check=True)
    return binary


def prepare_site(work: Path) -> tuple[Path, str, dict]:
    sys.path.insert(0, str(REPO / "tests"))
    from publish_helpers import build, comment, make_site, manifest, save_thread

    site = make_site(work)
    out = site / "output"
    build(site, out)
    threads = manifest(out)["threads"]
    slug = sorted(threads)[0]
    save_thread(site, slug, [comment(site, n, (n - 1) if n % 3 == 0 else None, author=f"Reader {n}",
                                     html=f"<p>Comment {n}, with <em>a thought</em>.</p>") for n in range(1, 101)])
    build(site, out)
    author = threads[slug]["posting"]["author"][0]["url"].rstrip("/").rsplit("/", 1)[-1]
    pages = {
        "home": "/", "article": f"/posts/{slug}/", "tag": f"/tag/{sorted(p.name for p in (out / 'tag').iterdir())[0]}/",
        "category": f"/category/{sorted(p.name for p in (out / 'category').iterdir())[0]}/",
        "archives": "/archives/", "authors": "/authors/", "profile": f"/authors/{author}/",
        # Lighthouse refuses to audit an answer with status 404: the same page, fetched by its file name.
        "search": "/search/?q=networking", "404": "/404.html",
    }
    return site, slug, pages


def moderation_pages(app, slug: str) -> tuple[dict, str]:
    """The moderation pages of the accessibility tests, and an administrator's session cookie."""
    from moderation_helpers import add_moderator, insert_comments, login

    from comments_service.moderation.notify import unsubscribe_token

    add_moderator(app, "lighthouse@example.org", "admin")
    pending = insert_comments(app, 5, slug)[0]
    insert_comments(app, 3, slug, status="spam")
    client = app.test_client()
    login(client, "lighthouse@example.org")
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    with app.app_context():
        token = unsubscribe_token(app.extensions["hubbub"], pending)
    pages = {
        "mod-login": "/moderate/login", "mod-queue": "/moderate/", "mod-spam": "/moderate/?status=spam",
        "mod-comment": f"/moderate/comments/{pending}", "mod-edit": f"/moderate/comments/{pending}/edit",
        "mod-audit": "/moderate/audit", "mod-account": "/moderate/account", "mod-team": "/moderate/team",
        "unsubscribe": f"/notifications/unsubscribe/{token}",
    }
    return pages, f"{cookie.key}={cookie.value}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=("mobile", "desktop"), default="mobile")
    parser.add_argument("--pages", nargs="*", help="page names to audit (default: all)")
    args = parser.parse_args(argv)
    binary = lighthouse()
    sys.path.insert(0, str(REPO / "tests"))
    from attack_helpers import serve_app

    from comments_service import create_app

    work = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    try:
        site, slug, pages = prepare_site(work)
        app = create_app(None, env={"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": f"sqlite:///{work / 'c.db'}",
                                    "HUBBUB_INSTANCE_DIR": str(work / "instance"), "HUBBUB_SECRET_KEY": "lighthouse",
                                    "HUBBUB_DEVELOPMENT": "1"}, run_jobs=False)
        signed_in, cookie = moderation_pages(app, slug)
        pages.update(signed_in)
        rows, lost = [], []
        with serve_app(app) as base:
            for name, path in pages.items():
                if args.pages and name not in args.pages:
                    continue
                report = work / f"{name}.json"
                command = [str(binary), base + path, "--output=json", f"--output-path={report}", "--quiet",
                           f"--only-categories={','.join(CATEGORIES)}",
                           "--chrome-flags=--headless --no-sandbox --disable-gpu --disable-background-networking"]
                if args.preset == "desktop":
                    command.append("--preset=desktop")
                if name in signed_in and name != "mod-login":  # signed in, the login page sends on to the queue
                    command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
                done = subprocess.run(command, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)
                if done.returncode != 0:
                    lost.append(f"{name}: Lighthouse failed (exit status {done.returncode}), see above")
                    continue
                data = json.loads(report.read_text())
                scores = {c: round(100 * (data["categories"][c]["score"] or 0)) for c in CATEGORIES}
                rows.append((name, path, scores))
                for category in CATEGORIES:
                    for ref in data["categories"][category]["auditRefs"]:
                        audit = data["audits"][ref["id"]]
                        if ref["weight"] and audit["score"] is not None and audit["score"] < 1:
                            lost.append(f"{name}: {category}: {ref['id']} ({audit['score']}) {audit.get('displayValue', '')}")
                            # Which elements, where the audit names them (accessibility audits do).
                            items = (audit.get("details") or {}).get("items") or []
                            lost += [f"    {item['node'].get('snippet', '')[:160]}" for item in items[:3] if "node" in item]
        app.extensions["hubbub"].stop()
        print(f"\nLighthouse {VERSION}, {args.preset}, chromium {CHROMIUM}")
        print(f"{'page':12} {'perf':>5} {'a11y':>5} {'b.p.':>5} {'seo':>5}  path")
        for name, path, s in rows:
            print(f"{name:12} {s['performance']:5} {s['accessibility']:5} {s['best-practices']:5} {s['seo']:5}  {path}")
        if lost:
            print("\nAudits that cost points:\n  " + "\n  ".join(lost))
        (REPO / "bench" / "results").mkdir(parents=True, exist_ok=True)
        (REPO / "bench" / "results" / "lighthouse.json").write_text(json.dumps(
            [{"page": n, "path": p, **s} for n, p, s in rows], indent=1))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
