"""Local guards: checks that need no network, each leaving a reason a moderator can read.

- honeypot: a hidden form field people never fill            → spam
- blocklist: WordPress-style "disallowed keys" file           → spam
- links: more than HUBBUB_MAX_LINKS links                     → held, even for trusted commenters
- moderation words: WordPress-style "comment moderation" file → held

A rules file has one word, phrase, email, IP address or domain per line (# starts a comment line);
a line matches, case-insensitively, anywhere in the name, email, website, comment, address or
browser of a comment, as in WordPress.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

SPAM_PREFIXES = ("honeypot", "blocklist")
# The reply form's hidden field (theme: hubbub/comment_form.html); Akismet is told its name too.
HONEYPOT_FIELD = "contact_me_by_fax_only"


class RulesFile:
    """One rules file, re-read when it changes; a missing file has no rules."""

    def __init__(self, path: Path | None):
        self.path = path
        self._stamp = None
        self._rules: tuple[str, ...] = ()
        self._lock = threading.Lock()

    def rules(self) -> tuple[str, ...]:
        if self.path is None:
            return ()
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return ()
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            with self._lock:
                lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()
                self._rules = tuple(
                    line.strip().lower() for line in lines if line.strip() and not line.lstrip().startswith("#")
                )
                self._stamp = stamp
        return self._rules

    def first_match(self, haystacks: list[str]) -> str | None:
        text = "\n".join(h.lower() for h in haystacks if h)
        return next((rule for rule in self.rules() if rule in text), None)


@dataclass
class Guards:
    blocklist: RulesFile
    moderation_words: RulesFile
    max_links: int = 3

    def reasons(self, *, author: str, email: str, url: str, body: str, remote_addr: str, user_agent: str,
                honeypot: str, links: int) -> list[str]:
        found: list[str] = []
        if honeypot.strip():
            found.append("honeypot: the hidden field was filled in")
        fields = [author, email, url, body, remote_addr, user_agent]
        if (rule := self.blocklist.first_match(fields)) is not None:
            found.append(f"blocklist: matched {rule!r}")
        if links > self.max_links:
            found.append(f"links: {links} links (more than {self.max_links})")
        if (rule := self.moderation_words.first_match(fields)) is not None:
            found.append(f"moderation words: matched {rule!r}")
        return found


def is_spam(reasons: list[str]) -> bool:
    return any(r.startswith(SPAM_PREFIXES) for r in reasons)


def must_hold(reasons: list[str]) -> bool:
    """Any reason at all keeps a comment for a moderator, even from a trusted commenter."""
    return bool(reasons)

