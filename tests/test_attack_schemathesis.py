"""Schemathesis against the description the service publishes at /api/openapi.json, served by the
real app (WSGI, in-process): every operation, a bounded number of generated requests each, checked for
server errors and for answers that break the description (status codes, content types, bodies).

The moderation operations run with a valid bearer token, so their answers are checked too.
Bounded and reproducible: max_examples per operation, no deadline, derandomised.
"""

from __future__ import annotations

import pytest
import schemathesis
from attack_helpers import fresh_site, hub_of, moderation_available
from hypothesis import HealthCheck, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_schema_conformance,
                                 status_code_conformance)
from service_helpers import GOOD

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    """One app for the whole run (module-wide: schemathesis makes many calls), with data to find."""
    from comments_service import create_app

    from attack_helpers import approve, run_all_jobs

    base = tmp_path_factory.mktemp("schemathesis")
    site = fresh_site(base / "site")
    env = {"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": f"sqlite:///{base / 'c.db'}",
           "HUBBUB_INSTANCE_DIR": str(base / "instance"), "HUBBUB_SECRET_KEY": "schemathesis-secret",
           "HUBBUB_RATE_LIMIT": "1000000/minute"}
    app = create_app(env=env, run_jobs=False)
    client = app.test_client()
    ids = [client.post("/api/threads/social-media-and-network-marketing/comments",
                       json={**GOOD, "body": f"Seed {n}"}).get_json()["id"] for n in range(3)]
    approve(app, ids[:2])
    run_all_jobs(app)
    app.config["HUBBUB_TEST_TOKEN"] = None
    if moderation_available():
        from comments_service.moderation import auth

        with hub_of(app).sessions() as s, s.begin():
            moderator = auth.create_moderator(s, "schema@example.org", "a long enough password", role="admin")
            _, app.config["HUBBUB_TEST_TOKEN"] = auth.create_token(s, moderator, "schemathesis")
    yield app
    hub_of(app).stop()


@pytest.fixture(scope="module")
def api_schema(api_app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", api_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_error_and_no_answer_outside_the_description(case, api_app):
    token = api_app.config["HUBBUB_TEST_TOKEN"]
    if case.path.startswith("/api/moderation/") and token is None:
        pytest.skip("comments_service/moderation is not there yet")
    headers = {"Authorization": f"Bearer {token}"} if case.path.startswith("/api/moderation/") else None
    case.call_and_validate(headers=headers, checks=CHECKS)


def test_the_description_covers_every_public_route(api_app):
    """A route the description leaves out is a route schemathesis never attacks."""
    import json

    spec = json.loads(api_app.test_client().get("/api/openapi.json").data)
    described = set(spec["paths"])
    for rule in api_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.endpoint == "public_api.unknown_api":
            continue
        path = rule.rule.replace("<slug>", "{slug}").replace("<int:comment_id>", "{id}").replace("<action>", "{action}")
        assert path in described or path == "/api/openapi.json", f"{rule.rule} is not in openapi.json"
