"""Logging in over plain http from another machine says why it cannot work, and what to do.

The moderation session cookie is `Secure` unless HUBBUB_DEVELOPMENT=1. Browsers keep such a cookie
from http://localhost or 127.0.0.1, so `hubbub serve` works on the machine it runs on; from any
other address over plain http (`hubbub serve --host 0.0.0.0` on a VM or a LAN, a proxy without
TLS) the browser drops it, and every login answered "This form has expired. The CSRF session token
is missing. Go back, reload the page and try again." Reloading never helps; the page now says
that the login needs HTTPS there, or HUBBUB_DEVELOPMENT=1 on a development machine.
"""

from __future__ import annotations

import re

import pytest


@pytest.fixture
def app(service_env, make_app):
    return make_app(service_env)


def login_form(client) -> dict:
    page = client.get("/moderate/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return {"csrf_token": token, "next": "/moderate/", "email": "mod@example.org", "password": "a long enough password"}


def test_a_login_over_http_from_another_machine_says_https_is_needed(app):
    # The browser drops the Secure session cookie that came over http: the next request has none.
    form = login_form(app.test_client())
    answer = app.test_client().post("/moderate/login", data=form, base_url="http://192.0.2.10:8000/")
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "HTTPS" in text and "HUBBUB_DEVELOPMENT=1" in text, text
    assert "reload the page and try again" not in text


@pytest.mark.parametrize("base_url", ["https://blog.example.org/", "http://127.0.0.1:8000/", "http://localhost:8000/"])
def test_an_expired_form_elsewhere_still_says_reload(app, base_url):
    """Over https, or on the machine itself, a missing session token is an expired session."""
    form = login_form(app.test_client())
    answer = app.test_client().post("/moderate/login", data=form, base_url=base_url)
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert "reload the page and try again" in text and "HUBBUB_DEVELOPMENT" not in text, text
