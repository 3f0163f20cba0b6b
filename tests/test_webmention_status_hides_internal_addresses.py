"""The public status of a webmention (GET /api/webmention/<token>, the Location the sender gets)
says why a source was refused, but not the address our resolver found for its host: otherwise
anyone could look up the service's internal DNS names ("intranet.corp is 10.20.30.40") through it."""

from __future__ import annotations

from service_helpers import run_jobs
from webmention_helpers import send, target_of

from comments_service.webmention import fetch

SLUG = "social-media-and-network-marketing"


def test_a_refused_sources_status_names_no_internal_address(make_app, service_env, monkeypatch):
    real = fetch.resolve_host
    monkeypatch.setattr(fetch, "resolve_host", lambda host, port: ["10.20.30.40"] if host == "intranet.test"
                        else real(host, port))
    app = make_app(service_env)
    client = app.test_client()
    r = send(client, "http://intranet.test/wiki/secrets", target_of(app, SLUG))
    assert r.status_code == 202
    run_jobs(app)
    status = client.get("/api/webmention/" + r.headers["Location"].rsplit("/", 1)[1])
    answer = status.get_json()
    assert answer["status"] == "rejected"
    assert "refused" in answer["reason"]  # still says why
    assert "10.20.30.40" not in status.get_data(as_text=True)
