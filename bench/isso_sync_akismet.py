"""Isso 0.14 plus a synchronous Akismet check: a reference point for the benchmark, not Isso itself.

Isso 0.14 has no Akismet support. Comment systems that do check Akismet in the request (the
usual way: a WordPress-style plugin asks comment-check before saving) make every POST wait for
Akismet's answer. This module builds Isso's own WSGI app (as `isso.run` does) and subscribes one
more function to Isso's "comments.new:before-save" signal, which asks the Akismet-compatible
server at BENCH_AKISMET_ENDPOINT and holds the comment for moderation when it says spam. It runs
in the Isso venv under gunicorn: `gunicorn --pythonpath bench isso_sync_akismet:application`.
"""

from __future__ import annotations

import http.client
import logging
import os
from urllib.parse import urlencode, urlsplit

import isso
from isso import config, local, make_app

log = logging.getLogger("isso.bench")

ENDPOINT = urlsplit(os.environ.get("BENCH_AKISMET_ENDPOINT", "http://127.0.0.1:8765"))
API_KEY = os.environ.get("BENCH_AKISMET_KEY", "test-key")
BLOG = os.environ.get("BENCH_AKISMET_BLOG", "http://127.0.0.1/")


def comment_check(fields: dict) -> str:
    """POST /1.1/comment-check; returns the body ("true" = spam, "false" = ham)."""
    conn = http.client.HTTPConnection(ENDPOINT.hostname, ENDPOINT.port or 80, timeout=5)
    try:
        conn.request("POST", ENDPOINT.path.rstrip("/") + "/1.1/comment-check",
                     body=urlencode({"api_key": API_KEY, "blog": BLOG, **fields}),
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        return conn.getresponse().read().decode("utf-8", "replace").strip()
    finally:
        conn.close()


class StdoutWithAkismet(isso.Stdout):
    """Isso's default notifier, plus the synchronous check before each new comment is saved."""

    def __iter__(self):
        yield from super().__iter__()
        yield "comments.new:before-save", self._check

    def _check(self, thread, data):
        environ = local("request").environ
        fields = {
            "user_ip": environ.get("REMOTE_ADDR", ""),
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
            "referrer": environ.get("HTTP_REFERER", ""),
            "permalink": local("origin").rstrip("/") + thread["uri"],
            "comment_type": "reply" if data.get("parent") else "comment",
            "comment_author": data.get("author") or "",
            "comment_author_email": data.get("email") or "",
            "comment_author_url": data.get("website") or "",
            "comment_content": data.get("text") or "",
            "blog_charset": "UTF-8",
        }
        try:
            verdict = comment_check(fields)
        except OSError as exc:  # Akismet down: hold the comment, as a careful plugin would
            log.warning("Akismet check failed (%s): holding the comment", exc)
            data["mode"] = 2
            return
        if verdict == "true":
            data["mode"] = 2


isso.Stdout = StdoutWithAkismet  # Isso() builds its notifiers from this name
application = make_app(config.load(config.default_file(), os.environ.get("ISSO_SETTINGS")), multiprocessing=True)
