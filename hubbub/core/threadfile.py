"""The published-comments file of one thread: content/comments/<slug>.json.

Format (the contract between the service and the build):
    {"thread": "<slug>", "comments": [{"id": int, "parent": int|null, "author": str, "url": str,
      "html": str, "created": "2026-11-23T10:00:00+00:00", "author_key": str}, ...]}
in thread order (created ascending). A webmention (another site's post about the article) has
four more keys: "kind": "webmention", "type": "reply" | "like" | "repost" | "bookmark" |
"mention", "source": the http(s) address where it was written, "photo": its author's picture
("" for none); its "created" is when it was written there. Entries without "kind" are comments,
so files written before webmentions read as they did. A missing file means no comments. The
service writes these files (atomically); the build and the fast publisher read them. Nothing else
in them is trusted to be well-formed: a file with the wrong shape is an error that names the file.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .atomic import atomic_remove, atomic_write

# Pelican slugs are [a-z0-9-_.]; refusing anything else also keeps a slug from naming another path.
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

KINDS = ("comment", "webmention")
MENTION_TYPES = ("reply", "like", "repost", "bookmark", "mention")
# Webmentions shown as a row of names with counts rather than as entries of the conversation.
REACTION_TYPES = ("like", "repost", "bookmark")


class ThreadFileError(ValueError):
    """A thread file (or a comment list) has the wrong shape; the message names the file and the fault."""


@dataclass(slots=True)
class Comment:
    """One published comment, as stored in a thread file."""

    id: int
    parent: int | None
    author: str
    url: str
    html: str
    created: datetime  # aware, UTC
    author_key: str
    kind: str = "comment"
    type: str = ""  # a webmention's type (MENTION_TYPES)
    source: str = ""  # where a webmention was written
    photo: str = ""  # a webmention author's picture

    @property
    def is_reaction(self) -> bool:
        """A like, repost or bookmark: counted in a row, not part of the conversation."""
        return self.kind == "webmention" and self.type in REACTION_TYPES

    def to_json(self) -> dict[str, Any]:
        data = {
            "id": self.id,
            "parent": self.parent,
            "author": self.author,
            "url": self.url,
            "html": self.html,
            "created": iso_utc(self.created),
            "author_key": self.author_key,
        }
        if self.kind != "comment":
            data.update(kind=self.kind, type=self.type, source=self.source, photo=self.photo)
        return data


def conversation(comments: Iterable[Comment]) -> list[Comment]:
    """The comments, replies and mentions: what counts, what the feeds carry (not likes and reposts)."""
    return [c for c in comments if not c.is_reaction]


# Characters XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF). A comment
# may carry them (the service keeps what was typed); feeds cannot, and pages are better without.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str) -> str:
    """`value` without the characters XML cannot carry."""
    return _NOT_XML.sub("", value)


def iso_utc(value: datetime) -> str:
    """The contract's timestamp form: UTC, seconds precision, '+00:00'."""
    if value.tzinfo is not UTC or value.microsecond:
        value = value.astimezone(UTC).replace(microsecond=0)
    return value.isoformat()


def check_slug(slug: str) -> str:
    if not isinstance(slug, str) or not _SLUG.match(slug) or ".." in slug:
        raise ThreadFileError(f"{slug!r} is not a valid thread slug (letters, digits, '.', '_', '-')")
    return slug


def thread_path(comments_dir: Path, slug: str) -> Path:
    return Path(comments_dir) / f"{check_slug(slug)}.json"


def _parse_created(value: Any, where: str) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        except ValueError as exc:
            raise ThreadFileError(f"{where}: 'created' is not an ISO 8601 time: {value!r}") from exc
    else:
        raise ThreadFileError(f"{where}: 'created' must be an ISO 8601 string, got {type(value).__name__}")
    if parsed.tzinfo is None:
        raise ThreadFileError(f"{where}: 'created' needs a UTC offset, e.g. 2026-11-23T10:00:00+00:00")
    # Seconds precision, as stored: the publisher (given the service's times) and the build (given
    # the file) must order and show comments alike.
    if parsed.tzinfo is not UTC:
        parsed = parsed.astimezone(UTC)
    return parsed.replace(microsecond=0) if parsed.microsecond else parsed


def _text(item: Mapping, key: str, where: str, required: bool = True) -> str:
    value = item.get(key, None if required else "")
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ThreadFileError(f"{where}: '{key}' must be a string")
    return value


