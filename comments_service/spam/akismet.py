"""Akismet through the `akismet` library, pointed at HUBBUB_AKISMET_ENDPOINT.

Verdicts are "ham", "spam" or "discard". Faults never decide anything: they raise
AkismetUnavailable (retry later) or AkismetKeyInvalid (retry much later, and tell people).
"""

from __future__ import annotations

import logging
import threading

import akismet

from ..jobs import backoff
from ..models import Comment
from .endpoint import http_client
from .guards import HONEYPOT_FIELD

log = logging.getLogger(__name__)



WEBMENTION_TYPE = "webmention"


class AkismetUnavailable(Exception):
    """Akismet could not give a verdict (refused, timed out, 5xx, or an answer we cannot read)."""


class AkismetKeyInvalid(AkismetUnavailable):
    """Akismet says the key or blog URL is invalid."""


def comment_arguments(comment: Comment, thread: dict | None, permalink: str, lang: str = "en") -> dict:
    """Everything Akismet asks for about one comment, as originally submitted."""
    thread = thread or {}
    args = {
        "user_agent": comment.user_agent or "",
        "referrer": comment.referrer or "",
        "permalink": permalink,
        "comment_type": "reply" if comment.parent_id else "comment",
        "comment_author": comment.author,
        "comment_author_email": comment.email,
        "comment_author_url": comment.url or "",
        "comment_content": comment.body,
        "comment_date_gmt": comment.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "blog_lang": thread.get("lang") or lang,
        "blog_charset": "UTF-8",
        "honeypot_field_name": HONEYPOT_FIELD,
    }
    if comment.is_webmention:
        # Akismet takes types beyond its list; this one says what it is. The source is where it was written.
        args["comment_type"] = WEBMENTION_TYPE
        args["comment_author_url"] = (comment.mention or {}).get("source") or comment.url or ""
    modified = thread.get("modified") or thread.get("date")
    if modified:
        args["comment_post_modified_gmt"] = modified
    return args


INVALID_KEY_RETRY = 20 * 60.0  # a few tries an hour while the key is wrong


def retry_delay(exc: AkismetUnavailable, attempts: int) -> float:
    """When to ask Akismet again after a fault: soon, then backing off; rarely while the key is wrong."""
    return INVALID_KEY_RETRY if isinstance(exc, AkismetKeyInvalid) else backoff(attempts)


class AkismetService:
    def __init__(self, key: str | None, blog_url: str | None, endpoint: str, timeout: float):
        self.key = key
        self.blog_url = blog_url
        self.endpoint = endpoint
        self.timeout = timeout
        self._sync_client: akismet.SyncClient | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return bool(self.key)

    def _client(self) -> akismet.SyncClient:
        # Not used as a context manager: entering one verifies the key, doubling every call.
        # One HTTP client per service keeps connections alive between checks.
        if self._sync_client is None:
            with self._lock:
                if self._sync_client is None:
                    self._sync_client = akismet.SyncClient(
                        config=akismet.Config(key=self.key, url=self.blog_url),
                        http_client=http_client(self.endpoint, self.timeout),
                    )
        return self._sync_client

    def _call(self, operation, *args, **kwargs):
        try:
            return operation(self._client())(*args, **kwargs)
        except akismet.APIKeyError as exc:
            raise AkismetKeyInvalid(
                "Akismet rejected the API key or blog URL: check PYTHON_AKISMET_API_KEY and PYTHON_AKISMET_BLOG_URL"
            ) from exc
        except akismet.RequestError as exc:
            raise AkismetUnavailable(f"Akismet unreachable: {exc}") from exc
        except akismet.ProtocolError as exc:
            raise AkismetUnavailable(f"Akismet gave an answer we cannot read: {exc}") from exc

    def check(self, user_ip: str, arguments: dict) -> str:
        result = self._call(lambda c: c.comment_check, user_ip, **arguments)
        if result == akismet.CheckResponse.DISCARD:
            return "discard"
        return "spam" if result == akismet.CheckResponse.SPAM else "ham"

    def submit(self, user_ip: str, arguments: dict, spam: bool) -> None:
        self._call(lambda c: c.submit_spam if spam else c.submit_ham, user_ip, **arguments)

    def verify(self) -> bool:
        """True if Akismet accepts the key and blog URL."""
        try:
            return bool(self._call(lambda c: c.verify_key))
        except AkismetKeyInvalid:
            return False
