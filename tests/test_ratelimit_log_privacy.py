"""A refused comment or login (the rate limits) must not put the client's address, or the email a
login tried, in the log: flask-limiter logs "ratelimit 5 per 1 minute (KEY) exceeded" at INFO, the
level the service logs at (`hubbub serve`, gunicorn with deploy/gunicorn.conf.py)."""

from __future__ import annotations

import logging

import pytest
from service_helpers import GOOD


@pytest.fixture
def database_url(tmp_path):
    """One database is enough: the log line is flask-limiter's, whatever its storage."""
    return f"sqlite:///{tmp_path / 'comments.db'}"


def test_a_refused_comment_leaves_no_address_in_the_log(make_app, service_env, slug, caplog):
    address = "10.77.66.55"
    app = make_app({**service_env, "HUBBUB_RATE_LIMIT": "1/minute"})
    client = app.test_client()
    caplog.set_level(logging.INFO)
    answers = [client.post(f"/api/threads/{slug}/comments", json=GOOD, environ_base={"REMOTE_ADDR": address})
               for _ in range(3)]
    assert [r.status_code for r in answers] == [202, 429, 429]
    assert any("exceeded" in r.getMessage() for r in caplog.records)  # still said, without whom
    leaks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if address in r.getMessage()]
    assert leaks == []


def test_a_refused_login_leaves_no_email_in_the_log(make_app, service_env, caplog):
    """The login's per-account limit is keyed by the email tried: flask-limiter's line would name it."""
    import re

    email = "boss@example.org"
    app = make_app({**service_env, "HUBBUB_LOGIN_RATE_LIMIT": "2/minute", "HUBBUB_DEVELOPMENT": "1"})
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/moderate/login").text).group(1)
    caplog.set_level(logging.INFO)
    codes = [client.post("/moderate/login", data={"csrf_token": token, "email": email, "password": "wrong"},
                         environ_base={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code for i in range(1, 5)]
    assert codes[-1] == 429, codes  # the account's limit, each try from another address
    assert any("exceeded" in r.getMessage() for r in caplog.records)
    leaks = [f"{r.name}: {r.getMessage()}" for r in caplog.records if email in r.getMessage()]
    assert leaks == []