def parse_comments(items: Any, where: str) -> list[Comment]:
    """Validate a list of comment mappings (from a file or from the service) into Comments."""
    if not isinstance(items, list):
        raise ThreadFileError(f"{where}: 'comments' must be a list")
    comments: list[Comment] = []
    seen: set[int] = set()
    for index, item in enumerate(items):
        at = f"{where}: comment #{index + 1}"
        if not isinstance(item, Mapping):
            raise ThreadFileError(f"{at} must be an object")
        cid = item.get("id")
        if not isinstance(cid, int) or isinstance(cid, bool):
            raise ThreadFileError(f"{at}: 'id' must be an integer")
        if cid in seen:
            raise ThreadFileError(f"{at}: id {cid} appears twice")
        seen.add(cid)
        parent = item.get("parent")
        if parent is not None and (not isinstance(parent, int) or isinstance(parent, bool)):
            raise ThreadFileError(f"{at}: 'parent' must be an integer or null")
        author = _text(item, "author", at)
        if not author.strip():
            raise ThreadFileError(f"{at}: 'author' is empty")
        comments.append(
            Comment(
                id=cid,
                parent=parent,
                author=author,
                url=_text(item, "url", at, required=False),
                html=_text(item, "html", at),
                created=_parse_created(item.get("created"), at),
                author_key=_text(item, "author_key", at, required=False),
                **_mention(item, at),
            )
        )
    return comments


def _mention(item: Mapping, where: str) -> dict[str, str]:
    """The webmention keys of an entry (none for a comment)."""
    kind = item.get("kind", "comment")
    if kind not in KINDS:
        raise ThreadFileError(f"{where}: 'kind' must be one of {', '.join(KINDS)}")
    if kind == "comment":
        return {}
    mention_type = item.get("type")
    if mention_type not in MENTION_TYPES:
        raise ThreadFileError(f"{where}: a webmention's 'type' must be one of {', '.join(MENTION_TYPES)}")
    return {"kind": kind, "type": mention_type, "source": _text(item, "source", where, required=False),
            "photo": _text(item, "photo", where, required=False)}


def parse_thread(data: Any, where: str, expected_slug: str | None = None) -> list[Comment]:
    if not isinstance(data, Mapping):
        raise ThreadFileError(f"{where}: expected an object with 'thread' and 'comments'")
    thread = data.get("thread")
    if not isinstance(thread, str):
        raise ThreadFileError(f"{where}: 'thread' must be the article slug (a string)")
    if expected_slug is not None and thread != expected_slug:
        raise ThreadFileError(f"{where}: 'thread' is {thread!r} but the file is named for {expected_slug!r}")
    if "comments" not in data:
        raise ThreadFileError(f"{where}: 'comments' is missing")
    return parse_comments(data["comments"], where)


@dataclass(frozen=True)
class ThreadFile:
    slug: str
    comments: list[Comment]
    digest: str  # sha256 of the file bytes ("" when there is no file): tells a stale page apart


def content_digest(raw: bytes | None) -> str:
    return hashlib.sha256(raw).hexdigest() if raw else ""


def read_thread(comments_dir: Path, slug: str) -> ThreadFile:
    """The published comments of `slug`; no file means none. Raises ThreadFileError naming the file."""
    path = thread_path(comments_dir, slug)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return ThreadFile(slug, [], "")
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ThreadFileError(f"{path}: not valid JSON ({exc}); fix or remove the file") from exc
    return ThreadFile(slug, parse_thread(data, str(path), expected_slug=slug), content_digest(raw))


def thread_slugs(comments_dir: Path) -> list[str]:
    """Slugs that have a thread file (hidden and temporary files are ignored)."""
    directory = Path(comments_dir)
    if not directory.is_dir():
        return []
    return sorted(p.stem for p in directory.glob("*.json") if not p.name.startswith("."))


def encode_thread(slug: str, comments: Iterable[Comment]) -> bytes:
    body = {"thread": slug, "comments": [c.to_json() for c in comments]}
    return (json.dumps(body, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def write_thread(comments_dir: Path, slug: str, comments: list[Comment]) -> str:
    """Atomically replace the thread file (an empty list removes it). Returns the new digest."""
    path = thread_path(comments_dir, slug)
    if not comments:
        atomic_remove(path)
        return ""
    raw = encode_thread(slug, comments)
    atomic_write(path, raw)
    return content_digest(raw)
