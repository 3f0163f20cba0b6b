"""Shared helpers for the publishing tests: a private copy of the real site, builds, thread files.

The real project's content/comments/ is never touched: each test gets its own copy of the site
(content and settings copied; the theme and plugins are the installed package's).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from hubbub.build import build_site
from hubbub.core.identity import author_key, site_salt
from hubbub.core.threadfile import parse_comments, write_thread

PROJECT = Path(__file__).resolve().parent.parent

HOSTILE_NAME = '<script>alert("pwned")</script> & "Eve"'
HOSTILE_URL = 'https://eve.example/?q="><script>alert(1)</script>&x=1'


def make_site(tmp_path: Path) -> Path:
    """A copy of the real site under tmp_path/site with an empty content/comments/."""
    site = tmp_path / "site"
    site.mkdir()
    for name in ("pelicanconf.py", "publishconf.py"):
        shutil.copy2(PROJECT / name, site / name)
    shutil.copytree(
        PROJECT / "content", site / "content", ignore=shutil.ignore_patterns("comments", "*.json", ".salt")
    )
    (site / "content" / "comments").mkdir()
    return site


def build(site: Path, out: Path, **override) -> dict:
    return build_site(site, OUTPUT_PATH=str(out), **override)


def key(site: Path, email: str) -> str:
    return author_key(email, site_salt(site))


def comment(site: Path, id: int, parent: int | None = None, *, author: str | None = None, url: str = "",
            html: str | None = None, minute: int | None = None, email: str | None = None) -> dict:
    email = email or f"writer{id}@example.org"
    return {
        "id": id,
        "parent": parent,
        "author": author or f"Writer {id}",
        "url": url,
        "html": html if html is not None else f"<p>Comment number {id}.</p>",
        "created": f"2026-11-20T{10 + (minute if minute is not None else id) // 60:02d}:"
                   f"{(minute if minute is not None else id) % 60:02d}:00+00:00",
        "author_key": key(site, email),
    }


def save_thread(site: Path, slug: str, comments: list[dict]) -> None:
    write_thread(site / "content" / "comments", slug, parse_comments(comments, "test data"))


def manifest(out: Path) -> dict:
    return json.loads((out / ".hubbub" / "manifest.json").read_text(encoding="utf-8"))


def section(html: str, slug: str) -> str:
    begin = f"<!-- hubbub:comments begin {slug} -->"
    end = f"<!-- hubbub:comments end {slug} -->"
    start, stop = html.index(begin), html.index(end)
    return html[start : stop + len(end)]


COUNT = re.compile(r'<a class="comment-count" data-thread="[^"]*"[^>]*>[^<]*</a>')


def counts(html: str) -> list[str]:
    return COUNT.findall(html)


def email_traces(email: str) -> list[str]:
    """The email and the plain hashes of it a page must never contain (Gravatar-style md5, sha256)."""
    normal = email.strip().lower().encode()
    return [email, email.lower(), hashlib.md5(normal).hexdigest(), hashlib.sha256(normal).hexdigest()]


def all_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
