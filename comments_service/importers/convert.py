"""HTML from another blog engine → clean Markdown (posts) and plain text (summaries).

WordPress stores classic-editor posts and all comments as "HTML without paragraphs": blank lines
mean paragraphs, single newlines mean line breaks (its `wpautop` adds the tags when a page is
shown). So paragraphs are added first, the shortcodes that matter are turned into HTML, then
markdownify writes Markdown (lists, links, images, headings, quotes, code, tables) and decodes
entities. Text that merely looks like HTML (a post about `<script>`) stays text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from markdownify import MarkdownConverter

BLOCK_TAGS = (
    "address|article|aside|blockquote|dd|div|dl|dt|fieldset|figcaption|figure|footer|form|h[1-6]|header|"
    "hr|li|nav|ol|p|pre|section|table|tbody|td|tfoot|th|thead|tr|ul|iframe|script|style|object|embed|video|audio"
)
_BLOCK_LINE = re.compile(rf"^\s*</?(?:{BLOCK_TAGS})\b", re.I)
# Containers whose inner lines are left alone (WordPress does not add paragraphs inside them).
_CONTAINER_OPEN = re.compile(r"<(pre|ul|ol|table|blockquote|div|dl|figure|script|style)\b[^>]*>", re.I)
_CONTAINER_CLOSE = re.compile(r"</(pre|ul|ol|table|blockquote|div|dl|figure|script|style)\s*>", re.I)
_GUTENBERG = re.compile(r"<!--\s*/?wp:[^>]*-->")
MORE = re.compile(r"<!--\s*more\b[^>]*-->", re.I)
_NEXTPAGE = re.compile(r"<!--\s*nextpage\s*-->", re.I)

# [name attr="v"]inner[/name] and [name attr="v"]; names as WordPress allows them.
_SHORTCODE_PAIR = re.compile(r"\[(?P<name>[A-Za-z][\w-]*)(?P<attrs>(?:\s[^\]]*)?)\](?P<inner>.*?)\[/(?P=name)\]", re.S)
_SHORTCODE_SINGLE = re.compile(r"\[(?P<name>[A-Za-z][\w-]*)(?P<attrs>\s[^\]]*=[^\]]*|=[^\]]+)\]")
_MEDIA_SINGLE = re.compile(r"\[(?P<name>embed|video|audio|youtube|vimeo|soundcloud|wpvideo)(?P<attrs>[\s=][^\]]*)\]", re.I)
_ATTR = re.compile(r"""(\w[\w-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|(\S+))""")
_URL = re.compile(r"https?://[^\s\"'<>\]]+")
MEDIA_SHORTCODES = {"embed", "video", "audio", "youtube", "vimeo", "soundcloud", "wpvideo"}
DROPPED_SHORTCODES = {"gallery", "playlist", "contact-form", "contact-form-7", "wpforms"}


@dataclass
class Conversion:
    """Markdown plus what the reader of the import summary should know about."""

    markdown: str
    notes: list[str] = field(default_factory=list)


def _attrs(raw: str) -> dict[str, str]:
    return {m.group(1).lower(): next(v for v in m.groups()[1:] if v is not None) for m in _ATTR.finditer(raw or "")}


def _first_url(*texts: str) -> str | None:
    for text in texts:
        found = _URL.search(text or "")
        if found:
            return found.group(0)
    return None


def _link(url: str) -> str:
    safe = html.escape(url, quote=True)
    return f"\n\n<p><a href=\"{safe}\">{safe}</a></p>\n\n"


def shortcodes(text: str, notes: list[str]) -> str:
    """Turn the WordPress shortcodes a reader would miss into HTML; drop the rest, noting it."""

    def pair(m: re.Match) -> str:
        name, attrs, inner = m.group("name").lower(), _attrs(m.group("attrs")), m.group("inner")
        if name in ("caption", "wp_caption"):
            media = re.search(r"(<a\b[^>]*>\s*)?<img\b[^>]*>(\s*</a>)?", inner, re.I)
            caption = attrs.get("caption") or (inner[media.end():] if media else inner)
            caption = re.sub(r"<[^>]+>", "", caption).strip()
            image = media.group(0) if media else ""
            return f"\n\n<p>{image}</p>\n\n" + (f"<p><em>{caption}</em></p>\n\n" if caption else "")
        if name in MEDIA_SHORTCODES:
            url = _first_url(inner, attrs.get("src", ""), attrs.get("mp4", ""), attrs.get("url", ""), m.group("attrs"))
            return _link(url) if url else ""
        if name in DROPPED_SHORTCODES:
            notes.append(f"[{name}] left out: add it back by hand")
            return ""
        notes.append(f"[{name}] shortcode removed, its text kept")
        return inner

    def single(m: re.Match) -> str:
        name = m.group("name").lower()
        if name in MEDIA_SHORTCODES:
            url = _first_url(m.group("attrs"))
            return _link(url) if url else ""
        notes.append(f"[{name}] left out: add it back by hand" if name in DROPPED_SHORTCODES
                     else f"[{name}] shortcode removed")
        return ""

    # Inner shortcodes first ([caption] may hold a link that holds an image, never another pair).
    previous = None
    while previous != text:
        previous, text = text, _SHORTCODE_PAIR.sub(pair, text)
    return _SHORTCODE_SINGLE.sub(single, _MEDIA_SINGLE.sub(single, text))


def autop(text: str) -> str:
    """WordPress's paragraphs: blank lines separate paragraphs, newlines inside one are <br>.

    Lines inside block containers (lists, tables, quotes, pre...) are left as they are.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    out: list[str] = []
    para: list[str] = []
    depth = 0

    def flush():
        if para:
            out.append("<p>" + "<br />\n".join(para) + "</p>")
            para.clear()

    for line in text.split("\n"):
        if depth > 0:
            out.append(line)
        elif not line.strip():
            flush()
            continue
        elif _BLOCK_LINE.match(line):
            flush()
            out.append(line)
        else:
            para.append(line.strip())
        depth += len(_CONTAINER_OPEN.findall(line)) - len(_CONTAINER_CLOSE.findall(line))
        depth = max(depth, 0)
    flush()
    return "\n".join(out)


class _Converter(MarkdownConverter):
    """markdownify, plus: text that looks like a tag or an entity stays text in the Markdown."""

    def escape(self, text, parent_tags):
        text = super().escape(text, parent_tags)
        text = re.sub(r"&(?=#?\w+;)", "&amp;", text)
        return re.sub(r"<(?=[A-Za-z/!?])", "&lt;", text)


def _markdownify(source: str) -> str:
    converter = _Converter(heading_style="ATX", bullets="-", strip=["span", "font"], code_language="")
    markdown = converter.convert(source)
    markdown = re.sub(r"[ \t]+\n(?=\n)", "\n", markdown)  # trailing spaces before a blank line mean nothing
    markdown = re.sub(r"\n{3,}", "\n\n", markdown)
    return markdown.strip() + "\n"


def wordpress_html(source: str, *, paragraphs: bool | None = None) -> str:
    """WordPress post or comment HTML as real HTML (paragraphs added, block comments removed)."""
    source = source or ""
    if paragraphs is None:
        paragraphs = "<!-- wp:" not in source  # block-editor content already has its <p> tags
    source = _NEXTPAGE.sub("\n\n<hr />\n\n", _GUTENBERG.sub("", source))
    return autop(source) if paragraphs else source


def to_markdown(source: str, *, wordpress: bool = True) -> Conversion:
    """Markdown for a post or comment body. `wordpress`: apply its paragraph and shortcode rules."""
    notes: list[str] = []
    if wordpress:
        source = wordpress_html(shortcodes(source or "", notes))
    return Conversion(_markdownify(source or ""), notes)


class _TextOnly(HTMLParser):
    """Text of an HTML fragment, leaving out what a summary should not quote."""

    SKIP = {"script", "style", "figure", "figcaption", "pre", "table"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skipping += 1
        elif tag in ("br", "p", "li", "div") or re.fullmatch(r"h[1-6]", tag):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skipping:
            self.skipping -= 1

    def handle_data(self, data):
        if not self.skipping:
            self.parts.append(data)


def plain_text(source: str, limit: int = 300) -> str:
    """One line of text from HTML (for a Summary), cut at a word boundary."""
    parser = _TextOnly()
    parser.feed(source or "")
    parser.close()
    text = " ".join("".join(parser.parts).split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0].rstrip(",;:.") + "…"
    return text


_PARAGRAPH = re.compile(r"<p\b[^>]*>(.*?)</p>", re.S | re.I)


def first_paragraph(source: str) -> str:
    """The first paragraph with text in it, as HTML."""
    for match in _PARAGRAPH.finditer(source or ""):
        if plain_text(match.group(1)):
            return match.group(0)
    return source or ""
