"""Named events of a comment's journey (blinker, as Flask's own signals).

Each is sent with the Hub as sender and the open database session, inside the transaction of the
change, so what a receiver writes (a notification job, an erased record) commits or rolls back
with it. Receivers are connected in one place: `journey.connect_receivers`.
"""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

#: A check settled a pending comment: Akismet answered, gave up after a day, or is off.
#: kwargs: session, comment
comment_checked = _events.signal("comment-checked")

#: A comment went live: a moderator approved it, or a trusted commenter's check passed.
#: kwargs: session, comment
comment_published = _events.signal("comment-published")

#: `hubbub privacy export`: each receiver returns (section name, JSON-ready data) for the file.
#: kwargs: session, email (normalised)
personal_data_exported = _events.signal("personal-data-exported")

#: `hubbub privacy erase`: each receiver erases what it keeps of the person, returns a count.
#: Sent before the person's comments are anonymised or removed, so receivers still find them.
#: kwargs: session, email (normalised), mode ("anonymise" or "remove")
personal_data_erased = _events.signal("personal-data-erased")

#: The retention job's hourly run: each receiver applies its own rules, returns {what: count}.
#: kwargs: now (aware UTC); receivers open their own transactions (hub.transaction()).
retention_due = _events.signal("retention-due")
