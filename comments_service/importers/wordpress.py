"""Read a WordPress export (WXR 1.0–1.2, Tools → Export in WordPress) into an ImportPlan.

The file is streamed with iterparse, so a large export needs little memory: each <item> is
turned into a post, a page or skipped as soon as it has been read, then dropped.

- Published posts and pages become Markdown files (content/posts/, content/pages/) with Title,
  Date (as WordPress showed it), Author (display name), Category, Tags, Slug and Summary (the
  excerpt, else the text before <!--more-->, else the first paragraph).
- Drafts, pending, scheduled, private, password-protected and trashed items are skipped and counted.
- Every comment on an imported post is kept: author, email, url, address, date (GMT), parent
  and status (1 → published, 0/hold → pending, spam → spam, trash → rejected). Pingbacks and
  trackbacks, and comments on pages (Hubbub pages have no comment threads), are counted, not kept.
- Authors of imported posts and pages become profile stubs (content/authors/<slug>.md).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import html
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from hubbub.core.words import count as n_of

from .. import markup
from .convert import MORE, first_paragraph, plain_text, shortcodes, to_markdown, wordpress_html
from .plan import (
    AuthorStub,
    Document,
    ImportedComment,
    ImportFailed,
    ImportPlan,
    clean_author,
    clean_email,
    clean_ip,
    clean_url,
)

_WP_NS = re.compile(r"^https?://wordpress\.org/export/1\.\d+/$")
_EXCERPT_NS = re.compile(r"^https?://wordpress\.org/export/1\.\d+/excerpt/$")
_NAMESPACES = {
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
}
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

STATUSES = {"1": "published", "approve": "published", "approved": "published",
            "0": "pending", "hold": "pending", "unapproved": "pending",
            "spam": "spam", "trash": "rejected", "post-trashed": "rejected"}
SKIPPED_POST_STATUS = {"draft": "drafts", "auto-draft": "drafts", "pending": "drafts (pending review)",
                       "future": "scheduled posts", "private": "private posts", "trash": "trashed posts"}


def _kind(uri: str) -> str:
    if uri in _NAMESPACES:
        return _NAMESPACES[uri]
    if _WP_NS.match(uri):
        return "wp"
    if _EXCERPT_NS.match(uri):
        return "excerpt"
    return uri


def _name(tag: str) -> tuple[str, str]:
    """("wp", "post_id") for "{http://wordpress.org/export/1.2/}post_id"; ("", "title") without one."""
    if tag.startswith("{"):
        uri, local = tag[1:].split("}", 1)
        return _kind(uri), local
    return "", tag


def _fields(element: ET.Element) -> dict[tuple[str, str], str]:
    """The text of each direct child, by (namespace kind, name); the first of repeated ones."""
    out: dict[tuple[str, str], str] = {}
    for child in element:
        out.setdefault(_name(child.tag), child.text or "")
    return out


def _wp_date(value: str | None) -> dt.datetime | None:
    """WordPress's "YYYY-MM-DD HH:MM:SS" (naive); None for empty or the zero date."""
    value = (value or "").strip()
    if not value or value.startswith("0000-00-00"):
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise ValueError(value)


def _rss_date(value: str | None) -> dt.datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(value) if value and value.strip() else None
    except (TypeError, ValueError):
        return None
    return parsed


def _text(value: str | None) -> str:
    """Titles and names as people read them: entities decoded, one line."""
    return " ".join(html.unescape(value or "").split())


def site_key(url: str) -> str:
    """A stable short name for the exported site, used in every import_key."""
    parts = urlsplit(url.strip())
    key = (parts.netloc + parts.path).rstrip("/").lower() or "unknown-site"
    return key if len(key) <= 100 else hashlib.sha256(key.encode()).hexdigest()[:32]


class _Progress:
    """A file wrapper that moves a tqdm bar by the bytes read."""

    def __init__(self, fh: BinaryIO, bar):
        self.fh, self.bar = fh, bar

    def read(self, size: int = -1) -> bytes:
        data = self.fh.read(size)
        self.bar.update(len(data))
        return data


