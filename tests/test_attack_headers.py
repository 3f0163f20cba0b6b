"""Response headers on every kind of answer, how strict the Content-Security-Policy is, and the theme
and the moderation UI working in chromium under that very policy (no violation, scripts working).

tests/test_service_limits.py checks the headers on three pages and tests/test_moderation_ui.py the
moderation templates' markup; here every kind of answer (errors included) is covered, the policy
is parsed, and a real browser enforces it.
"""

from __future__ import annotations

import re

import pytest
from attack_helpers import PageWatch, browser, fresh_site, hub_of, moderation_available, run_all_jobs, serve_app
from service_helpers import GOOD, comments

SLUG = "social-media-and-network-marketing"
MODERATOR = ("csp-admin@example.org", "a long enough password")
STRICT_REFERRERS = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return fresh_site(tmp_path_factory.mktemp("headers") / "site")


@pytest.fixture
def app(make_app, site, tmp_path):
    env = {"HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}",
           "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "headers-secret",
           "HUBBUB_RATE_LIMIT": "3/minute", "HUBBUB_DEVELOPMENT": "1"}
    app = make_app(env)

    @app.route("/_attack/boom")
    def boom():  # an unexpected error: its answer needs the headers too
        raise RuntimeError("boom")

    @app.route("/api/_attack/boom")
    def api_boom():
        raise RuntimeError("boom")

    return app


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def requests_of_every_kind(client) -> dict[str, object]:
    """One answer of each kind the service gives: pages, assets, API successes and errors."""
    url = f"/api/threads/{SLUG}/comments"
    addresses = iter(f"10.0.0.{n}" for n in range(1, 250))

    def post(**kw):  # each from an address of its own: the rate limit (3/minute) must not answer first
        return client.post(url, environ_base={"REMOTE_ADDR": next(addresses)}, **kw)

    flooder = {"REMOTE_ADDR": "10.9.9.9"}
    for _ in range(3):
        client.post(url, json=GOOD, environ_base=flooder)
    answers = {
        "home page": client.get("/"),
        "article": client.get(f"/posts/{SLUG}/"),
        "feed": client.get("/feeds/comments.atom.xml"),
        "stylesheet": client.get("/theme/css/hubbub.css"),
        "script": client.get("/theme/js/comments.js"),
        "directory redirect 301": client.get("/posts"),
        "site 404": client.get("/no/such/page/"),
        "api 404": client.get("/api/nothing"),
        "api 405": client.delete("/api/health"),
        "health": client.get("/api/health"),
        "openapi": client.get("/api/openapi.json"),
        "thread": client.get(url),
        "post 202": post(json=GOOD),
        "post 400": post(json={**GOOD, "email": "x"}),
        "post 413": post(data="x" * 300_000, content_type="application/json"),
        "post 415": post(data="x", content_type="text/plain"),
        "form 303": post(data=GOOD),
        "form error page": post(data={**GOOD, "email": "broken"}),
        "post 429": client.post(url, json=GOOD, environ_base=flooder),
        "server error page": client.get("/_attack/boom"),
        "api server error": client.get("/api/_attack/boom"),
    }
    if moderation_available():
        answers.update({
            "login page": client.get("/moderate/login"),
            "login redirect": client.get("/moderate/"),
            "moderation asset": client.get("/moderate/static/moderate.js"),
            "moderation api 401": client.get("/api/moderation/comments"),
            "unsubscribe 404": client.get("/notifications/unsubscribe/forged"),
        })
    return answers


