"""Privacy: commenters' emails and client addresses never leave the service's private side.

Comments with distinctive emails and addresses (given through a trusted proxy's X-Forwarded-For)
are posted, checked by Akismet (through a fault and a recovery), approved, published, and the site
is fully rebuilt. Then every file of output/ and of content/comments/, every public API answer, and
the service's log at INFO level are searched for the emails (in any case, URL- or HTML-encoded, or
as the plain MD5/SHA-256 a Gravatar-style avatar would use) and the addresses. The development server
(`hubbub serve`) is run as a subprocess to search its own output too.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import logging
from urllib.parse import quote

import httpx
import pytest
from attack_helpers import approve, fresh_site, hub_of, hubbub_serve, moderation_available, process_env, run_all_jobs
from service_helpers import akismet_env, comments

SLUGS = ["social-media-and-network-marketing", "email-lists-are-built-on-permission"]
EMAILS = ["privacy.canary.7f3a@example.org", "Second.Canary+Tag@Example.ORG", "third-canary-c0ffee@example.net"]
ADDRESSES = ["203.0.113.77", "2001:db8::beef:77", "198.51.100.177"]


def traces_of_email(email: str) -> list[str]:
    normal = email.strip().lower()
    return sorted({email, normal, quote(email), quote(normal), quote(normal, safe=""), html.escape(normal),
                   normal.split("@")[0] + "@",  # the local part with its at-sign, however the domain is written
                   hashlib.md5(normal.encode()).hexdigest(), hashlib.sha256(normal.encode()).hexdigest(),
                   hashlib.sha1(normal.encode()).hexdigest()})


def traces_of_address(address: str) -> list[str]:
    ip = ipaddress.ip_address(address)
    forms = {address, str(ip), ip.exploded}
    if ip.version == 4:
        forms.add(str(ipaddress.IPv6Address(f"::ffff:{address}")))
    return sorted(forms)


def find_traces(text: str) -> list[str]:
    lowered = text.lower()
    found = [t for e in EMAILS for t in traces_of_email(e) if t.lower() in lowered]
    found += [t for a in ADDRESSES for t in traces_of_address(a) if t.lower() in lowered]
    return found


def test_the_trace_finder_finds_what_it_looks_for():
    assert find_traces("x PRIVACY.CANARY.7F3A@EXAMPLE.ORG y")
    assert find_traces("second.canary%2Btag%40example.org")
    assert find_traces(hashlib.md5(b"third-canary-c0ffee@example.net").hexdigest())
    assert find_traces("from 2001:0db8:0000:0000:0000:0000:beef:0077")
    assert not find_traces("a quiet page about 203.0.113.7 and canary birds")


@pytest.fixture
def conversation(make_app, akismet, tmp_path, caplog):
    """Comments and replies from the canary commenters, checked, approved, published and rebuilt."""
    from hubbub.build import build_site

    caplog.set_level(logging.INFO)
    # Pelican, once imported, gives loggers created later a filter that drops any (level, message)
    # already logged in this process: forget those, so this test sees every line the service logs.
    from pelican.log import LimitFilter

    LimitFilter._raised_messages.clear()
    site = fresh_site(tmp_path / "site")
    env = akismet_env({"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
                       "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "privacy-secret",
                       "HUBBUB_RATE_LIMIT": "1000/minute", "HUBBUB_TRUSTED_PROXIES": "127.0.0.1"}, akismet)
    app = make_app(env)
    client = app.test_client()
    token = None
    if moderation_available():
        from comments_service.moderation import auth

        with hub_of(app).transaction() as s:
            _, token = auth.create_token(s, auth.create_moderator(s, "privacy-mod@example.com", "a long password!",
                                                                  role="admin"), "t")
    answers = []
    akismet.set_mode("503")  # a failed check first: its log lines are searched too
    ids = []
    for n, (email, address) in enumerate(zip(EMAILS * 2, ADDRESSES * 2, strict=False)):
        fields = {"author": f"Canary {n}", "email": email, "body": f"Comment number {n} from a canary.",
                  "url": "https://canary.example/"}
        headers = {"X-Forwarded-For": f"10.9.9.9, {address}", "User-Agent": "CanaryBrowser/1.0"}
        if n % 2:
            r = client.post(f"/api/threads/{SLUGS[n % 2]}/comments", data=fields, headers=headers)  # the form
            assert r.status_code == 303
            answers.append(r.headers["Location"])
            ids.append(comments(app)[-1].id)
        else:
            r = client.post(f"/api/threads/{SLUGS[n % 2]}/comments", json=fields, headers=headers)
            assert r.status_code == 202
            answers.append(r.get_data(as_text=True))
            ids.append(r.get_json()["id"])
    run_all_jobs(app, rounds=2)
    akismet.set_mode("ok")
    run_all_jobs(app)
    approve(app, ids, client, token)
    run_all_jobs(app)
    reply = client.post(f"/api/threads/{SLUGS[0]}/comments", json={
        "author": "Canary reply", "email": EMAILS[0], "body": "Replying.", "parent": ids[0]},
        headers={"X-Forwarded-For": ADDRESSES[1]})
    assert reply.status_code == 202
    approve(app, [reply.get_json()["id"]], client, token)
    run_all_jobs(app)
    build_site(site)  # the full build writes output/ again from content/comments
    from comments_service.models import Comment

    with hub_of(app).sessions() as s:
        stored = {(c.email, c.remote_addr) for c in s.query(Comment)}
    assert {a for _, a in stored} == set(ADDRESSES)  # the service did keep them, privately
    assert len(akismet.requests_to("comment-check")) >= 6
    return {"app": app, "site": site, "answers": answers, "caplog": caplog}


def test_no_email_or_address_in_output_or_thread_files(conversation):
    site = conversation["site"]
    files = [p for p in (site / "output").rglob("*") if p.is_file()]
    files += [p for p in (site / "content" / "comments").rglob("*") if p.is_file()]
    assert len(files) > 50
    leaks = {}
    for path in files:
        found = find_traces(path.read_bytes().decode("utf-8", errors="replace"))
        if found:
            leaks[str(path.relative_to(site))] = found
    assert leaks == {}
    page = (site / "output" / "posts" / SLUGS[0] / "index.html").read_text(encoding="utf-8")
    assert "Comment number 0 from a canary." in page  # they were published


def test_no_email_or_address_in_public_api_answers(conversation):
    client = conversation["app"].test_client()
    texts = list(conversation["answers"])
    for slug in SLUGS:
        r = client.get(f"/api/threads/{slug}/comments")
        assert r.get_json()["comments"]
        texts.append(r.get_data(as_text=True))
    for path in ("/api/health", "/api/openapi.json", f"/api/threads/{SLUGS[0]}/comments?email={EMAILS[0]}"):
        texts.append(client.get(path).get_data(as_text=True))
    assert [find_traces(t) for t in texts if find_traces(t)] == []


def test_no_email_or_address_in_the_log_at_info_level(conversation):
    records = conversation["caplog"].get_records("setup")  # the conversation happened in the fixture
    assert any(r.name.startswith("comments_service") for r in records), {r.name for r in records}  # captured
    leaks = [f"{r.name}: {r.getMessage()[:200]}" for r in records if r.levelno >= logging.INFO
             and find_traces(r.getMessage() + str(r.exc_text or ""))]
    assert leaks == []


def test_hubbub_serve_does_not_log_client_addresses(tmp_path):
    site = fresh_site(tmp_path / "site")
    env = process_env(HUBBUB_SITE_DIR=site, HUBBUB_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
                      HUBBUB_INSTANCE_DIR=tmp_path / "instance", HUBBUB_SECRET_KEY="privacy-secret")
    client_address = "127.13.37.42"  # a loopback address of our own: the server sees the real peer
    with hubbub_serve(env, site, tmp_path / "serve.log") as server:
        transport = httpx.HTTPTransport(local_address=client_address)
        with httpx.Client(transport=transport, timeout=10) as c:
            r = c.post(f"{server.url}/api/threads/{SLUGS[0]}/comments",
                       json={"author": "A", "email": EMAILS[0], "body": "Logged?"})
            assert r.status_code == 202
            assert c.get(f"{server.url}/posts/{SLUGS[0]}/").status_code == 200
        log = server.log_text()
    assert "POST /api/threads/" in log or "Hubbub on" in log  # the log was read
    assert client_address not in log
    assert EMAILS[0] not in log


def test_gunicorn_with_the_deploy_config_does_not_log_client_addresses(tmp_path):
    from attack_helpers import BIN, ROOT, LiveProcess, free_port

    config = ROOT / "deploy" / "gunicorn.conf.py"
    if not config.exists():
        pytest.skip("deploy/gunicorn.conf.py is not there")
    site = fresh_site(tmp_path / "site")
    port = free_port()
    env = process_env(HUBBUB_SITE_DIR=site, HUBBUB_DATABASE_URL=f"sqlite:///{tmp_path / 'c.db'}",
                      HUBBUB_INSTANCE_DIR=tmp_path / "instance", HUBBUB_SECRET_KEY="privacy-secret",
                      HUBBUB_TRUSTED_PROXIES="127.0.0.1", HUBBUB_BIND=f"127.0.0.1:{port}", HUBBUB_WORKERS="1")
    server = LiveProcess([str(BIN / "gunicorn"), "-c", str(config), "comments_service:create_app()"], env, site,
                         tmp_path / "gunicorn.log", port)
    with server:
        r = httpx.post(f"{server.url}/api/threads/{SLUGS[0]}/comments", timeout=10,
                       json={"author": "A", "email": EMAILS[0], "body": "Logged?"},
                       headers={"X-Forwarded-For": ADDRESSES[0]})
        assert r.status_code == 202
    log = server.log_text()
    assert "Booting worker" in log  # the log was read
    assert find_traces(log) == []