class WordPressReader:
    """Turns the stream of WXR elements into an ImportPlan; see the module docstring."""

    def __init__(self, slug_of):
        self.slug_of = slug_of  # author name → the slug Pelican gives it
        self.plan = ImportPlan(source="WordPress")
        self.version: str | None = None
        self.channel: dict[tuple[str, str], str] = {}
        self.authors: dict[str, dict] = {}  # login → fields
        self.used: dict[str, set[str]] = defaultdict(set)  # "posts"/"pages" → slugs taken in this import
        self.first_post: dict[str, dt.date] = {}  # author name → date of their first imported item
        self.old_images = 0

    # Channel-level elements ------------------------------------------------------------
    def channel_field(self, element: ET.Element) -> None:
        name = _name(element.tag)
        if name == ("wp", "wxr_version"):
            self.version = (element.text or "").strip()
        elif name == ("wp", "author"):
            f = _fields(element)
            login = (f.get(("wp", "author_login")) or "").strip()
            if login:
                self.authors[login] = {
                    "name": _text(f.get(("wp", "author_display_name"))) or login,
                    "email": (f.get(("wp", "author_email")) or "").strip(),
                }
        elif len(element) == 0:
            self.channel.setdefault(name, (element.text or "").strip())

    @property
    def site(self) -> str:
        return site_key(self.channel.get(("wp", "base_blog_url")) or self.channel.get(("", "link")) or "")

    # Items -----------------------------------------------------------------------------
    def item(self, element: ET.Element) -> None:
        if self.version is None:
            raise ImportFailed("this is not a WordPress export (WXR): it has items but no <wp:wxr_version>; "
                               "export the site with Tools → Export in WordPress")
        f = _fields(element)
        post_id = (f.get(("wp", "post_id")) or "?").strip()
        title = _text(f.get(("", "title")))
        post_type = (f.get(("wp", "post_type")) or "post").strip()
        status = (f.get(("wp", "status")) or "").strip()
        comments = [c for c in element if _name(c.tag) == ("wp", "comment")]
        if post_type not in ("post", "page"):
            self.plan.skipped["attachments (media stays on the old site)" if post_type == "attachment"
                              else "other items (menus, revisions, blocks...)"] += 1
            return
        where = f"{post_type} {post_id} ({title!r})" if title else f"{post_type} {post_id}"
        reason = None
        if status != "publish":
            reason = SKIPPED_POST_STATUS.get(status, f"items with status {status or 'none'!r}")
        elif (f.get(("wp", "post_password")) or "").strip():
            reason = "password-protected posts"
        if reason:
            self.plan.skipped[reason] += 1
            if comments:
                self.plan.skipped["comments on items not imported"] += len(comments)
            return
        date = self._date(f, where)
        slug = self._slug(f, title, post_type, post_id)
        author = self._author(f.get(("dc", "creator")))
        self.first_post[author] = min(self.first_post.get(author, date.date()), date.date())
        self.plan.documents.append(self._document(element, f, where, post_type, title, slug, date, author))
        if post_type == "page":
            if comments:
                self.plan.skipped["comments on pages (Hubbub pages have no comment threads)"] += len(comments)
            return
        for comment in comments:
            self._comment(comment, slug, where)

    def _date(self, f: dict, where: str) -> dt.datetime:
        try:
            date = _wp_date(f.get(("wp", "post_date"))) or _wp_date(f.get(("wp", "post_date_gmt")))
        except ValueError as exc:
            raise ImportFailed(f"{where}: wp:post_date {exc.args[0]!r} is not a date (YYYY-MM-DD HH:MM:SS)") from None
        if date is None:
            rss = _rss_date(f.get(("", "pubDate")))
            date = rss.replace(tzinfo=None) if rss else None
        if date is None:
            raise ImportFailed(f"{where} has no date (wp:post_date is empty): give it a publication date "
                               "in WordPress and export again")
        return date

    def _slug(self, f: dict, title: str, post_type: str, post_id: str) -> str:
        from pelican.utils import slugify

        raw = unquote((f.get(("wp", "post_name")) or "").strip())
        slug = raw if _SLUG.match(raw) and ".." not in raw else slugify(raw or title or "", regex_subs=[
            (r"[^\w\s-]", ""), (r"(?u)\A\s*", ""), (r"(?u)\s*\Z", ""), (r"[-\s]+", "-")])
        slug = slug if _SLUG.match(slug or "") else f"{post_type}-{post_id}"
        taken = self.used["posts" if post_type == "post" else "pages"]
        base, n = slug, 2
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        if slug != base:
            self.plan.note(f"{post_type} {post_id} ({title!r}) shares the slug {base!r}: imported as {slug!r}")
        taken.add(slug)
        return slug

    def _author(self, login: str | None) -> str:
        login = (login or "").strip()
        if login and login not in self.authors:
            self.authors[login] = {"name": _text(login), "email": ""}
        return self.authors[login]["name"] if login else "Unknown author"

    def _document(self, element, f, where, post_type, title, slug, date, author) -> Document:
        raw = f.get(("content", "encoded")) or ""
        more = MORE.search(raw)
        conversion = to_markdown(MORE.sub("", raw))
        for note in conversion.notes:
            self.plan.note(f"{where}: {note}")
        uploads = (self.channel.get(("wp", "base_site_url")) or "").rstrip("/") + "/wp-content/uploads/"
        if len(uploads) > len("/wp-content/uploads/"):
            self.old_images += conversion.markdown.count(uploads)
        lines = [f"Title: {title or slug}", f"Date: {date:%Y-%m-%d %H:%M}"]
        if post_type == "post":
            lines.append(f"Author: {author}")
            categories = [_text(c.text) for c in element
                          if _name(c.tag) == ("", "category") and c.get("domain") == "category" and c.text]
            tags = [_text(c.text) for c in element
                    if _name(c.tag) == ("", "category") and c.get("domain") == "post_tag" and c.text]
            named = [c for c in categories if c.lower() != "uncategorized"]
            if named:
                lines.append(f"Category: {named[0]}")
            extra = [t for t in named[1:] + tags if "," not in t]
            if extra:
                lines.append("Tags: " + ", ".join(dict.fromkeys(extra)))
        lines.append(f"Slug: {slug}")
        summary = self._summary(f.get(("excerpt", "encoded")) or "", raw[:more.start()] if more else None, raw)
        if summary and post_type == "post":
            lines.append(f"Summary: {summary}")
        folder = "posts" if post_type == "post" else "pages"
        return Document(post_type, slug, title, f"{folder}/{slug}.md", "\n".join(lines) + "\n\n" + conversion.markdown)

    @staticmethod
    def _summary(excerpt: str, before_more: str | None, content: str) -> str:
        def text(source: str) -> str:
            return plain_text(wordpress_html(shortcodes(source, [])))

        if excerpt.strip():
            return text(excerpt)
        if before_more is not None and before_more.strip():
            return text(before_more)
        return plain_text(first_paragraph(wordpress_html(shortcodes(content, []))))

    def _comment(self, element: ET.Element, thread: str, where: str) -> None:
        f = _fields(element)
        cid = (f.get(("wp", "comment_id")) or "").strip()
        if not cid:
            raise ImportFailed(f"{where}: a comment has no wp:comment_id")
        ctype = (f.get(("wp", "comment_type")) or "").strip()
        if ctype in ("pingback", "trackback"):
            self.plan.skipped["pingbacks and trackbacks"] += 1
            return
        at = f"{where}, comment {cid}"
        approved = (f.get(("wp", "comment_approved")) or "").strip().lower()
        status = STATUSES.get(approved)
        if status is None:
            status = "pending"
            self.plan.note(f"{at}: unknown status {approved!r}, imported as pending for a moderator")
        try:
            created = _wp_date(f.get(("wp", "comment_date_gmt"))) or _wp_date(f.get(("wp", "comment_date")))
        except ValueError as exc:
            raise ImportFailed(f"{at}: date {exc.args[0]!r} is not a date (YYYY-MM-DD HH:MM:SS)") from None
        if created is None:
            raise ImportFailed(f"{at} has no date (wp:comment_date_gmt is empty)")
        body = to_markdown(f.get(("wp", "comment_content")) or "").markdown.strip()
        parent = (f.get(("wp", "comment_parent")) or "0").strip()
        self.plan.comments.append(ImportedComment(
            key=f"wordpress:{self.site}:{cid}",
            thread=thread,
            author=clean_author(html.unescape(f.get(("wp", "comment_author")) or "")),
            email=clean_email(f.get(("wp", "comment_author_email"))),
            url=clean_url(f.get(("wp", "comment_author_url"))),
            body=body,
            html=markup.render(body),
            created=created.replace(tzinfo=dt.UTC),
            status=status,
            parent_key=None if parent in ("", "0") else f"wordpress:{self.site}:{parent}",
            remote_addr=clean_ip(f.get(("wp", "comment_author_IP"))),
            user_agent=(f.get(("wp", "comment_agent")) or "").strip(),
        ))

    # The end ---------------------------------------------------------------------------
    def finish(self) -> ImportPlan:
        if self.version is None:
            raise ImportFailed("this is not a WordPress export (WXR): there is no <wp:wxr_version>; "
                               "export the site with Tools → Export in WordPress")
        for _login, info in self.authors.items():
            name = info["name"]
            slug = self.slug_of(name)
            if name not in self.first_post:
                self.plan.skipped["authors with nothing published (no profile made)"] += 1
                continue
            if not slug:
                continue
            self.plan.authors.append(AuthorStub(name=name, slug=slug, email=info["email"],
                                                joined=self.first_post.get(name), source="WordPress"))
        if self.old_images:
            self.plan.note(f"{n_of(self.old_images, 'image')} still {'loads' if self.old_images == 1 else 'load'} from the old site's wp-content/uploads/: "
                           "copy them to content/images/ and change the links if that site will go away")
        return self.plan


