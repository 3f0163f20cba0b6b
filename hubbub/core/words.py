"""Counts in the English of the command line: "1 comment", "2 comments", "1 reply", "0 replies".

The commands speak English whatever the site's language (their words are for the site's operator,
not its readers), so a count needs only English plurals; pages, emails and the moderation UI
count with the site's catalog (`ngettext`) instead.
"""

from __future__ import annotations


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """The word that goes with `n`: `singular` for exactly one, otherwise `plural_form`
    (by default `singular` + "s")."""
    if n == 1:
        return singular
    return plural_form if plural_form is not None else singular + "s"


def count(n: int, singular: str, plural_form: str | None = None) -> str:
    """`n` and its word: count(1, "comment") == "1 comment", count(3, "reply", "replies") == "3 replies"."""
    return f"{n} {plural(n, singular, plural_form)}"


def were(n: int) -> str:
    """The verb after a count: "1 was", "2 were"."""
    return "was" if n == 1 else "were"
