"""The reply form's email field names one mailbox. Commas, semicolons, colons (groups),
parentheses (comments) and control characters are address-list syntax in a To: header: an
"email" such as "postmaster,ada@example.org" made every notification of that comment go to two
recipients, one of them a bare local part that the SMTP relay completes with its own domain."""

from __future__ import annotations

import pytest
from service_helpers import akismet_env, post, run_jobs
from smtp_helpers import SMTPServer

SEVERAL = ["postmaster,ada@example.org", "root;ada@example.org", "list:ada@example.org",
           "(postmaster)ada@example.org", "ada\x01@example.org", "ada@example.org\x7f.org",
           "ada@[127.0.0.1]", "ada\\,x@example.org"]
ONE = ["ada@example.org", "o'brien+tag@example.co.uk", "first.last@sub.example.org", "ü@exämple.org"]


@pytest.mark.parametrize("address", SEVERAL)
def test_an_email_field_holding_address_list_syntax_is_a_field_error(make_app, service_env, slug, address):
    client = make_app(service_env).test_client()
    r = post(client, slug, email=address, notify=True)
    assert r.status_code == 400, r.get_json()
    assert "email" in r.get_json()["fields"]


@pytest.mark.parametrize("address", ONE)
def test_ordinary_addresses_are_still_taken(make_app, service_env, slug, address):
    client = make_app(service_env).test_client()
    r = post(client, slug, email=address)
    assert r.status_code == 202, r.get_json()


def test_a_subscription_confirmation_goes_to_one_recipient(make_app, service_env, akismet, slug):
    with SMTPServer() as smtp:
        app = make_app({**akismet_env(service_env, akismet), **smtp.env()})
        r = post(app.test_client(), slug, email="postmaster,ada@example.org", subscribe=True)
        run_jobs(app)
        assert r.status_code == 400 or not smtp.messages
        assert all(len(m.rcpt_tos) == 1 for m in smtp.messages)
