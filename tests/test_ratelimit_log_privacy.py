"""A refused comment (the per-address rate limit) must not put the client's address in the log:
flask-limiter logs "ratelimit 5 per 1 minute (ADDRESS) exceeded" at INFO, the level the service
logs at (`hubbub serve`, gunicorn with deploy/gunicorn.conf.py)."""

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
