"""Read an Isso comment database (SQLite, tables `threads` and `comments`) into an ImportPlan.

Isso threads are page addresses (URIs); they are matched to the site's articles like Disqus
threads (importers/disqus.py): the URI's path, its last segment, then the thread's title as a
slug. Modes: 1 accepted → published, 2 waiting → pending; 4 is the empty placeholder Isso keeps
for a deleted comment that has replies: it is skipped and its replies become top-level comments.
Isso stores the name, email and website HTML-escaped and the text as Markdown; likes and
dislikes, and the commenters' wish for reply emails, have no place in Hubbub and are dropped
with a note. The file is opened read-only: Isso may keep running meanwhile.
"""

from __future__ import annotations

import datetime as dt
import html
import sqlite3
from pathlib import Path

from pelican.utils import slugify

from hubbub.core.words import count as n_of
from hubbub.core.words import were

from .. import markup
from .disqus import PELICAN_SLUG_SUBS, article_slugs, match_thread
from .plan import ImportedComment, ImportFailed, ImportPlan, clean_author, clean_email, clean_ip, clean_url

ACCEPTED, WAITING, DELETED = 1, 2, 4
NEEDED = {"threads": {"id", "uri"}, "comments": {"tid", "id", "parent", "created", "mode", "text"}}


def _connect(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise ImportFailed(f"{path} does not exist: give the path of Isso's database (dbpath in isso.cfg)")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        conn.row_factory = sqlite3.Row
        tables = {name: {col[1] for col in conn.execute(f"PRAGMA table_info({name})")} for name in NEEDED}
    except sqlite3.DatabaseError as exc:
        raise ImportFailed(f"{path} is not a SQLite database ({exc}): give the path of Isso's database") from None
    for name, columns in NEEDED.items():
        missing = columns - tables[name]
        if missing:
            raise ImportFailed(f"{path} is not an Isso database: its {name} table lacks "
                               f"{', '.join(sorted(missing))}" if tables[name] else
                               f"{path} is not an Isso database: it has no {name} table")
    return conn


def _text(value) -> str:
    """Isso's escaped name, email or website as the person typed it."""
    return html.unescape(value or "")


def _created(value, where: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(float(value), dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise ImportFailed(f"{where}: created {value!r} is not a Unix time") from None


def read_isso(path: Path, site_root: Path, output_dir: Path | None = None) -> ImportPlan:
    path = Path(path)
    plan = ImportPlan(source="Isso")
    known = article_slugs(site_root, output_dir)
    conn = _connect(path)
    try:
        threads = {row["id"]: dict(row) for row in conn.execute("SELECT * FROM threads")}
        rows = [dict(row) for row in conn.execute("SELECT * FROM comments ORDER BY id")]
    except sqlite3.DatabaseError as exc:
        raise ImportFailed(f"{path} cannot be read ({exc}): is Isso's database complete?") from None
    finally:
        conn.close()

    slugs = {}
    for tid, thread in threads.items():
        uri, title = thread["uri"] or "", thread.get("title") or ""
        slug = match_thread(uri, uri, known)
        if slug is None and title:
            slug = known.get(slugify(title, regex_subs=PELICAN_SLUG_SUBS))
        slugs[tid] = slug

    placeholders = {row["id"] for row in rows if row["mode"] == DELETED}
    unmatched: dict[str, int] = {}
    votes = voted = notify = top_level = 0
    for row in rows:
        where = f"{path}: Isso comment {row['id']}"
        thread = threads.get(row["tid"])
        if thread is None:
            raise ImportFailed(f"{where} belongs to thread {row['tid']}, which the database does not have")
        if row["mode"] == DELETED:
            plan.skipped["deleted comments (Isso's empty placeholders)"] += 1
            continue
        slug = slugs[row["tid"]]
        if slug is None:
            unmatched[thread["uri"]] = unmatched.get(thread["uri"], 0) + 1
            plan.skipped["comments on threads with no matching article"] += 1
            continue
        if row["mode"] == ACCEPTED:
            status = "published"
        else:
            status = "pending"
            if row["mode"] != WAITING:
                plan.note(f"Isso comment {row['id']} has mode {row['mode']}, which Isso does not use: "
                          "it waits in the moderation queue")
        likes, dislikes = row.get("likes") or 0, row.get("dislikes") or 0
        if likes or dislikes:
            votes += likes + dislikes
            voted += 1
        notify += bool(row.get("notification"))
        parent = row["parent"]
        if parent in placeholders:
            parent = None
            top_level += 1
        body = (row["text"] or "").strip()
        plan.comments.append(ImportedComment(
            key=f"isso:{thread['uri']}:{row['id']}",
            thread=slug,
            author=clean_author(_text(row.get("author"))),
            email=clean_email(_text(row.get("email"))),
            url=clean_url(_text(row.get("website"))),
            body=body,
            html=markup.render(body),
            created=_created(row["created"], where),
            status=status,
            parent_key=f"isso:{thread['uri']}:{parent}" if parent else None,
            remote_addr=clean_ip(row.get("remote_addr")),
        ))
    if votes:
        plan.note(f"{n_of(votes, 'like or dislike', 'likes and dislikes')} on {n_of(voted, 'comment')} "
                  f"{were(votes)} not imported: Hubbub has no votes")
    if notify:
        plan.note(f"{n_of(notify, 'comment')} asked Isso for reply emails; that wish is not carried over: "
                  "commenters tick \"Notify me of replies\" again on their next comment")
    if top_level:
        plan.note(f"{n_of(top_level, 'reply', 'replies')} to comments deleted in Isso "
                  f"{'is' if top_level == 1 else 'are'} shown as top-level comments")
    for uri, count in sorted(unmatched.items(), key=lambda kv: -kv[1])[:10]:
        plan.note(f"no article matches Isso thread {uri} ({n_of(count, 'comment')} not imported): "
                  "give the article that slug, or import after the post exists")
    return plan
