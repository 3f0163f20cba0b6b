"""What an import will do, worked out completely before anything is written.

Each importer (WordPress, Disqus, Hubbub JSON) reads its whole file into an ImportPlan and raises
ImportFailed on bad input; only a plan that parsed cleanly is applied (files.py, store.py), so a
bad file never leaves half an import behind.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections import Counter
from dataclasses import dataclass, field

from hubbub.core.weburl import safe_url


class ImportFailed(Exception):
    """The input cannot be imported; the message names the file or item and what is wrong."""


@dataclass
class Document:
    """A Markdown file to write under content/ (a post or a page)."""

    kind: str  # "post" or "page"
    slug: str
    title: str
    relpath: str  # e.g. "posts/my-post.md", relative to content/
    text: str


@dataclass
class AuthorStub:
    name: str
    slug: str
    email: str = ""
    joined: dt.date | None = None
    source: str = "WordPress"


@dataclass
class ImportedComment:
    """One comment as it will be stored. `key` is its import_key: the same source comment always
    gets the same key, so a second import finds it and adds nothing."""

    key: str
    thread: str
    author: str
    email: str
    url: str
    body: str  # Markdown
    html: str  # sanitised, rendered once here
    created: dt.datetime  # aware UTC
    status: str
    parent_key: str | None = None
    remote_addr: str | None = None
    user_agent: str = ""
    referrer: str = ""
    akismet: str = "unchecked"


# What an importer leaves out (the keys of `skipped`, written for many), for one: "1 draft".
SKIPPED_ONE = {
    "drafts": "draft", "drafts (pending review)": "draft (pending review)",
    "scheduled posts": "scheduled post", "private posts": "private post", "trashed posts": "trashed post",
    "password-protected posts": "password-protected post",
    "attachments (media stays on the old site)": "attachment (media stays on the old site)",
    "other items (menus, revisions, blocks...)": "other item (a menu, revision, block...)",
    "comments on items not imported": "comment on an item not imported",
    "comments on pages (Hubbub pages have no comment threads)": "comment on a page (Hubbub pages have no comment threads)",
    "pingbacks and trackbacks": "pingback or trackback",
    "authors with nothing published (no profile made)": "author with nothing published (no profile made)",
    "deleted comments (Isso's empty placeholders)": "deleted comment (Isso's empty placeholder)",
    "comments on threads with no matching article": "comment on a thread with no matching article",
    "private webmentions": "private webmention",
}


def skipped_text(reason: str, n: int) -> str:
    """A count of what was left out: "1 draft", "2 drafts", "1 item with status 'odd'"."""
    if n != 1:
        return f"{n} {reason}"
    if reason.startswith("items with status "):
        return f"1 item{reason[len('items'):]}"
    return f"1 {SKIPPED_ONE.get(reason, reason)}"


@dataclass
class ImportPlan:
    source: str  # "WordPress", "Disqus"
    documents: list[Document] = field(default_factory=list)
    authors: list[AuthorStub] = field(default_factory=list)
    comments: list[ImportedComment] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # reason → count
    notes: list[str] = field(default_factory=list)  # things a person should look at afterwards

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)


# Small shared field cleaners: imported data was never validated by our submit path. -----------

def clean_author(name: str | None) -> str:
    name = " ".join((name or "").split())
    return (name or "Anonymous")[:100]


def clean_email(email: str | None) -> str:
    email = (email or "").strip()
    return email if len(email) <= 254 else ""


def clean_url(url: str | None) -> str:
    """An http(s) URL that fits the column, or "" (WordPress often stores just "http://")."""
    url = safe_url(url)
    return url if len(url) <= 200 else ""


def clean_ip(ip: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((ip or "").strip()))
    except ValueError:
        return None
