"""Read side of moderation: the queue page by page, counts, search, history and the dashboard.

Pages are found by keyset (created, id), newest first, on the (status, created) index, so the
page of a 10,000-comment queue costs what the page of a 10-comment queue costs.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import weakref
from dataclasses import dataclass, field

from sqlalchemy import Text, case, func, or_, select, type_coerce

from .. import service_state as state
from ..i18n import N_
from ..models import STATUSES, Comment, row_id, utcnow
from .models import AuditEntry
from .scope import restrict

PAGE_SIZE = 50
SEARCH_FIELDS = ("all", "text", "author", "email", "address")
_PREFIXES = {"text:": "text", "author:": "author", "email:": "email", "ip:": "address", "address:": "address"}


def parse_search(q: str, field: str = "all") -> tuple[str, str]:
    """The search text and field; "email:x" in the text picks the field too."""
    q = (q or "").strip()
    lowered = q.lower()
    for prefix, name in _PREFIXES.items():
        if lowered.startswith(prefix):
            return q[len(prefix):].strip(), name
    return q, field if field in SEARCH_FIELDS else "all"


def search_filter(q: str, field: str = "all"):
    """A WHERE clause for a search of comment text, author, email or client address."""
    text, field = parse_search(q, field)
    needle = text.lower()

    def contains(col):
        return func.lower(col).contains(needle, autoescape=True)

    clauses = {
        "text": contains(Comment.body),
        "author": contains(Comment.author),
        "email": contains(Comment.email),
        "address": Comment.remote_addr.startswith(text, autoescape=True),
    }
    if field == "all":
        return or_(*clauses.values())
    return clauses[field]


@dataclass
class Page:
    comments: list
    newer: str | None = None  # cursor for the page before (newer comments)
    older: str | None = None  # cursor for the page after (older comments)
    total: int = 0


def encode_cursor(c: Comment) -> str:
    return f"{c.created.strftime('%Y%m%dT%H%M%S.%f')}_{c.id}"


def decode_cursor(raw: str | None) -> tuple[dt.datetime, int] | None:
    """The (created, id) a page link names; None (the first page) for one no page made."""
    if not raw:
        return None
    stamp, _, ident = raw.partition("_")
    try:
        created = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=dt.UTC)
    except ValueError:
        return None
    ident = row_id(ident)
    return None if ident is None else (created, ident)


def queue_page(hub, session, moderator, status: str | None, *, q: str = "", field: str = "all",
               before: str | None = None, after: str | None = None, size: int = PAGE_SIZE, kind: str = "") -> Page:
    """One page of comments in a tab (status None = every status), newest first; `kind` keeps
    only comments or only webmentions."""
    where = [] if status is None else [Comment.status == status]
    if kind:
        where.append(Comment.kind == kind)
    if q.strip():
        where.append(search_filter(q, field))
    base = restrict(select(Comment).where(*where), hub, moderator)
    total = session.scalar(restrict(select(func.count(Comment.id)).where(*where), hub, moderator)) or 0
    newer_cursor, older_cursor = decode_cursor(after), decode_cursor(before)
    if newer_cursor:  # going back towards the newest: read upwards, then show newest first
        created, ident = newer_cursor
        rows = list(session.scalars(
            base.where(Comment.created >= created, or_(Comment.created > created, Comment.id > ident))
            .order_by(Comment.created, Comment.id).limit(size + 1)))
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        page = Page(rows, total=total)
        page.newer = encode_cursor(rows[0]) if more_newer and rows else None
        page.older = encode_cursor(rows[-1]) if rows else None
        return page
    query = base
    if older_cursor:
        created, ident = older_cursor
        query = query.where(Comment.created <= created, or_(Comment.created < created, Comment.id < ident))
    rows = list(session.scalars(query.order_by(Comment.created.desc(), Comment.id.desc()).limit(size + 1)))
    page = Page(rows[:size], total=total)
    page.older = encode_cursor(rows[size - 1]) if len(rows) > size else None
    page.newer = encode_cursor(rows[0]) if older_cursor and rows else None
    return page


def status_counts(hub, session, moderator) -> dict[str, int]:
    rows = session.execute(restrict(select(Comment.status, func.count(Comment.id)), hub, moderator)
                           .group_by(Comment.status)).all()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(dict(rows))
    return counts


def history(session, comments) -> dict[str, dict[str, int]]:
    """Per commenter email (lower-case): how many of their comments are published or spam."""
    emails = {c.email.strip().lower() for c in comments}
    if not emails:
        return {}
    variants = emails | {c.email for c in comments}  # exact values use the email index
    rows = session.execute(select(Comment.email, Comment.status, func.count(Comment.id))
                           .where(Comment.email.in_(variants), Comment.status.in_(("published", "spam")))
                           .group_by(Comment.email, Comment.status)).all()
    found = {e: {"published": 0, "spam": 0} for e in emails}
    for email, status, n in rows:
        found.setdefault(email.strip().lower(), {"published": 0, "spam": 0})[status] += n
    return found


def audit_for(session, comment_ids) -> dict[int, list[AuditEntry]]:
    ids = list(comment_ids)
    found: dict[int, list[AuditEntry]] = {i: [] for i in ids}
    if ids:
        for entry in session.scalars(select(AuditEntry).where(AuditEntry.comment_id.in_(ids))
                                     .order_by(AuditEntry.at, AuditEntry.id)):
            found[entry.comment_id].append(entry)
    return found


def parents(session, comments) -> dict[int, Comment]:
    ids = {c.parent_id for c in comments if c.parent_id}
    if not ids:
        return {}
    return {c.id: c for c in session.scalars(select(Comment).where(Comment.id.in_(ids)))}


# The dashboard ----------------------------------------------------------------------------------
SERIES = (  # labels: the template translates them
    ("received", N_("Received")),
    ("published", N_("Published")),
    ("akismet", N_("Caught by Akismet")),
    ("guards", N_("Caught by local guards")),
)


@dataclass
class Dashboard:
    days: list[dict] = field(default_factory=list)  # {"date", "received", "published", "akismet", "guards"}
    totals: dict = field(default_factory=dict)
    peak: int = 0


def _day(value) -> str:
    return str(value)[:10]


PAST_DAYS_TTL = 300.0  # seconds the finished days of the chart are kept before being counted again
TODAY_TTL = 15.0  # ...and today's counts
_past_days: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_past_lock = threading.Lock()


def forget_dashboard(hub) -> None:
    """Count every day again on the next dashboard (tests, or after a large change)."""
    with _past_lock:
        _past_days.pop(hub, None)


def forget_today(hub) -> None:
    """Count today again on the next dashboard: a moderator has just changed something."""
    with _past_lock:
        for key in [k for k in _past_days.get(hub, {}) if k[-1] == "today"]:
            del _past_days[hub][key]


def _count_days(hub, session, moderator, start: dt.datetime, end: dt.datetime | None) -> dict[str, dict]:
    """Per-day counts of comments received, caught and published between start and end (UTC)."""
    caught_by_akismet = Comment.akismet.in_(("spam", "discard"))
    caught_by_guards = type_coerce(Comment.guard_reasons, Text) != "[]"
    day = func.date(Comment.created)
    window = [Comment.created >= start] + ([Comment.created < end] if end else [])
    received = session.execute(restrict(
        select(day, func.count(Comment.id),
               func.sum(case((caught_by_akismet, 1), else_=0)),
               func.sum(case((caught_by_guards, 1), else_=0)))
        .where(*window), hub, moderator).group_by(day)).all()
    pday = func.date(Comment.published_at)
    pwindow = [Comment.published_at >= start] + ([Comment.published_at < end] if end else [])
    published = session.execute(restrict(
        select(pday, func.count(Comment.id)).where(Comment.status == "published", *pwindow),
        hub, moderator).group_by(pday)).all()
    found: dict[str, dict] = {}

    def slot(d) -> dict:
        return found.setdefault(_day(d), {"received": 0, "published": 0, "akismet": 0, "guards": 0})

    for d, n, by_akismet, by_guards in received:
        slot(d).update(received=n, akismet=int(by_akismet or 0), guards=int(by_guards or 0))
    for d, n in published:
        slot(d)["published"] = n
    return found


def dashboard(hub, session, moderator, days: int = 30, today: dt.date | None = None) -> Dashboard:
    """Per-day counts for the last `days` days (UTC), oldest first, with totals.

    Counts are kept per process for a moment (today's for TODAY_TTL, finished days for
    PAST_DAYS_TTL), so a queue page costs the same with 10 or 10,000 comments in the month.
    """
    today = today or utcnow().date()
    first = today - dt.timedelta(days=days - 1)
    since = dt.datetime.combine(first, dt.time(), tzinfo=dt.UTC)
    midnight = dt.datetime.combine(today, dt.time(), tzinfo=dt.UTC)
    key = (moderator.limited_to_author, first, today)
    now = time.monotonic()
    with _past_lock:
        cached = _past_days.get(hub, {}).get(key)
    if cached is None or now - cached[0] > PAST_DAYS_TTL:
        past = _count_days(hub, session, moderator, since, midnight)
        if moderator.limited_to_author is None:
            # Spam the retention job purged still counts on the day it arrived.
            for d, purged in state.get(session, "purged_stats").items():
                if first.isoformat() <= d < today.isoformat():
                    row = past.setdefault(d, {"received": 0, "published": 0, "akismet": 0, "guards": 0})
                    for name in ("received", "akismet", "guards"):
                        row[name] += int(purged.get(name, 0))
        with _past_lock:
            _past_days.setdefault(hub, {})[key] = (now, past)
    else:
        past = cached[1]
    today_key = key + ("today",)
    with _past_lock:
        cached = _past_days.get(hub, {}).get(today_key)
    if cached is None or now - cached[0] > TODAY_TTL:
        live = _count_days(hub, session, moderator, midnight, None)
        with _past_lock:
            _past_days.setdefault(hub, {})[today_key] = (now, live)
    else:
        live = cached[1]
    counted = {**past, **live}
    empty = {"received": 0, "published": 0, "akismet": 0, "guards": 0}
    result = Dashboard(days=[{"date": d, **counted.get(d, empty)}
                             for d in ((first + dt.timedelta(days=i)).isoformat() for i in range(days))])
    result.totals = {name: sum(day[name] for day in result.days) for name, _ in SERIES}
    result.peak = max([day[name] for day in result.days for name, _ in SERIES] + [0])
    return result
