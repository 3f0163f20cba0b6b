"""Hostile requests: oversized, malformed, wrong types, invalid UTF-8, path tricks, odd parent ids,
header tricks. Each gets a clear 4xx (JSON with an `error` message under /api/) and stores nothing.

What tests/test_service_submit.py already proves (a 100 KB JSON body, "{not json", \\xff\\xfe, a JSON
array, text/plain, basic field errors, "..%2F..%2Fpelicanconf") is not repeated here.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from attack_helpers import approve, fresh_site, run_all_jobs, serve_app
from service_helpers import GOOD, comments

SECRET = "attack-secret-key-3f9c1e"


@pytest.fixture
def env(site_dir, tmp_path):
    """SQLite only: these attacks are about parsing, not storage (the storage ones use database_url)."""
    return {"HUBBUB_SITE_DIR": str(site_dir), "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
            "HUBBUB_INSTANCE_DIR": str(site_dir / "instance"), "HUBBUB_SECRET_KEY": SECRET,
            "HUBBUB_RATE_LIMIT": "10000/minute"}


@pytest.fixture
def app(make_app, env):
    return make_app(env)


@pytest.fixture
def publishing_app(make_app, env, tmp_path):
    """For tests that publish: a site built in place (a copy of the session's built site would
    publish into the original; see test_attack_crash)."""
    site = fresh_site(tmp_path / "own-site")
    return make_app({**env, "HUBBUB_SITE_DIR": str(site), "HUBBUB_INSTANCE_DIR": str(site / "instance")})


@pytest.fixture
def client(app):
    return app.test_client()


def url(slug: str) -> str:
    return f"/api/threads/{slug}/comments"


def assert_clear_4xx(r, *codes: int, field: str | None = None) -> dict:
    """A 4xx JSON answer with a message a person can act on (and the bad field named, if given)."""
    assert 400 <= r.status_code < 500, (r.status_code, r.get_data(as_text=True)[:300])
    if codes:
        assert r.status_code in codes, (r.status_code, r.get_data(as_text=True)[:300])
    assert r.is_json, r.get_data(as_text=True)[:300]
    body = r.get_json()
    assert isinstance(body.get("error"), str) and len(body["error"]) > 10, body
    assert isinstance(body.get("fields"), dict), body
    if field:
        assert field in body["fields"], body
    return body


# Bodies ----------------------------------------------------------------------------------------------
MALFORMED_JSON = {
    "truncated": '{"author": "A", "email": "a@example.org", "body": "hi"',
    "trailing garbage": json.dumps(GOOD) + " trailing",
    "two objects": json.dumps(GOOD) + json.dumps(GOOD),
    "empty": "",
    "whitespace": "   \n",
    "single quotes": "{'author': 'A', 'email': 'a@example.org', 'body': 'hi'}",
    "comment": '{"author": "A", /* x */ "email": "a@example.org", "body": "hi"}',
    "raw control character": '{"author": "A", "email": "a@example.org", "body": "a\x01b"}',
    "utf-8 bom": "\ufeff" + json.dumps(GOOD),
    "null": "null",
    "number": "42",
    "string": '"a comment"',
    "huge integer literal": '{"author": "A", "email": "a@example.org", "body": "hi", "parent": ' + "9" * 5000 + "}",
}


@pytest.mark.parametrize("name", sorted(MALFORMED_JSON))
def test_malformed_json_is_a_clear_400(app, client, slug, name):
    r = client.post(url(slug), data=MALFORMED_JSON[name].encode("utf-8"), content_type="application/json")
    assert_clear_4xx(r, 400)
    assert comments(app) == []


@pytest.mark.parametrize("nesting", ["array", "object in a field"])
def test_deeply_nested_json_is_a_clear_400(app, client, slug, nesting):
    if nesting == "array":
        body = "[" * 5000 + "]" * 5000
    else:
        body = json.dumps({**GOOD, "notify": None}).replace("null", "[" * 3000 + "]" * 3000)
    r = client.post(url(slug), data=body, content_type="application/json")
    assert_clear_4xx(r, 400)
    assert comments(app) == []


@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/xml", "text/json", "application/json-patch+json", "application/javascript",
    "text/html", "image/png", "application/octet-stream", "\x00;;==", "application/x-www-form-urlencoded-evil",
])
def test_wrong_content_types_are_415_with_advice(app, client, slug, content_type):
    r = client.post(url(slug), data=json.dumps(GOOD), content_type=content_type)
    body = assert_clear_4xx(r, 415)
    assert "application/json" in body["error"]
    assert comments(app) == []


def test_json_content_type_variants_that_mean_json_are_accepted(app, client, slug):
    for content_type in ("application/json; charset=utf-8", "APPLICATION/JSON", "application/json;charset=UTF-8"):
        assert client.post(url(slug), data=json.dumps(GOOD), content_type=content_type).status_code == 202
    assert len(comments(app)) == 3


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16", "utf-32", "cp1252"])
def test_json_that_is_not_utf8_is_a_clear_400(app, client, slug, encoding):
    data = json.dumps({**GOOD, "body": "caf\u00e9 na\u00efve"}, ensure_ascii=False).encode(encoding)
    body = assert_clear_4xx(client.post(url(slug), data=data, content_type=f"application/json; charset={encoding}"), 400)
    assert "UTF-8" in body["error"]
    assert comments(app) == []


@pytest.mark.parametrize("field", ["author", "body", "email", "url"])
def test_lone_surrogates_in_json_are_a_clear_400(make_app, service_env, slug, field):
    app = make_app(service_env)  # SQLite and PostgreSQL
    values = {**GOOD, "url": "https://a.example/"}
    values[field] = values[field][:-1] + "\\ud800" + values[field][-1:]
    raw = "{" + ", ".join(f'"{k}": "{v}"' for k, v in values.items()) + "}"
    r = app.test_client().post(url(slug), data=raw, content_type="application/json")
    assert_clear_4xx(r, 400, field=field)
    assert comments(app) == []


def test_form_with_raw_invalid_utf8_is_refused(app, client, slug):
    r = client.post(url(slug), data=b"author=Ann&email=a%40example.org&body=caf\xe9 \xff\xfe",
                    content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400  # the form flow answers with the form page, not JSON
    assert comments(app) == []


def test_form_with_percent_encoded_invalid_utf8_is_refused(app, client, slug):
    r = client.post(url(slug), data=b"author=Ann&email=a%40example.org&body=caf%e9%ff%fe",
                    content_type="application/x-www-form-urlencoded")
    assert r.status_code == 400
    assert comments(app) == []


def test_field_types_other_than_text_are_named(app, client, slug):
    for field, value in [("author", ["A"]), ("author", {"$ne": ""}), ("body", 42), ("body", True),
                         ("email", ["a@example.org"]), ("url", 7), ("body", None), ("author", None)]:
        r = client.post(url(slug), json={**GOOD, field: value})
        assert_clear_4xx(r, 400, field=field)
    assert comments(app) == []


def test_nul_and_oversized_fields_are_named(app, client, slug):
    for field, value in [("author", "A\x00B"), ("email", "a\x00@example.org"), ("body", "x\x00"),
                         ("url", "https://a.example/\x00"), ("author", "é" * 101), ("url", "https://a.example/" + "x" * 200),
                         ("email", "a" * 250 + "@example.org")]:
        assert_clear_4xx(client.post(url(slug), json={**GOOD, field: value}), 400, field=field)
    assert comments(app) == []


def test_length_limits_count_what_was_sent(app, client, slug):
    for field, value in [("body", " " + "a" * 10_000), ("body", "\x1c" + "a" * 10_000), ("author", " " + "a" * 100)]:
        assert_clear_4xx(client.post(url(slug), json={**GOOD, field: value}), 400, field=field)
    assert comments(app) == []


@pytest.mark.parametrize("website", ["http://[::1", "https://[x]/", "http://]::1[/"])
def test_malformed_website_urls_are_a_field_error(app, client, slug, website):
    assert_clear_4xx(client.post(url(slug), json={**GOOD, "url": website}), 400, field="url")
    assert comments(app) == []


# Slugs -----------------------------------------------------------------------------------------------
SLUG_TRICKS = [
    "..", "%2e%2e", "..%2f..%2fpelicanconf.py", "%2e%2e%2f%2e%2e%2finstance", "..%5c..%5cpelicanconf.py",
    "%c0%ae%c0%ae", "%c0%af", "%e0%80%ae%e0%80%ae", "%ff", "a%00b", "%00", ".hubbub", "manifest.json",
    "__proto__", "constructor", "SOCIAL-MEDIA-AND-NETWORK-MARKETING", "social-media-and-network-marketing%20",
    "social-media-and-network-marketing%00", "social-media-and-network-marketing%2f..",
    "%ef%bd%93ocial-media-and-network-marketing", "social-media-and-network-marketing;x=1", "a" * 5000,
    "%25252e%25252e", "posts%2fsocial-media-and-network-marketing",
]


@pytest.mark.parametrize("trick", SLUG_TRICKS, ids=[t[:40] for t in SLUG_TRICKS])
def test_slug_tricks_are_404_for_reading_and_posting(app, client, trick):
    assert_clear_4xx(client.get(f"/api/threads/{trick}/comments"), 404)
    assert_clear_4xx(client.post(f"/api/threads/{trick}/comments", json=GOOD), 404, 405)
    assert comments(app) == []


# Parent ids ------------------------------------------------------------------------------------------
BAD_PARENTS = [-1, 0, -(2**31), 2**31, 2**63, 10**100, True, False, "1; DROP TABLE comments", "0x1", "1e3", "one",
               [], [1], {}, {"id": 1}, "NaN", " ", "\u0661\u0662"]


def test_bad_parent_ids_are_a_field_error(make_app, service_env, slug):
    """On SQLite and PostgreSQL: nothing overflows an integer column or reaches SQL as text."""
    app = make_app(service_env)
    client = app.test_client()
    for parent in BAD_PARENTS:
        r = client.post(url(slug), json={**GOOD, "parent": parent})
        assert_clear_4xx(r, 400, field="parent")
    assert comments(app) == []


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "1e400"])
def test_infinite_parent_ids_are_a_field_error(app, client, slug, literal):
    raw = json.dumps(GOOD)[:-1] + f', "parent": {literal}}}'
    assert_clear_4xx(client.post(url(slug), data=raw, content_type="application/json"), 400, field="parent")
    assert comments(app) == []


def test_fractional_parent_ids_are_a_field_error(publishing_app, slug):
    app, client = publishing_app, publishing_app.test_client()
    first = client.post(url(slug), json=GOOD).get_json()["id"]
    approve(app, [first])
    run_all_jobs(app)
    assert client.post(url(slug), json={**GOOD, "parent": first}).status_code == 202  # a real reply works
    assert_clear_4xx(client.post(url(slug), json={**GOOD, "parent": first + 0.5}), 400, field="parent")


# Headers ---------------------------------------------------------------------------------------------
def test_header_tricks_are_harmless(app, client, slug):
    headers = {"User-Agent": "U" * 20_000, "Referer": "javascript:alert(1)//" + "r" * 20_000,
               "X-Forwarded-For": "1.2.3.4, \x00, ::1, " * 200, "X-Real-IP": "6.6.6.6",
               "X-HTTP-Method-Override": "DELETE", "Forwarded": "for=6.6.6.6", "Accept": "text/html;q=\x00"}
    r = client.post(url(slug), json=GOOD, headers=headers)
    assert r.status_code == 202
    [c] = comments(app)
    assert c.remote_addr == "127.0.0.1"  # no proxy is trusted: every forwarded header is ignored
    assert len(c.user_agent) <= 500 and len(c.referrer) <= 500


def test_a_forged_host_header_does_not_steer_the_redirect(app, client, slug):
    r = client.post(url(slug), data={**GOOD}, headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"})
    assert r.status_code == 303
    assert "evil.example" not in r.headers["Location"]
    assert r.headers["Location"].startswith(f"/posts/{slug}/")


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "TRACE"])
def test_other_methods_are_405_json(app, client, slug, method):
    assert_clear_4xx(client.open(url(slug), method=method, json=GOOD), 405)
    assert comments(app) == []


# Over a real socket: what the test client cannot send -------------------------------------------------------
def raw_http(base: str, request: bytes, timeout: float = 10.0) -> tuple[int, bytes]:
    """Send raw bytes; return (status, whole answer). Stops at the end of the answer's body, since a
    server may keep the connection open while it drains what the client sent."""
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while True:
            try:
                data = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not data:
                break
            answer += data
            head, sep, body = answer.partition(b"\r\n\r\n")
            if sep:
                lengths = [line.split(b":", 1)[1] for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")]
                if lengths and len(body) >= int(lengths[0]):
                    break
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer


def post_bytes(path: str, body: bytes, extra: str = "", content_length: str | None = None) -> bytes:
    length = str(len(body)) if content_length is None else content_length
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\nConnection: close\r\n{extra}\r\n")
    return head.encode("latin-1") + body


def test_lying_and_streamed_bodies_over_a_real_socket(app, slug):
    small = json.dumps(GOOD).encode()
    with serve_app(app) as base:
        # A Content-Length far above the limit is refused before the body is read.
        status, answer = raw_http(base, post_bytes(url(slug), small, content_length="999999999"))
        assert status == 413 and b'"error"' in answer
        # A chunked body (no Content-Length) that grows past the limit is cut off and refused, never
        # stored. (Werkzeug truncates such a stream, so the answer may be 400 "malformed" not 413.)
        big = json.dumps({**GOOD, "url": "https://a.example/" + "x" * 300_000}).encode()
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(big[i:i + 8192]), big[i:i + 8192])
                           for i in range(0, len(big), 8192)) + b"0\r\n\r\n"
        head = (f"POST {url(slug)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
        status, answer = raw_http(base, head + chunked)
        assert status in (400, 413) and b'"error"' in answer, answer[-300:]
        # ...while a small chunked body is an ordinary comment.
        status, answer = raw_http(base, head + b"%x\r\n%s\r\n0\r\n\r\n" % (len(small), small))
        assert status == 202, answer[-300:]
        for bad_length in ("-5", "abc", "1e3"):
            status, _ = raw_http(base, post_bytes(url(slug), small, content_length=bad_length), timeout=5)
            assert 400 <= status < 500 or status == 0, bad_length  # refused, or the server drops the connection
    assert [c.body for c in comments(app)] == [GOOD["body"]]


TRAVERSALS = [
    "/../instance/secret_key", "/%2e%2e/instance/secret_key", "/..%2finstance%2fsecret_key",
    "/%2e%2e%2f%2e%2e%2fpelicanconf.py", "/theme/..%2f..%2finstance/secret_key", "/posts/../../instance/secret_key",
    "//instance/secret_key", "/%c0%ae%c0%ae/instance/secret_key", "/..%5cinstance%5csecret_key",
    "/../content/comments/.salt", "/.%2e/content/comments/.salt", "/../comments.db", "/..%00/pelicanconf.py",
]


def test_path_traversal_never_leaves_output(publishing_app, slug):
    # Something to steal outside output/: the salt, the secret key, the database, the settings.
    app = publishing_app
    site_dir = Path(app.config["HUBBUB_SITE_DIR"])
    client = app.test_client()
    client.post(url(slug), json=GOOD)
    approve(app, [comments(app)[0].id])
    run_all_jobs(app)
    salt = (site_dir / "content" / "comments" / ".salt").read_bytes().strip()
    (site_dir / "instance").mkdir(exist_ok=True)
    (site_dir / "instance" / "secret_key").write_text(SECRET)
    secrets = [SECRET.encode(), salt, b"SQLite format 3", b"PLUGIN_PATHS", b"from __future__"]
    with serve_app(app) as base:
        for path in TRAVERSALS:
            status, answer = raw_http(base, f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                                      .encode())
            assert status in (400, 404), (path, answer[:200])
            assert not any(s in answer for s in secrets), path


def test_overlong_site_paths_are_404(app, client):
    assert client.get("/" + "a" * 300).status_code == 404
    assert client.get("/" + "a/" * 3000).status_code == 404


def test_the_service_does_not_serve_its_working_files(client):
    for path in ("/.hubbub/manifest.json", "/.hubbub/recent.json", "/.hubbub/threads.json"):
        assert client.get(path).status_code == 404, path
