"""One comment's journey, and the table that joins its steps.

    submit.accept      validate, render and sanitise once, store the comment and its check job in
                       one transaction; the reader gets 202 (with an edit token) as soon as that
                       commit lands; a closed thread takes nothing (threads.ThreadClosed)
    edit               the writer edits or deletes their comment for a short while; an edit goes
                       through markup, the guards and the check again
    webmention/        another site's post about an article enters here instead: receive.py
                       (POST /api/webmention) stores the request, verify.py (job
                       "webmention-verify") fetches the source and makes it a comment of kind
                       "webmention" that goes on through the same check, moderation and publish
    check.check_comment   (job "check") Akismet and the local guards settle it: spam, held for a
                       moderator, or published for a trusted returning commenter
    moderation/        people approve, reject, mark spam or not spam (actions.py), in the queue or
                       from the links of their emails (email_links.py, email_actions.py); readers'
                       emails: replies (notify.py), thread subscriptions (subscriptions.py)
    publish            request_publish() asks for job "publish": the thread's published comments
                       go to hubbub.core.publisher, which writes the thread file and patches the
                       article page, counts and feeds in output/ in place
    page               the next full build reads the same thread file and writes the same bytes

Steps talk through durable jobs (JOB_KINDS below: every kind, and the function that runs it) and
named signals (signals.py: who listens is connected in `connect_receivers`, below).
"""

from __future__ import annotations

from .check import check_comment
from .moderation import feedback, notify, retention, subscriptions
from .publish import deploy_job, publish_thread_job, rebuild_job
from .ratelimit_storage import retention as rate_limit_retention
from .signals import comment_checked, comment_published, personal_data_erased, personal_data_exported, retention_due
from .webmention import records as webmention_records
from .webmention import send as webmention_send
from .webmention import verify as webmention_verify

JOB_KINDS = {
    "check": check_comment,
    "publish": publish_thread_job,
    "rebuild": rebuild_job,
    "deploy": deploy_job,
    feedback.KIND: feedback.send_feedback,
    "notify-moderators": notify.notify_moderators,
    "notify-commenter": notify.notify_commenter,
    "notify-digest": notify.digest_job,
    "retention": retention.retention_job,
    webmention_verify.KIND: webmention_verify.verify_job,
    webmention_send.SCAN_KIND: webmention_send.scan_job,
    webmention_send.SEND_KIND: webmention_send.send_job,
    "subscription-confirm": subscriptions.send_confirmation,
    "notify-subscribers": subscriptions.notify_subscribers,
}


def connect_receivers() -> None:
    """Connect every signal receiver (idempotent: blinker keeps one connection per receiver)."""
    comment_checked.connect(notify.comment_checked)
    comment_checked.connect(subscriptions.comment_checked)
    comment_published.connect(notify.comment_published)
    webmention_records.connect()
    retention_due.connect(rate_limit_retention)
    comment_published.connect(subscriptions.comment_published)
    personal_data_exported.connect(subscriptions.personal_data_exported)
    personal_data_erased.connect(subscriptions.personal_data_erased)
    personal_data_erased.connect(feedback.personal_data_erased)
