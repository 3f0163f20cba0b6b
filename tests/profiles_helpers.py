"""Tiny Hubbub sites for the profile and similar-posts tests.

A site made here uses the project's real pelicanconf.py, theme and plugins, so a test builds it
exactly as `hubbub build` would, only with its own content and into its own directory.
"""

from __future__ import annotations

import importlib
import json
import re
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def plugin_module(name: str):
    """A plugin module of the package (hubbub.plugins.<name>)."""
    return importlib.import_module(f"hubbub.plugins.{name}")


def make_site(root: Path, extra_settings: str = "") -> Path:
    """An empty site in `root`: real settings, theme and plugins; content/ ready for files."""
    for sub in ("posts", "authors", "comments", "images/avatars", "pages"):
        (root / "content" / sub).mkdir(parents=True, exist_ok=True)
    conf = (REPO / "pelicanconf.py").read_text(encoding="utf-8")
    conf += f"\n{extra_settings}\n"
    (root / "pelicanconf.py").write_text(conf, encoding="utf-8")
    return root


def write_post(site: Path, slug: str, title: str, author: str, date: str, tags=(), body: str = "Text.",
               summary: str | None = None) -> Path:
    lines = [f"Title: {title}", f"Date: {date}", f"Author: {author}", "Category: Testing", f"Slug: {slug}"]
    if tags:
        lines.append("Tags: " + ", ".join(tags))
    if summary:
        lines.append(f"Summary: {summary}")
    path = site / "content" / "posts" / f"{slug}.md"
    path.write_text("\n".join(lines) + "\n\n" + body + "\n", encoding="utf-8")
    return path


def write_profile(site: Path, slug: str, fields: dict[str, str], bio: str = "") -> Path:
    path = site / "content" / "authors" / f"{slug}.md"
    head = "".join(f"{key}: {value}\n" for key, value in fields.items())
    path.write_text(head + "\n" + bio + "\n", encoding="utf-8")
    return path


def write_thread(site: Path, slug: str, comments: list[dict]) -> Path:
    """A published thread file in the service's format (ids and defaults filled in)."""
    full = []
    for number, comment in enumerate(comments, 1):
        full.append({"id": number, "parent": None, "url": "", "author_key": "", **comment})
    path = site / "content" / "comments" / f"{slug}.json"
    path.write_text(json.dumps({"thread": slug, "comments": full}), encoding="utf-8")
    return path


def build(site: Path, **override) -> Path:
    """Build the site with the real Pelican (via hubbub's build_site) into site/output."""
    from hubbub.build import build_site

    out = site / "output"
    build_site(root=site, OUTPUT_PATH=str(out), **override)
    return out


def read(out: Path, page: str) -> str:
    return (out / page).read_text(encoding="utf-8")


def section(html: str, css_class: str) -> str:
    """The first element whose class list starts with `css_class` (with its content), or ''."""
    match = re.search(rf'<(\w+)[^>]*class="{re.escape(css_class)}[" ][^>]*>', html)
    if not match:
        return ""
    tag = match.group(1)
    depth, pos = 0, match.start()
    for m in re.finditer(rf"<(/?){tag}\b[^>]*>", html[match.start():]):
        depth += -1 if m.group(1) else 1
        if depth == 0:
            return html[match.start(): match.start() + m.end()]
    return html[pos:]


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links.append((self._href, "".join(self._text).strip()))
            self._href = None


def links(html: str) -> list[tuple[str, str]]:
    """(href, text) of every link in `html`, in order."""
    parser = _Links()
    parser.feed(html)
    return parser.links


def text_of(html: str) -> str:
    """Visible text, whitespace collapsed (entities decoded)."""
    import html as html_lib

    return re.sub(r"\s+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", html))).strip()
