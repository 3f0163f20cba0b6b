"""Helpers for tests of the built site: copy the project, build it, read what Pelican wrote.

Everything goes through the real build (hubbub.build.build_site) and the real
seed content; expectations are computed from content/ so that adding a post needs no test edit.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import html5lib

from hubbub.build import build_site

ROOT = Path(__file__).resolve().parents[1]
# What a site project is: its content, theme, plugins and settings (the Python package and the
# machine state beside them - output/, .venv/, instance/, caches - are not copied).
SITE_PARTS = ("content", "pelicanconf.py", "publishconf.py")
ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def copy_site(dest: Path, source: Path = ROOT) -> Path:
    """A private copy of the site project (content, theme, plugins, settings) to change freely.

    Site-level text files (blocklists and the like) come along too.
    """
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in list(SITE_PARTS) + sorted(p.name for p in source.glob("*.txt")):
        src = source / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=ignore)
        elif src.is_file():
            shutil.copy2(src, dest / part)
    return dest


def build(output: Path, root: Path | None = None, publish: bool = False, **override) -> dict:
    """Build `root` (the real project by default) into `output`; returns Pelican's settings."""
    return build_site(root or ROOT, publish=publish, OUTPUT_PATH=str(output), **override)


# -- seed content ------------------------------------------------------------------------------

def read_metadata(path: Path) -> dict:
    """The Pelican-style `Key: value` header of a Markdown file, keys lower-cased."""
    meta = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip().lower()] = value.strip()
    return meta


@dataclass
class Post:
    source: Path
    title: str
    slug: str
    author: str
    author_slug: str
    category: str
    category_slug: str
    tags: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"posts/{self.slug}/"

    @property
    def output_file(self) -> str:
        return f"posts/{self.slug}/index.html"


def _slugify(text: str, settings: dict, kind: str) -> str:
    from pelican.utils import slugify

    subs = settings.get(f"{kind}_REGEX_SUBSTITUTIONS") or settings["SLUG_REGEX_SUBSTITUTIONS"]
    return slugify(text, regex_subs=subs, preserve_case=settings.get("SLUGIFY_PRESERVE_CASE", False))


def seed_posts(settings: dict, root: Path = ROOT) -> list[Post]:
    posts = []
    for path in sorted((root / "content" / "posts").glob("*.md")):
        meta = read_metadata(path)
        if meta.get("status", "published").lower() != "published":
            continue
        posts.append(Post(
            source=path,
            title=meta["title"],
            slug=meta.get("slug") or _slugify(meta["title"], settings, "SLUG"),
            author=meta["author"],
            author_slug=_slugify(meta["author"], settings, "AUTHOR"),
            category=meta["category"],
            category_slug=_slugify(meta["category"], settings, "CATEGORY"),
            tags=[t.strip() for t in meta.get("tags", "").split(",") if t.strip()],
        ))
    return posts


# -- HTML --------------------------------------------------------------------------------------

_STRICT = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
_LENIENT = html5lib.HTMLParser(namespaceHTMLElements=False)


class MalformedHTML(AssertionError):
    pass


def parse_html(data: bytes, strict: bool = True, name: str = "page") -> ET.Element:
    """The page's element tree. Strict: any HTML5 parse error (unclosed or stray tag,
    duplicate attribute, bad nesting the parser has to repair) raises MalformedHTML."""
    if not strict:
        return _LENIENT.parse(data)
    try:
        return _STRICT.parse(data)
    except html5lib.html5parser.ParseError as exc:
        (line, col), code, _ = _STRICT.errors[-1]
        raise MalformedHTML(f"{name}:{line}:{col}: {code}: {exc}") from None


def text_of(element: ET.Element) -> str:
    """Visible text of an element, whitespace collapsed."""
    return " ".join("".join(element.itertext()).split())


def html_pages(output: Path) -> list[Path]:
    return sorted(output.rglob("*.html"))


def page_url(output: Path, page: Path, base: str = "http://site.invalid/") -> str:
    """The URL a page is served at (a directory URL for index.html), under `base`."""
    rel = page.relative_to(output).as_posix()
    if rel.endswith("index.html"):
        rel = rel[: -len("index.html")]
    return base + rel


@dataclass(frozen=True)
class Link:
    page: str  # output-relative path of the page holding the link
    tag: str
    attribute: str
    value: str


def links_of(tree: ET.Element, page: str) -> list[Link]:
    found = []
    for element in tree.iter():
        for attribute in ("href", "src", "action", "poster", "data"):
            if attribute in element.attrib:
                found.append(Link(page, element.tag, attribute, element.attrib[attribute]))
        srcset = element.attrib.get("srcset")
        if srcset:
            for candidate in srcset.split(","):
                found.append(Link(page, element.tag, "srcset", candidate.split()[0]))
    return found


def resolve_internal(output: Path, url: str, site_origins: tuple[str, ...]) -> tuple[Path, str] | None:
    """The output file an absolute URL names, and its fragment; None when the URL is not ours.

    `url` is already joined against the page's own URL (http://site.invalid/...). URLs on one of
    `site_origins` (SITEURL, which feeds and the sitemap use) are ours too.
    """
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    ours = ("http://site.invalid",) + tuple(o.rstrip("/") for o in site_origins)
    if origin not in ours:
        return None
    path = unquote(parts.path).lstrip("/")
    target = output / path
    if path == "" or path.endswith("/") or target.is_dir():
        target = target / "index.html"
    return target, parts.fragment


def ids_of(tree: ET.Element) -> list[str]:
    return [e.attrib["id"] for e in tree.iter() if "id" in e.attrib]


# -- feeds and sitemap -------------------------------------------------------------------------

def feed_links(path: Path) -> list[str]:
    """Entry/item links of an Atom or RSS feed, parsed with xml.etree (raises if not XML)."""
    root = ET.parse(path).getroot()
    if root.tag == f"{ATOM}feed":
        return [link.attrib["href"] for entry in root.iter(f"{ATOM}entry")
                for link in entry.findall(f"{ATOM}link") if link.attrib.get("rel", "alternate") == "alternate"]
    if root.tag == "rss":
        return [item.findtext("link") for item in root.iter("item")]
    raise AssertionError(f"{path} is neither Atom nor RSS: root element {root.tag}")


def sitemap_locs(path: Path) -> list[str]:
    return [loc.text.strip() for loc in ET.parse(path).getroot().iter(f"{SITEMAP}loc")]


def relative_to_site(url: str, site_url: str) -> str:
    """'posts/x/' from 'http://127.0.0.1:8000/posts/x/'."""
    assert url.startswith(site_url.rstrip("/") + "/"), f"{url} is not under {site_url}"
    return url[len(site_url.rstrip("/")) + 1:]


def join(base: str, ref: str) -> str:
    return urljoin(base, ref)