def read_wordpress(path: Path, slug_of, progress: bool | None = None) -> ImportPlan:
    """Parse the WXR file at `path` into a plan; ImportFailed names what is wrong and where."""
    from . import progress_bar

    path = Path(path)
    try:
        size = path.stat().st_size
        fh = path.open("rb")
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    reader = WordPressReader(slug_of)
    # disable=None: tqdm shows the bar only when stderr is a terminal.
    bar = progress_bar(total=size, unit="B", unit_scale=True, desc=f"Reading {path.name}", leave=False,
               disable=None if progress is None else not progress, mininterval=0.5)
    try:
        stack: list[ET.Element] = []
        for event, element in ET.iterparse(_Progress(fh, bar), events=("start", "end")):
            if event == "start":
                if not stack and _name(element.tag) != ("", "rss"):
                    raise ImportFailed("this is not a WordPress export (WXR): its root element is "
                                       f"<{_name(element.tag)[1]}>, not <rss>")
                stack.append(element)
                continue
            stack.pop()
            depth = len(stack)
            if depth == 2 and _name(stack[1].tag) == ("", "channel"):
                if _name(element.tag) == ("", "item"):
                    reader.item(element)
                else:
                    reader.channel_field(element)
                stack[1].remove(element)  # done with it: keep memory flat on large files
    except ET.ParseError as exc:
        raise ImportFailed(f"{path} is not valid XML ({exc}): is it the .xml file WordPress exported, complete?") from None
    except ImportFailed as exc:
        raise ImportFailed(f"{path}: {exc}") from None
    finally:
        fh.close()
        bar.close()
    try:
        return reader.finish()
    except ImportFailed as exc:
        raise ImportFailed(f"{path}: {exc}") from None
