"""`hubbub import webmentionio FILE.json`: the webmentions a site received at webmention.io.

The file is webmention.io's JF2 export ({"type": "feed", "children": [entries]}, each entry with
wm-id, wm-source, wm-target, wm-property, author, content, published, wm-received, wm-private).
Each entry whose target is an article of this site becomes a published webmention (webmention.io
showed them; it has no moderation), with a received-webmention record so that the same source
sending again later updates it instead of adding a second one. Private entries are skipped.
Importing twice adds nothing (import_key "webmentionio:<wm-id>"). Everything is read and checked
before anything is written, and written in one transaction.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import secrets
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from hubbub.core.weburl import safe_url

from ..markup import sanitise
from ..models import Comment, utcnow
from ..publish import request_publish
from ..webmention.models import VERIFIED, Webmention, mention_key, pair_key
from .plan import ImportFailed

PROPERTIES = {"in-reply-to": "reply", "like-of": "like", "repost-of": "repost", "bookmark-of": "bookmark",
              "mention-of": "mention"}


@dataclass
class Report:
    added: Counter = field(default_factory=Counter)  # type → count
    already: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason → count
    threads: list[str] = field(default_factory=list)


def read_file(path: Path) -> list[dict]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImportFailed(f"{path} is not JSON ({exc}): give the file webmention.io's API exported") from None
    children = data.get("children") if isinstance(data, dict) else data
    if not isinstance(children, list):
        raise ImportFailed(f"{path} is not a webmention.io export: it has no \"children\" list (JF2 feed)")
    for n, child in enumerate(children, 1):
        if not isinstance(child, dict):
            raise ImportFailed(f"{path}: entry #{n} is not an object")
    return children


def _time(value, fallback: dt.datetime) -> dt.datetime:
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
        except ValueError:
            pass
    return fallback


def _mention(child: dict, thread: str) -> dict:
    author = child.get("author") if isinstance(child.get("author"), dict) else {}
    source, target = child["wm-source"], child["wm-target"]
    kind = PROPERTIES.get(child.get("wm-property"), "mention")
    content = child.get("content") if isinstance(child.get("content"), dict) else {}
    text = " ".join(str(content.get("text") or "").split())[:10_000]
    fragment = sanitise(str(content.get("html") or "")) if content.get("html") else (
        f"<p>{html.escape(text)}</p>" if text else "")
    received = _time(child.get("wm-received"), utcnow())
    published = _time(child.get("published"), received)
    url = safe_url(str(author.get("url") or ""))
    return {
        "thread": thread, "kind": "webmention", "source": "import", "status": "published",
        "author": (" ".join(str(author.get("name") or "").split()) or (url or source).split("/")[2])[:100],
        "email": "", "url": url if len(url) <= 200 else "", "body": text,
        "html": "" if kind in ("like", "repost", "bookmark") else fragment,
        "created": received, "published_at": received, "akismet": "unchecked", "guard_reasons": [],
        "user_agent": "", "referrer": "", "notify": False,
        "mention": {"type": kind, "source": source, "target": target,
                    "url": safe_url(str(child.get("url") or "")) or source,
                    "photo": safe_url(str(author.get("photo") or "")), "published": published.isoformat()},
    }


def import_webmentionio(hub, path: Path, *, dry_run: bool = False) -> Report:
    children = read_file(path)
    report = Report()
    planned = []
    for child in children:
        source, target = child.get("wm-source"), child.get("wm-target")
        if child.get("wm-private"):
            report.skipped["private webmentions"] += 1
            continue
        if not (isinstance(source, str) and safe_url(source) and isinstance(target, str) and safe_url(target)):
            report.skipped["without an http(s) source and target"] += 1
            continue
        thread = hub.articles.thread_for(target)
        if thread is None:
            report.skipped["for addresses that are not articles of this site"] += 1
            continue
        key = f"webmentionio:{child.get('wm-id') or pair_key(source, target)}"[:200]
        planned.append((key, mention_key(source, thread), pair_key(source, target), _mention(child, thread)))
    with hub.transaction() as s:
        keys = {k for (k,) in s.execute(select(Comment.import_key).where(Comment.import_key.in_([p[0] for p in planned])))}
        pairs = set(s.scalars(select(Webmention.key).where(Webmention.key.in_(
            [p[1] for p in planned] + [p[2] for p in planned]))))  # and as mentions were keyed before
        threads = set()
        for key, pair, legacy, values in planned:
            if key in keys or pair in pairs or legacy in pairs:
                report.already += 1
                continue
            keys.add(key)
            pairs.add(pair)
            report.added[values["mention"]["type"]] += 1
            if dry_run:
                continue
            comment = Comment(import_key=key, **values)
            s.add(comment)
            s.flush()
            mention = values["mention"]
            s.add(Webmention(key=pair, token=secrets.token_urlsafe(16), source=mention["source"],
                             target=mention["target"], thread=values["thread"], status=VERIFIED,
                             reason="imported from webmention.io", comment_id=comment.id, user_agent="",
                             received=values["created"], checked=values["created"], created=utcnow()))
            threads.add(values["thread"])
        if dry_run:
            s.rollback()
            return report
        for thread in sorted(threads):
            request_publish(s, thread, delay=0)
        report.threads = sorted(threads)
    return report