def test_every_kind_of_answer_carries_the_security_headers(app):
    answers = requests_of_every_kind(app.test_client())
    codes = {name: r.status_code for name, r in answers.items()}
    for name, code in codes.items():  # each answer is the kind its name says
        expected = re.search(r"\b(\d{3})\b", name)
        if expected:
            assert code == int(expected.group(1)), (name, code)
    assert codes["server error page"] == 500 and codes["form error page"] == 400
    for name, r in answers.items():
        h = r.headers
        assert h.get("X-Content-Type-Options") == "nosniff", name
        assert h.get("Referrer-Policy") in STRICT_REFERRERS, (name, h.get("Referrer-Policy"))
        csp = csp_directives(h.get("Content-Security-Policy", ""))
        assert csp.get("frame-ancestors") == ["'none'"] or h.get("X-Frame-Options") == "DENY", name
        assert "default-src" in csp, name
        if r.status_code >= 500:
            assert "boom" not in r.get_data(as_text=True)  # no internals in the answer
        if r.mimetype == "text/html" or name.startswith(("api", "post", "moderation api")):
            assert r.mimetype in ("text/html", "application/json"), (name, r.mimetype)


def test_the_policy_allows_only_this_origin_and_no_inline_code(app):
    csp = csp_directives(app.test_client().get(f"/posts/{SLUG}/").headers["Content-Security-Policy"])
    loose = {"'unsafe-inline'", "'unsafe-eval'", "'unsafe-hashes'", "*", "data:", "blob:", "http:", "https:",
             "'strict-dynamic'", "filesystem:"}
    script = csp.get("script-src", csp["default-src"])
    assert set(script) <= {"'self'"} or all(s.startswith(("'sha", "'nonce")) or s == "'self'" for s in script), script
    assert not loose & set(script)
    assert not loose & set(csp.get("style-src", csp["default-src"]))
    assert csp["default-src"] == ["'self'"]
    assert csp.get("object-src") == ["'none'"]
    assert csp.get("base-uri") in (["'self'"], ["'none'"])
    assert csp.get("frame-ancestors") == ["'none'"]
    assert csp.get("form-action") and not loose & set(csp["form-action"])
    assert not loose & set(csp.get("connect-src", [])) and not loose & set(csp.get("frame-src", []))


def test_assets_have_exact_types_so_nosniff_cannot_break_or_be_fooled(app):
    client = app.test_client()
    for path, types in {"/theme/js/comments.js": {"text/javascript", "application/javascript"},
                        "/theme/css/hubbub.css": {"text/css"},
                        "/feeds/comments.atom.xml": {"application/atom+xml", "application/xml", "text/xml"},
                        "/api/openapi.json": {"application/json"}}.items():
        assert client.get(path).mimetype in types, path
    if moderation_available():
        assert client.get("/moderate/static/moderate.js").mimetype in {"text/javascript", "application/javascript"}


