"""`privacy erase` also reaches what waits in the job queue: an Akismet feedback job carries a copy
of the comment (name, email, address, text) so that it can report a comment deleted meanwhile.
After an erasure that copy must be gone, and nothing of the person may reach Akismet afterwards."""

from __future__ import annotations

import json

from moderation_helpers import add_moderator, make_token
from service_helpers import akismet_env, comment, hub_of, post, run_jobs
from sqlalchemy import select, update

EMAIL = "erase.canary.41@example.org"


def _job_payloads(app) -> list[str]:
    from comments_service.models import Job

    with hub_of(app).sessions() as s:
        return [json.dumps(j.payload) for j in s.scalars(select(Job))]


def test_erase_drops_waiting_akismet_feedback_with_the_persons_data(make_app, service_env, akismet, slug):
    from comments_service.models import Job, utcnow
    from comments_service.privacy import erase

    app = make_app(akismet_env(service_env, akismet))
    client = app.test_client()
    # Akismet calls it spam; a moderator disagrees and approves it while Akismet is failing, so the
    # submit-ham feedback waits in the queue, to be retried.
    answer = post(client, slug, author="akismet-guaranteed-spam", email=EMAIL, body="A real reader's words")
    cid = answer.get_json()["id"]
    run_jobs(app)
    assert comment(app, cid).status == "spam"
    add_moderator(app)
    _, token = make_token(app)
    akismet.set_mode("503")
    r = client.post(f"/api/moderation/comments/{cid}/approve", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.get_data(as_text=True)
    run_jobs(app)
    assert any(EMAIL in p for p in _job_payloads(app)), "the feedback job should be waiting for its retry"

    erase(hub_of(app), EMAIL)

    assert not [p for p in _job_payloads(app) if EMAIL in p], "the erased address is still in the job queue"
    # Akismet comes back and every waiting job runs: the erased person is not reported to it.
    akismet.set_mode("ok")
    before = len(akismet.requests_to("submit-ham"))
    with hub_of(app).transaction() as s:
        s.execute(update(Job).values(due_at=utcnow()))
    run_jobs(app)
    sent = akismet.requests_to("submit-ham")[before:]
    assert not [r for r in sent if r.form.get("comment_author_email") == EMAIL]
