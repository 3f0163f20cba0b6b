"""The verification job: fetch the source, make sure it links our article, read what it says.

    (job "webmention-verify")  fetch the source under the SSRF guard (fetch.py)
        410 / 404               the source is gone: its mention is removed
        5xx, 429, time-outs     tried again with backoff, MAX_ATTEMPTS times in all
        other answers           rejected, with the reason on the status URL
        200 without a link      the mention is removed (or never made)
        200 with a link         mf2.py reads it; store.py creates or updates its comment, whose
                                check (local guards, Akismet) and moderation follow as for any comment

A mention already on the site stays when its source merely fails to answer: only the source
saying so (gone, or no longer linking) removes it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from bs4 import BeautifulSoup

from ..jobs import RetryLater, backoff
from ..models import utcnow
from .fetch import FetchError, Page, fetch
from .mf2 import Entry, plain_mention, read_entry
from .models import QUEUED, REJECTED, REMOVED, VERIFIED, Webmention
from .store import remove_mention, save_mention

log = logging.getLogger(__name__)

KIND = "webmention-verify"
MAX_ATTEMPTS = 6  # about a quarter of an hour of retries
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Attributes through which a page links (or embeds) another address.
LINK_ATTRIBUTES = {"href": ("a", "area", "link"), "src": ("img", "video", "audio", "source", "iframe"),
                   "cite": ("blockquote", "q", "ins", "del")}


def request_verify(session, wm: Webmention) -> None:
    from ..jobs import enqueue

    # Keyed by the pair: the same webmention sent again while waiting is verified once.
    enqueue(session, KIND, {"webmention": wm.id}, key=wm.key)


def html_links(soup: BeautifulSoup, base: str) -> list[str]:
    from urllib.parse import urljoin

    base_tag = soup.find("base", href=True)
    if base_tag is not None:
        base = urljoin(base, base_tag["href"])
    found = []
    for attribute, tags in LINK_ATTRIBUTES.items():
        for tag in soup.find_all(tags, attrs={attribute: True}):
            found.append(urljoin(base, str(tag[attribute]).strip()))
    return found


def _json_strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _json_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _json_strings(v)]
    return []


def read_source(page: Page, source: str, refers: Callable[[str], bool]) -> Entry | None:
    """What the source says about our article, or None when it does not link it.

    Raises FetchError for a kind of document that cannot link anything (an image, say)."""
    if page.content_type in HTML_TYPES or not page.content_type:
        soup = BeautifulSoup(page.body, "lxml", from_encoding=page.charset)
        if not any(refers(link) for link in html_links(soup, page.url)):
            return None
        return read_entry(soup, page.url, source, refers)
    if page.content_type == "application/json" or page.content_type.endswith("+json"):
        try:
            strings = _json_strings(json.loads(page.text()))
        except ValueError:
            strings = []
    elif page.content_type == "text/plain":
        strings = page.text().split()
    else:
        raise FetchError(f"the source is {page.content_type}, not a web page (HTML), JSON or text")
    if not any(refers(s.strip("<>()[]\"'.,;")) for s in strings):
        return None
    return plain_mention(source)


def _finish(hub, wm_id: int, status: str, reason: str, *, entry: Entry | None = None, refers=None,
            remove: bool = False) -> None:
    """Record the outcome; with `entry` save the mention, with `remove` take down the one it made."""
    with hub.transaction() as s:
        wm = s.get(Webmention, wm_id)
        if wm is None:
            return
        if entry is not None:
            outcome = save_mention(hub, s, wm, entry, refers)
            # What verification did; where moderation left the mention is added when it is asked for.
            reason = {"new": "verified: a new mention", "updated": "verified: the mention is updated",
                      "unchanged": "verified: nothing changed"}[outcome]
        elif remove and remove_mention(hub, s, wm, reason):
            status, reason = REMOVED, f"{reason}: the mention is removed"
        wm.status, wm.reason, wm.checked = status, reason[:2000], utcnow()
    log.info("webmention %s: %s (%s)", wm_id, status, reason)


def verify_job(hub, payload: dict) -> None:
    wm_id = payload["webmention"]
    with hub.sessions() as s:
        wm = s.get(Webmention, wm_id)
        if wm is None or wm.status != QUEUED:
            return
        source, thread = wm.source, wm.thread

    def refers(url: str) -> bool:
        return hub.articles.thread_for(url) == thread

    try:
        page = fetch(source, allow_private=hub.config.webmention_allow_private)
        if page.status in (410, 404):
            return _finish(hub, wm_id, REJECTED, f"the source answers {page.status} "
                           f"{'Gone' if page.status == 410 else 'Not Found'}", remove=True)
        if page.status >= 500 or page.status == 429:
            raise FetchError(f"the source answers {page.status}", retry=True)
        if not 200 <= page.status < 300:
            return _finish(hub, wm_id, REJECTED, f"the source answers {page.status}")
        entry = read_source(page, source, refers)
    except FetchError as exc:
        if exc.retry:
            return _retry(hub, wm_id, str(exc))
        return _finish(hub, wm_id, REJECTED, f"the source could not be fetched: {exc}")
    if entry is None:
        return _finish(hub, wm_id, REJECTED, "the source does not link to the target", remove=True)
    _finish(hub, wm_id, VERIFIED, "", entry=entry, refers=refers)


def _retry(hub, wm_id: int, problem: str) -> None:
    with hub.transaction() as s:
        wm = s.get(Webmention, wm_id)
        if wm is None:
            return
        wm.attempts += 1
        if wm.attempts < MAX_ATTEMPTS:
            delay = backoff(wm.attempts)
            wm.reason = f"retrying in {delay:.0f} s: {problem}"
        else:
            delay = None
            wm.status, wm.reason, wm.checked = REJECTED, f"the source could not be fetched: {problem}", utcnow()
    if delay is not None:
        raise RetryLater(delay, problem)