def test_answers_with_personal_data_are_never_cached(app):
    if not moderation_available():
        pytest.skip("comments_service/moderation is not there yet")
    from comments_service.moderation import auth

    with hub_of(app).transaction() as s:
        _, token = auth.create_token(s, auth.create_moderator(s, *MODERATOR, role="admin"), "t")
    client = app.test_client()
    r = client.get("/api/moderation/comments", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and "no-store" in r.headers.get("Cache-Control", "")
    r = client.post(f"/api/threads/{SLUG}/comments", data={**GOOD, "email": "broken"})  # echoes what was typed
    assert "public" not in r.headers.get("Cache-Control", "")


VIOLATION_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    (e) => window.__csp.push(e.violatedDirective + ' blocked ' + e.blockedURI));
"""


def violations(page, watch: PageWatch) -> list[str]:
    seen = page.evaluate("() => window.__csp || []")
    return seen + [t for kind, t in watch.console if "Content Security Policy" in t or "Refused to" in t]


@pytest.mark.browser
def test_the_theme_and_its_script_work_under_the_policy_in_chromium(app):
    """The real service (which sends its CSP on output/ pages too) in chromium, CSP enforced."""
    with serve_app(app) as base, browser() as b:
        context = b.new_context()
        context.add_init_script(VIOLATION_LISTENER)
        page = context.new_page()
        watch = PageWatch(page)
        problems = []
        for path in ("/", f"/posts/{SLUG}/", "/authors/", "/archives/", "/tags/", "/about/", "/no/such/page/"):
            response = page.goto(base + path, wait_until="load")
            assert response.headers.get("content-security-policy"), path
            problems += [f"{path}: {v}" for v in violations(page, watch)]
            # The stylesheet applied (a blocked stylesheet leaves the page unstyled).
            assert page.evaluate("() => document.styleSheets.length") >= 1, path
        # comments.js runs: the preview renders Markdown...
        page.goto(base + f"/posts/{SLUG}/", wait_until="load")
        page.click(".preview-toggle")
        page.fill("#comment-body", "Some **bold** words")
        page.wait_for_selector("#comment-preview strong")
        # ...and a comment is sent with fetch (connect-src 'self') and shown to its writer as pending.
        page.fill("#comment-author", "Casey Browser")
        page.fill("#comment-email", "casey@example.org")
        with page.expect_response(lambda r: "/api/threads/" in r.url, timeout=10_000) as answer:
            page.click("form.comment-form button[type=submit]")
        assert answer.value.status == 202
        page.wait_for_selector("li.comment.pending")
        assert page.url.endswith(f"/posts/{SLUG}/")  # no navigation: the script did it
        problems += violations(page, watch)
        # The watch works, and the policy is a second line of defence: an injected inline script is
        # blocked and reported.
        page.evaluate("() => { const s = document.createElement('script');"
                      " s.textContent = 'window.__ran = 1'; document.body.append(s); }")
        page.wait_for_function("() => window.__csp.length > 0")
        assert page.evaluate("() => window.__ran") is None
        assert any("script-src" in v for v in violations(page, watch))
        context.close()
        # Without JavaScript: the form posts (form-action 'self') and the error page is styled.
        context = b.new_context(java_script_enabled=False)
        page = context.new_page()
        watch = PageWatch(page)
        page.goto(base + f"/posts/{SLUG}/", wait_until="load")
        page.fill("#comment-body", "No script here")
        page.fill("#comment-author", "Nomi")
        page.fill("#comment-email", "not-an-email")
        page.click("form.comment-form button[type=submit]")
        page.wait_for_load_state("load")
        assert "does not look like an email address" in page.content()
        problems += [t for kind, t in watch.console if "Content Security Policy" in t or "Refused to" in t]
        context.close()
    assert problems == []
    assert [c.author for c in comments(app)] == ["Casey Browser"]
    assert watch.errors == []


@pytest.mark.browser
def test_the_moderation_ui_works_under_the_policy_in_chromium(app):
    if not moderation_available():
        pytest.skip("comments_service/moderation is not there yet")
    from comments_service.moderation import auth

    with hub_of(app).transaction() as s:
        auth.create_moderator(s, *MODERATOR, role="admin")
    client = app.test_client()
    ids = [client.post(f"/api/threads/{SLUG}/comments", json={**GOOD, "body": f"Comment {n}"}).get_json()["id"]
           for n in range(2)]
    with serve_app(app) as base, browser() as b:
        context = b.new_context()
        context.add_init_script(VIOLATION_LISTENER)
        page = context.new_page()
        watch = PageWatch(page)
        page.goto(base + "/moderate/login", wait_until="load")
        found = violations(page, watch)
        page.fill("input[name=email]", MODERATOR[0])
        page.fill("input[name=password]", MODERATOR[1])
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/moderate/(\?.*)?$"))
        found += violations(page, watch)
        assert page.evaluate("() => document.documentElement.classList.contains('js')")  # moderate.js ran
        # Approve with the script (fetch, no reload).
        with page.expect_response(lambda r: f"/comments/{ids[0]}/approve" in r.url, timeout=10_000) as answer:
            page.click(f"#c-{ids[0]} button.act-approve")
        assert answer.value.status == 200
        found += violations(page, watch)
        for path in ("/moderate/audit", "/moderate/account", "/moderate/team", f"/moderate/comments/{ids[1]}"):
            page.goto(base + path, wait_until="load")
            found += [f"{path}: {v}" for v in violations(page, watch)]
        context.close()
    assert found == []
    assert watch.errors == []
    run_all_jobs(app)
    assert {c.id: c.status for c in comments(app)}[ids[0]] == "published"
