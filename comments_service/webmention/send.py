"""Sending webmentions for our posts' links to other sites.

The build is service-free: it records each article's external links and a digest of its content
in the manifest (hubbub/core/outlinks.py). The service looks at the manifest every SCAN_EVERY
seconds (job "webmention-scan"; nothing happens when it has not changed) and compares it with
what it last sent (table sent_webmentions):
- a link of a new or changed post (other digest) is announced: job "webmention-send" per link;
- a link the post no longer has (or a post that is gone) is announced once more, so that the
  other side, finding no link, can take its mention down;
- an unchanged post sends nothing.
The first scan of a site only records what is there ("baseline"): turning Hubbub on over an old
blog does not announce years of links. `hubbub webmention send POST` announces one post anyway.

A send discovers the target's endpoint (discover.py) and posts source and target to it, both
through the same SSRF guard as receiving. Faults are retried with backoff; an answer of 4xx, or
no endpoint, is recorded and not retried until the post changes. HUBBUB_WEBMENTION_SEND=0 stops
the automatic sending; a site whose address is not public (a development site) sends nothing
unless HUBBUB_WEBMENTION_ALLOW_PRIVATE=1.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
from dataclasses import dataclass

from sqlalchemy import select

from .. import service_state as state
from ..jobs import RetryLater, backoff, enqueue
from ..models import utcnow
from .discover import endpoint as find_endpoint
from .fetch import FetchError, fetch
from .models import SentWebmention, pair_key

log = logging.getLogger(__name__)

SEND_KIND = "webmention-send"
SCAN_KIND = "webmention-scan"
SCAN_EVERY = 60.0
MAX_ATTEMPTS = 8
STATE = "webmention_send"


@dataclass
class Outcome:
    status: str  # sent, no-endpoint, failed
    endpoint: str
    response: str


def _fingerprint(threads: dict) -> str:
    material = {s: [t.get("absolute_url"), t.get("content_digest"), t.get("links")] for s, t in threads.items()}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def public_site(hub) -> bool:
    """Whether other sites could fetch our posts to verify what we send them."""
    if hub.config.webmention_allow_private:
        return True
    from urllib.parse import urlsplit

    host = (urlsplit(hub.site_url()).hostname or "").lower()
    if host in ("localhost", "") or host.endswith((".localhost", ".local", ".test")):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return True  # a name: assume the public one it looks like


def scan(hub, session, *, thread: str | None = None, force: bool = False) -> list[SentWebmention]:
    """Bring the record of sent webmentions in line with the manifest; the rows due a send.

    `thread` limits it to one post; `force` announces that post's links even when unchanged.
    The first scan of the whole site only records it (baseline)."""
    threads = hub.threads.all()
    baseline = thread is None and not state.get(session, STATE).get("started")
    query = select(SentWebmention)
    if thread is not None:
        query = query.where(SentWebmention.thread == thread)
    known = {(r.thread, r.target): r for r in session.scalars(query)}
    due: list[SentWebmention] = []

    def announce(row: SentWebmention, digest: str) -> None:
        row.wanted_digest, row.status = digest, "queued"
        due.append(row)

    for slug, entry in threads.items():
        digest = entry.get("content_digest")
        if (thread is not None and slug != thread) or digest is None:
            continue  # another post, or a manifest from before webmentions
        for target in entry.get("links", []):
            row = known.pop((slug, target), None)
            if row is None:
                row = SentWebmention(key=pair_key(slug, target), thread=slug, target=target, status="queued",
                                     endpoint="", response="")
                session.add(row)
                if baseline:
                    row.status, row.sent_digest, row.wanted_digest = "baseline", digest, digest
            row.source, row.linked = entry["absolute_url"], True
            if not baseline and (force or row.sent_digest != digest):
                announce(row, digest)
    for (slug, _target), row in known.items():
        if row.linked or force:
            row.linked = False  # the post lost this link, or the post is gone
            if not baseline:
                announce(row, (threads.get(slug) or {}).get("content_digest") or "gone")
    if baseline:
        state.put(session, STATE, started=utcnow().isoformat())
        log.info("webmentions: recorded the links of %d posts as already announced; "
                 "`hubbub webmention send POST` announces one of them", len(threads))
    session.flush()
    return due


def scan_job(hub, payload: dict) -> None:
    from ..moderation.schedule import schedule_next

    with hub.transaction() as s:
        schedule_next(s, SCAN_KIND, SCAN_EVERY, after_slot=payload.get("slot", 0))
    if not hub.config.webmention_send or not hub.threads.available:
        return
    threads = hub.threads.all()
    fingerprint = _fingerprint(threads)
    with hub.transaction() as s:
        if state.get(s, STATE).get("fingerprint") == fingerprint:
            return  # the same build as last time
        if not public_site(hub):
            log.warning("webmentions are not sent: the site's address %s is not public", hub.site_url())
            state.put(s, STATE, fingerprint=fingerprint)
            return
        for row in scan(hub, s):
            enqueue(s, SEND_KIND, {"sent": row.id}, key=row.key)
        state.put(s, STATE, fingerprint=fingerprint)


def schedule_scan(hub) -> None:
    from ..moderation.schedule import schedule_next

    with hub.transaction() as s:
        schedule_next(s, SCAN_KIND, SCAN_EVERY)


def deliver(hub, source: str, target: str, *, dry_run: bool = False) -> Outcome:
    """Discover the target's endpoint and (unless dry_run) send it source and target.

    Raises FetchError for a fault worth retrying."""
    allow = hub.config.webmention_allow_private
    try:
        page = fetch(target, allow_private=allow)
    except FetchError as exc:
        if exc.retry:
            raise
        return Outcome("no-endpoint", "", f"the target could not be fetched: {exc}")
    if page.status >= 500 or page.status == 429:
        raise FetchError(f"the target answers {page.status}", retry=True)
    found = find_endpoint(page) if page.status < 400 else None
    if found is None:
        reason = f"the target answers {page.status}" if page.status >= 400 else "the target names no endpoint"
        return Outcome("no-endpoint", "", reason)
    if dry_run:
        return Outcome("would-send", found, "")
    try:
        answer = fetch(found, allow_private=allow, method="POST", data={"source": source, "target": target},
                       accept="*/*", follow_redirects=False)
    except FetchError as exc:
        if exc.retry:
            raise
        return Outcome("failed", found, str(exc))
    said = f"{answer.status} {answer.text()[:300].strip()}".strip()
    if answer.status >= 500 or answer.status == 429:
        raise FetchError(f"the endpoint answers {said}", retry=True)
    return Outcome("sent" if 200 <= answer.status < 300 else "failed", found, said)


def send_row(hub, row_id: int) -> Outcome | None:
    """Send one due row now and record the outcome (FetchError for a fault worth retrying)."""
    with hub.sessions() as s:
        row = s.get(SentWebmention, row_id)
        if row is None or row.status != "queued":
            return None
        source, target, wanted = row.source, row.target, row.wanted_digest
    try:
        outcome = deliver(hub, source, target)
    except FetchError as exc:
        with hub.transaction() as s:
            row = s.get(SentWebmention, row_id)
            if row is not None:
                row.response = f"retrying: {exc}"[:2000]
        raise
    with hub.transaction() as s:
        row = s.get(SentWebmention, row_id)
        if row is not None and row.wanted_digest == wanted:
            row.status, row.endpoint, row.response = outcome.status, outcome.endpoint[:2000], outcome.response[:2000]
            row.sent_digest, row.sent_at = wanted, utcnow()
    log.info("webmention %s → %s: %s %s", source, target, outcome.status, outcome.response[:100])
    return outcome


def send_job(hub, payload: dict) -> None:
    from ..moderation.schedule import attempts

    try:
        send_row(hub, payload["sent"])
    except FetchError as exc:
        tries = attempts(hub, SEND_KIND, _key(hub, payload["sent"]))
        if tries >= MAX_ATTEMPTS:
            with hub.transaction() as s:
                row = s.get(SentWebmention, payload["sent"])
                if row is not None:
                    row.status, row.response = "failed", f"gave up after {tries} tries: {exc}"[:2000]
            return
        raise RetryLater(backoff(tries), str(exc)) from exc


def _key(hub, row_id: int) -> str:
    with hub.sessions() as s:
        row = s.get(SentWebmention, row_id)
        return row.key if row else ""
