"""Read a Disqus export (Admin → Community → Export; <disqus xmlns="http://disqus.com">) into a plan.

Disqus threads are matched to the site's articles by slug: the thread's identifier if it is a
slug, else the last part of its link's path (https://old.example/2011/03/my-post/ → my-post),
else a link equal to the article's URL. Comments on threads that match no article are counted and
listed, not imported. Statuses: isSpam → spam, isDeleted → rejected, isApproved false →
pending, otherwise published. Messages are HTML and become Markdown, then sanitised HTML.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote, urlsplit

from hubbub.core.words import count as n_of

from .. import markup
from .convert import to_markdown
from .plan import ImportedComment, ImportFailed, ImportPlan, clean_author, clean_email, clean_ip

NS = "http://disqus.com"
DSQ = "http://disqus.com/disqus-internals"
DSQ_ID = f"{{{DSQ}}}id"
_META_LINE = re.compile(r"^([A-Za-z]+):\s*(.*)$")
# Pelican's default SLUG_REGEX_SUBSTITUTIONS: how it turns a title into a slug.
PELICAN_SLUG_SUBS = [(r"[^\w\s-]", ""), (r"(?u)\A\s*", ""), (r"(?u)\s*\Z", ""), (r"[-\s]+", "-")]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return element.find(f"{{{NS}}}{name}")


def _text(element: ET.Element, *path: str) -> str:
    for name in path:
        element = _child(element, name) if element is not None else None
    return (element.text or "").strip() if element is not None else ""


def _true(value: str) -> bool:
    return value.strip().lower() == "true"


def _content_slug(path: Path) -> str | None:
    """The slug Pelican gives a post file: its Slug line, else its title slugified."""
    from pelican.utils import slugify

    title = None
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.strip():
            break
        match = _META_LINE.match(line)
        if match and match.group(1).lower() == "slug":
            return match.group(2).strip()
        if match and match.group(1).lower() == "title":
            title = match.group(2).strip()
    return slugify(title, regex_subs=PELICAN_SLUG_SUBS) if title else None


def article_slugs(site_root: Path, output_dir: Path | None = None) -> dict[str, str]:
    """What can be matched: {slug: slug} for every post, plus {URL path: slug} from the built site."""
    known: dict[str, str] = {}
    for path in sorted((Path(site_root) / "content" / "posts").glob("**/*.md")):
        slug = _content_slug(path)
        if slug:
            known[slug] = slug
    manifest = Path(output_dir or Path(site_root) / "output") / ".hubbub" / "manifest.json"
    try:
        threads = json.loads(manifest.read_text(encoding="utf-8")).get("threads", {})
    except (OSError, ValueError):
        threads = {}
    for slug, entry in threads.items():
        known[slug] = slug
        if isinstance(entry, dict) and entry.get("url"):
            known["/" + entry["url"].strip("/")] = slug
    return known


def match_thread(identifier: str, link: str, known: dict[str, str]) -> str | None:
    if identifier in known:
        return known[identifier]
    for candidate in (link, identifier):
        path = unquote(urlsplit(candidate).path).rstrip("/")
        if not path:
            continue
        if path in known:
            return known[path]
        last = path.rsplit("/", 1)[-1]
        last = re.sub(r"\.(html?|php)$", "", last)
        if last in known:
            return known[last]
    return None


def _created(value: str, where: str) -> dt.datetime:
    if not value:
        raise ImportFailed(f"{where} has no createdAt")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ImportFailed(f"{where}: createdAt {value!r} is not an ISO 8601 time") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def read_disqus(path: Path, site_root: Path, output_dir: Path | None = None, progress: bool | None = None) -> ImportPlan:
    from . import progress_bar
    from .wordpress import _Progress

    path = Path(path)
    plan = ImportPlan(source="Disqus")
    known = article_slugs(site_root, output_dir)
    threads: dict[str, dict] = {}  # dsq:id or <id> → {"slug", "link", "forum"}
    posts: list[dict] = []
    by_text_id: dict[str, str] = {}  # a post's <id> → its dsq:id
    unmatched: dict[str, int] = {}
    try:
        size = path.stat().st_size
        fh = path.open("rb")
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    bar = progress_bar(total=size, unit="B", unit_scale=True, desc=f"Reading {path.name}", leave=False,
               disable=None if progress is None else not progress, mininterval=0.5)
    root, depth = None, 0
    try:
        for event, element in ET.iterparse(_Progress(fh, bar), events=("start", "end")):
            if event == "start":
                depth += 1
                if root is None:
                    root = element
                    if element.tag != f"{{{NS}}}disqus":
                        raise ImportFailed(f"{path} is not a Disqus export: its root element is "
                                           f"<{_local(element.tag)}>, not <disqus xmlns=\"{NS}\">")
                continue
            depth -= 1
            if depth != 1:  # only the root's children (category, thread, post) are read whole
                continue
            name = _local(element.tag)
            if name == "thread":
                info = {"identifier": _text(element, "id"), "link": _text(element, "link"),
                        "forum": _text(element, "forum") or "disqus", "title": _text(element, "title")}
                info["slug"] = match_thread(info["identifier"], info["link"], known)
                for key in (element.get(DSQ_ID), info["identifier"]):
                    if key:
                        threads.setdefault(key, info)
            elif name == "post":
                posts.append(_post(element, path))
                if posts[-1]["text_id"]:
                    by_text_id[posts[-1]["text_id"]] = posts[-1]["id"]
            root.remove(element)
    except ET.ParseError as exc:
        raise ImportFailed(f"{path} is not valid XML ({exc}): is it the complete file Disqus sent?") from None
    finally:
        fh.close()
        bar.close()
    if root is None:
        raise ImportFailed(f"{path} is empty")

    for post in posts:
        thread = threads.get(post["thread"])
        where = f"{path}: Disqus post {post['id']}"
        if thread is None:
            raise ImportFailed(f"{where} belongs to thread {post['thread']!r}, which the file does not declare")
        if thread["slug"] is None:
            unmatched[thread["link"] or thread["identifier"]] = unmatched.get(thread["link"] or thread["identifier"], 0) + 1
            plan.skipped["comments on threads with no matching article"] += 1
            continue
        if post["spam"]:
            status = "spam"
        elif post["deleted"]:
            status = "rejected"
        elif post["approved"] is False:
            status = "pending"
        else:
            status = "published"
        body = to_markdown(post["message"], wordpress=False).markdown.strip()
        parent = post["parent"]
        if parent and post["parent_is_text"]:
            parent = by_text_id.get(parent, parent)
        forum = thread["forum"]
        plan.comments.append(ImportedComment(
            key=f"disqus:{forum}:{post['id']}",
            thread=thread["slug"],
            author=clean_author(post["author"]),
            email=clean_email(post["email"]),
            url="",
            body=body,
            html=markup.render(body),
            created=_created(post["created"], where),
            status=status,
            parent_key=f"disqus:{forum}:{parent}" if parent else None,
            remote_addr=clean_ip(post["ip"]),
        ))
    for link, count in sorted(unmatched.items(), key=lambda kv: -kv[1])[:10]:
        plan.note(f"no article matches Disqus thread {link} ({n_of(count, 'comment')} not imported): "
                  "give the article that slug, or import after the post exists")
    return plan


def _post(element: ET.Element, path: Path) -> dict:
    dsq_id = element.get(DSQ_ID) or _text(element, "id")
    if not dsq_id:
        raise ImportFailed(f"{path}: a <post> has neither a dsq:id nor an <id>")
    thread_el = _child(element, "thread")
    parent_el = _child(element, "parent")
    thread = (thread_el.get(DSQ_ID) or (thread_el.text or "").strip()) if thread_el is not None else ""
    parent, parent_is_text = "", False
    if parent_el is not None:
        parent = parent_el.get(DSQ_ID) or ""
        if not parent:
            parent, parent_is_text = (parent_el.text or "").strip(), True
    approved = _text(element, "isApproved")
    author = _child(element, "author")
    return {
        "id": dsq_id,
        "text_id": _text(element, "id"),
        "thread": thread,
        "parent": parent,
        "parent_is_text": parent_is_text,
        "message": _text(element, "message"),
        "created": _text(element, "createdAt"),
        "spam": _true(_text(element, "isSpam")),
        "deleted": _true(_text(element, "isDeleted")),
        "approved": None if not approved else _true(approved),
        "author": _text(author, "name") if author is not None else "",
        "email": _text(author, "email") if author is not None else "",
        "ip": _text(element, "ipAddress"),
    }
