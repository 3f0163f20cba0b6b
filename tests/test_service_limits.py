"""Per-address rate limits, trusted proxies, CORS and security headers."""

from __future__ import annotations

import json

from service_helpers import comments, post


def test_rate_limit_answers_429_per_address(make_app, service_env, slug):
    app = make_app({**service_env, "HUBBUB_RATE_LIMIT": "3/minute"})
    client = app.test_client()
    answers = [post(client, slug) for _ in range(5)]
    assert [r.status_code for r in answers] == [202, 202, 202, 429, 429]
    # Retry-After only on a refusal (on a 202, or the form's 303, it would say "wait").
    assert "Retry-After" not in answers[0].headers and answers[0].headers["X-RateLimit-Remaining"] == "2"
    form = client.post(f"/api/threads/{slug}/comments", data={"author": "F", "email": "f@example.org", "body": "x"},
                       environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert form.status_code == 303 and "Retry-After" not in form.headers
    r = post(client, slug)
    assert r.is_json and "wait" in r.json["error"] and r.headers["Retry-After"]
    assert len(comments(app)) == 4  # three from this address, the form's from another
    # Another address has its own allowance.
    other = client.post(f"/api/threads/{slug}/comments", json={"author": "B", "email": "b@example.org", "body": "x"},
                        environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 202


def test_the_wait_is_what_is_left_of_the_window(make_app, service_env, slug):
    app = make_app({**service_env, "HUBBUB_RATE_LIMIT": "1/hour"})
    client = app.test_client()
    assert post(client, slug).status_code == 202
    r = post(client, slug)
    wait = int(r.headers["Retry-After"])
    assert r.status_code == 429 and 3590 <= wait <= 3601  # flask-limiter rounds its header up a second
    assert r.json["error"] == "Too many comments from your address: wait 60 minutes and try again."


def test_the_plain_form_gets_a_page_that_keeps_the_text(make_app, service_env, slug):
    app = make_app({**service_env, "HUBBUB_RATE_LIMIT": "1/minute"})
    client = app.test_client()
    form = {"author": "Ann", "email": "ann@example.org", "body": "My second thought <3"}
    assert client.post(f"/api/threads/{slug}/comments", data=form).status_code == 303
    r = client.post(f"/api/threads/{slug}/comments", data=form)
    page = r.get_data(as_text=True)
    assert r.status_code == 429 and r.mimetype == "text/html" and 1 <= int(r.headers["Retry-After"]) <= 60
    assert "Please wait before sending" in page and "seconds, then send this one again" in page
    assert "My second thought &lt;3</textarea>" in page and 'value="Ann"' in page
    assert len(comments(app)) == 1
    # Too large as well (past the form's maxlength): the wait page, not an error of the service.
    r = client.post(f"/api/threads/{slug}/comments", data={**form, "body": "x" * 300_000})
    assert r.status_code == 429 and r.mimetype == "text/html" and "Please wait before sending" in r.get_data(as_text=True)


def test_apps_on_one_database_share_the_counts(make_app, service_env, slug):
    """As gunicorn's workers do (tests/test_attack_abuse.py runs real ones)."""
    first = make_app({**service_env, "HUBBUB_RATE_LIMIT": "2/minute"}).test_client()
    second = make_app({**service_env, "HUBBUB_RATE_LIMIT": "2/minute"}).test_client()
    assert [post(first, slug).status_code, post(second, slug).status_code] == [202, 202]
    assert post(first, slug).status_code == 429 and post(second, slug).status_code == 429


def test_forwarded_for_is_believed_only_from_trusted_proxies(make_app, service_env, slug):
    app = make_app({**service_env, "HUBBUB_RATE_LIMIT": "2/minute", "HUBBUB_TRUSTED_PROXIES": "10.0.0.1"})
    client = app.test_client()

    def send(remote, xff):
        return client.post(f"/api/threads/{slug}/comments",
                           json={"author": "A", "email": "a@example.org", "body": "x"},
                           headers={"X-Forwarded-For": xff}, environ_base={"REMOTE_ADDR": remote})

    # Behind the trusted proxy, each real client has its own limit and its own stored address.
    assert [send("10.0.0.1", "203.0.113.5").status_code for _ in range(3)] == [202, 202, 429]
    assert send("10.0.0.1", "203.0.113.6").status_code == 202
    assert {c.remote_addr for c in comments(app)} == {"203.0.113.5", "203.0.113.6"}
    # An untrusted peer cannot dodge its limit by inventing X-Forwarded-For.
    codes = [send("198.51.100.9", f"192.0.2.{n}").status_code for n in range(3)]
    assert codes == [202, 202, 429]
    assert "198.51.100.9" in {c.remote_addr for c in comments(app)}


def test_client_address_walks_the_chain_from_the_right():
    import ipaddress

    from comments_service.client import client_address

    trusted = (ipaddress.ip_network("10.0.0.0/8"),)
    assert client_address("10.0.0.1", "1.2.3.4, 10.0.0.7", trusted) == "1.2.3.4"
    assert client_address("10.0.0.1", "6.6.6.6, 1.2.3.4", trusted) == "1.2.3.4"  # spoofed left part ignored
    assert client_address("5.5.5.5", "1.2.3.4", trusted) == "5.5.5.5"
    assert client_address("10.0.0.1", "garbage", trusted) == "10.0.0.1"


def test_security_headers_on_service_and_site(make_app, service_env, slug):
    client = make_app(service_env).test_client()
    for path in ("/api/health", "/", f"/posts/{slug}/"):
        r = client.get(path)
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
        assert r.headers["Referrer-Policy"]


def test_cors_allows_exactly_the_site_origin(make_app, service_env, site_dir, slug):
    manifest = site_dir / "output" / ".hubbub" / "manifest.json"
    data = json.loads(manifest.read_text())
    data["site"].update(siteurl="https://blog.example.org", relative_urls=False)
    for entry in data["threads"].values():  # as a production build records them
        entry["absolute_url"] = f"https://blog.example.org/{entry['url']}"
    manifest.write_text(json.dumps(data))
    client = make_app(service_env).test_client()
    url = f"/api/threads/{slug}/comments"
    ok = client.get(url, headers={"Origin": "https://blog.example.org"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://blog.example.org"
    assert ok.headers["Access-Control-Expose-Headers"] == "Retry-After"  # comments.js reads a 429's wait
    evil = client.get(url, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in evil.headers
    pre = client.options(url, headers={"Origin": "https://blog.example.org", "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 200 and "POST" in pre.headers["Access-Control-Allow-Methods"]
    # With the site elsewhere, the form's 303 goes back to the absolute article URL.
    r = client.post(url, data={"author": "A", "email": "a@example.org", "body": "x"})
    assert r.headers["Location"] == f"https://blog.example.org/posts/{slug}/#comment-pending"
