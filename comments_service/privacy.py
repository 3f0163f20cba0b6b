"""A commenter's data, on request: `hubbub privacy export EMAIL` and `hubbub privacy erase EMAIL`.

Export gives everything stored under that email address (every field of every comment,
including addresses and user agents). Erase either anonymises the person's published comments
(the text stays, the name becomes "Anonymous", email, website, address, user agent and referrer
are cleared) or removes them (`--remove`; replies move up to the removed comment's parent, so a
conversation keeps its shape). Comments that were never published are always deleted: they have
no public value. Affected threads are republished at once, so the site stops showing the name.
The address is not kept; a keyed digest of it (ErasedEmail) makes every later import, such as
the restore of an export made before, leave the person's comments out. The audit log keeps its
entries (who did what, when) without the person's name, text or website.

Other parts of the service that keep personal data receive the signals personal_data_exported
and personal_data_erased (sent inside the same transaction), so that one command covers everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, update

from hubbub.core.identity import author_key, normalise_email, site_salt

from .export import comment_record
from .models import Comment, ErasedEmail, utcnow
from .moderation.models import AuditEntry
from .publish import request_publish
from .signals import personal_data_erased, personal_data_exported

FORMAT = "hubbub-personal-data"
VERSION = 1
ANONYMOUS = "Anonymous"



class PrivacyError(Exception):
    """The request cannot be carried out as given; the message says why."""


@dataclass
class EraseReport:
    email: str
    anonymised: int = 0
    removed: int = 0
    threads: list[str] = field(default_factory=list)
    other_records: int = 0
    published: int = 0
    publish_left: int = 0


def check_email(email: str) -> str:
    email = normalise_email(email or "")
    if "@" not in email:
        raise PrivacyError(f"{email!r} is not an email address: give the address the comments were written with")
    return email


def comments_of(session, email: str) -> list[Comment]:
    """Every comment written with this address (case and surrounding spaces ignored)."""
    return list(session.scalars(
        select(Comment).where(func.lower(func.trim(Comment.email)) == email).order_by(Comment.id)))


def personal_data(hub, email: str) -> dict:
    email = check_email(email)
    with hub.sessions() as s:
        data = {"format": FORMAT, "version": VERSION, "email": email, "exported": utcnow().isoformat(),
                "comments": [comment_record(c) for c in comments_of(s, email)]}
        for _receiver, (name, value) in personal_data_exported.send(hub, session=s, email=email):
            data[name] = value
    return data


def erased_digest(hub, email: str) -> str:
    return author_key(email, site_salt(hub.config.site_dir))


def erased_addresses(hub, session, emails) -> dict[str, dt.datetime]:
    """Which of `emails` (as given) belong to people erased before, and when: an import leaves out
    their comments written until then (a comment written after came with fresh consent)."""
    digests = {email: erased_digest(hub, email) for email in set(emails) if email and email.strip()}
    found: dict[str, dt.datetime] = {}
    values = list(digests.values())
    for start in range(0, len(values), 500):
        rows = session.execute(select(ErasedEmail.digest, ErasedEmail.erased)
                               .where(ErasedEmail.digest.in_(values[start:start + 500])))
        found.update(dict(rows.all()))
    return {email: found[digest] for email, digest in digests.items() if digest in found}


# What audit entries may hold of a person (a name, their text before an edit, their website):
# erasure leaves the entries, so that moderators still see who did what, without these.
PERSONAL_DETAIL = ("author", "before", "excerpt", "source", "person")


def person_key(hub, email: str) -> str:
    """What a deletion's audit entry keeps to find the person later (`privacy erase`): a keyed hash
    of the address under the service's secret key, which every host of a deployment shares (not
    the site's salt, which web hosts do not have)."""
    return hmac.new(hub.config.secret_key.encode(), normalise_email(email).encode(), hashlib.sha256).hexdigest()[:32]


def _scrub_audit_log(hub, session, comment_ids: set[int], email: str) -> None:
    """Take the person's data out of the audit entries of their comments, and of every entry of
    comments deleted earlier (found by the key their deletion recorded)."""
    key = person_key(hub, email)
    deletions = session.scalars(select(AuditEntry).where(AuditEntry.action == "delete"))
    ids = comment_ids | {e.comment_id for e in deletions if (e.detail or {}).get("person") == key}
    for entry in session.scalars(select(AuditEntry).where(AuditEntry.comment_id.in_(ids))):
        detail = entry.detail or {}
        entry.detail = {**{k: v for k, v in detail.items() if k not in PERSONAL_DETAIL}, "erased": True}


def erase(hub, email: str, mode: str = "anonymise") -> EraseReport:
    """Anonymise (or remove) the person's published comments, delete the rest, republish."""
    from .importers.store import publish_now

    if mode not in ("anonymise", "remove"):
        raise PrivacyError(f"unknown erase mode {mode!r}: use anonymise or remove")
    email = check_email(email)
    report = EraseReport(email)
    with hub.transaction() as s:
        rows = comments_of(s, email)
        # Receivers go first, so that they still find what belongs to the person's comments.
        for _receiver, count in personal_data_erased.send(hub, session=s, email=email, mode=mode):
            report.other_records += count or 0
        digest = erased_digest(hub, email)
        if s.get(ErasedEmail, digest) is None:
            s.add(ErasedEmail(digest=digest, erased=utcnow()))
        _scrub_audit_log(hub, s, {c.id for c in rows}, email)
        doomed = {c.id: c.parent_id for c in rows if mode == "remove" or c.status != "published"}
        threads = sorted({c.thread for c in rows if c.status == "published"})
        for c in rows:
            if c.id not in doomed:
                c.author, c.email, c.url = ANONYMOUS, "", ""
                c.remote_addr, c.user_agent, c.referrer, c.notify = None, "", "", False
                report.anonymised += 1

        def surviving_parent(cid: int) -> int | None:
            parent = doomed[cid]
            while parent in doomed:
                parent = doomed[parent]
            return parent

        for cid in doomed:
            # Replies keep their place in the conversation: they move up to the nearest survivor.
            s.execute(update(Comment).where(Comment.parent_id == cid)
                      .values(parent_id=surviving_parent(cid), updated=Comment.updated)
                      .execution_options(synchronize_session=False))
        if doomed:
            s.execute(delete(Comment).where(Comment.id.in_(list(doomed)))
                      .execution_options(synchronize_session=False))
        report.removed = len(doomed)
        for thread in threads:
            request_publish(s, thread, delay=0)
        report.threads = threads
    report.published, report.publish_left = publish_now(hub, report.threads)
    return report
