"""axe-core (shipped inside the axe-playwright-python package, nothing fetched) in chromium on every
page type, light and dark: the site's pages (an article with a 100-comment thread and its form
showing errors, with and without JavaScript), search with results, 404, and every moderation
page. The real service serves them, so its Content-Security-Policy is on. 0 violations.

Also the theme's promises that axe does not check: 320 px without sideways scrolling, 200% zoom,
visible focus, print and reduced-motion rules.
"""

from __future__ import annotations

import re

import pytest
from attack_helpers import browser, serve_app
from moderation_helpers import PASSWORD, add_moderator, insert_comments
from publish_helpers import build, comment, make_site, manifest, save_thread
from site_helpers import seed_posts

from hubbub.build import load_settings

# axe checks every node of a 100-comment page: slow on a busy 2-core machine, hence the time allowed.
pytestmark = [pytest.mark.browser, pytest.mark.timeout(900)]

ADMIN, MODERATOR = "a11y-admin@example.org", "a11y-mod@example.org"
SCHEMES = ("light", "dark")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from comments_service import create_app

    tmp = tmp_path_factory.mktemp("a11y")
    site = make_site(tmp)
    out = site / "output"
    build(site, out)
    slug = sorted(manifest(out)["threads"])[0]
    thread = [comment(site, n, (n - 1) if n % 3 == 0 else None, author=f"Reader {n}",
                      html=f"<p>Comment {n}: <em>a thought</em> and <a href=\"https://example.org/{n}\" "
                           f"rel=\"nofollow ugc noopener\">a link</a>.</p>") for n in range(1, 101)]
    save_thread(site, slug, thread)
    build(site, out)
    app = create_app(None, env={
        "HUBBUB_SITE_DIR": str(site), "HUBBUB_DATABASE_URL": f"sqlite:///{tmp / 'c.db'}",
        "HUBBUB_INSTANCE_DIR": str(tmp / "instance"), "HUBBUB_SECRET_KEY": "a11y-secret",
        "HUBBUB_DEVELOPMENT": "1", "HUBBUB_REBUILD_AFTER_PUBLISH": "0"}, run_jobs=False)
    add_moderator(app, ADMIN, "admin")
    add_moderator(app, MODERATOR, "moderator")
    ids = {status: insert_comments(app, 3, slug, status=status) for status in ("pending", "spam", "rejected")}
    posts = seed_posts(load_settings(site), site)
    with serve_app(app) as base:
        yield {"base": base, "app": app, "slug": slug, "posts": posts, "ids": ids,
               "tag": sorted(p.name for p in (out / "tag").iterdir())[0]}
    app.extensions["hubbub"].stop()


def axe_violations(page, name: str) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    # target-size (WCAG 2.2: 24 px targets) is off in axe by default; Lighthouse counts it.
    results = Axe().run(page, options={"resultTypes": ["violations"], "rules": {"target-size": {"enabled": True}}})
    return [f"{name}: {v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']][:3]}"
            for v in results.response["violations"]]


def site_pages(served) -> dict[str, str]:
    post = next(p for p in served["posts"] if p.slug == served["slug"])
    return {
        "home": "/", "home page 2": "/page/2/",
        "tag": f"/tag/{served['tag']}/",
        "category": f"/category/{post.category_slug}/", "archives": "/archives/", "tags": "/tags/",
        "categories": "/categories/", "authors directory": "/authors/", "profile": f"/authors/{post.author_slug}/",
        "page": "/about/", "404": "/no/such/page/",
    }


def login(page, base: str, email: str) -> None:
    page.goto(base + "/moderate/login", wait_until="load")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/moderate/(\?.*)?$"))


@pytest.mark.parametrize("scheme", SCHEMES)
def test_site_pages_have_no_axe_violations(served, scheme):
    base, found = served["base"], []
    with browser() as b:
        context = b.new_context(color_scheme=scheme)
        page = context.new_page()
        for name, path in site_pages(served).items():
            response = page.goto(base + path, wait_until="load")
            assert response.status == (404 if name == "404" else 200), (name, path)
            found += axe_violations(page, f"{name} {path}")
        # Search with results (and its filters).
        page.goto(base + "/search/?q=networking", wait_until="load")
        page.wait_for_selector(".search-result")
        found += axe_violations(page, "search with results")
        # The article with its 100 comments, and the reply form showing its errors (comments.js checks
        # before sending).
        page.goto(base + f"/posts/{served['slug']}/", wait_until="load")
        assert page.locator("li.comment").count() == 100
        page.fill("#comment-email", "not an email")
        page.click("form.comment-form button[type=submit]")
        page.wait_for_selector(".field-error")
        found += axe_violations(page, "article with 100 comments, form with errors")
        context.close()
        # What a reader without JavaScript gets (axe itself needs JavaScript, so the page's scripts are
        # blocked instead and <noscript> shown as such a browser shows it): the search page's notice,
        # and the service's own page for a form with errors.
        context = b.new_context(color_scheme=scheme)
        page = context.new_page()
        page.route("**/theme/js/*.js", lambda route: route.abort())

        def without_script(route):
            answer = route.fetch()
            body = answer.text().replace("<noscript>", "<div>").replace("</noscript>", "</div>")
            route.fulfill(response=answer, body=body)

        page.route("**/search/?q=*", without_script)
        page.goto(base + "/search/?q=networking", wait_until="load")
        assert page.is_visible("text=needs JavaScript") and not page.is_visible(".search-form")
        found += axe_violations(page, "search without JavaScript")
        page.goto(base + f"/posts/{served['slug']}/", wait_until="load")
        page.fill("#comment-body", "Hello")
        page.fill("#comment-author", "Nomi")
        page.fill("#comment-email", "not an email")
        page.click("form.comment-form button[type=submit]")
        page.wait_for_load_state("load")
        assert "does not look like an email address" in page.content()
        found += axe_violations(page, "form error page (no JavaScript)")
        context.close()
    assert found == []


@pytest.mark.parametrize("scheme", SCHEMES)
def test_moderation_pages_have_no_axe_violations(served, scheme):
    from comments_service.moderation.notify import unsubscribe_token

    base, ids, found = served["base"], served["ids"], []
    hub = served["app"].extensions["hubbub"]
    with served["app"].app_context():
        token = unsubscribe_token(hub, ids["pending"][0])
    with browser() as b:
        # A phone's width (Lighthouse's): the comments' facts wrap onto lines of their own there.
        context = b.new_context(color_scheme=scheme, viewport={"width": 412, "height": 823})
        page = context.new_page()
        page.goto(base + "/moderate/login", wait_until="load")
        found += axe_violations(page, "login")
        page.fill("input[name=email]", ADMIN)
        page.fill("input[name=password]", "wrong password, surely")
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        found += axe_violations(page, "login with an error")
        login(page, base, ADMIN)
        pending = ids["pending"][0]
        for name, path in {
            "queue": "/moderate/", "queue: spam": "/moderate/?status=spam",
            "queue: published": "/moderate/?status=published", "queue: rejected": "/moderate/?status=rejected",
            "search": "/moderate/?q=Comment", "comment": f"/moderate/comments/{pending}",
            "edit": f"/moderate/comments/{pending}/edit", "audit log": "/moderate/audit",
            "account": "/moderate/account", "team": "/moderate/team",
            "unsubscribe": f"/notifications/unsubscribe/{token}", "unsubscribe, bad link": "/notifications/unsubscribe/x",
        }.items():
            page.goto(base + path, wait_until="load")
            found += axe_violations(page, name)
        # The scheme really applies (else the dark run would audit the light colours twice).
        background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background == ("rgb(245, 246, 248)" if scheme == "light" else "rgb(18, 21, 28)"), scheme
        context.close()
        # A moderator (not an admin) meets the "administrators only" message page.
        context = b.new_context(color_scheme=scheme)
        page = context.new_page()
        login(page, base, MODERATOR)
        response = page.goto(base + "/moderate/team", wait_until="load")
        assert response.status == 403
        found += axe_violations(page, "message: administrators only")
        context.close()
    assert found == []


def test_the_theme_fits_320_pixels_and_200_percent_zoom(served):
    base = served["base"]
    pages = site_pages(served)
    with browser() as b:
        for width, scale in ((320, 1), (640, 2)):  # 200% zoom of a 1280 px window = a 640 px one at 2x
            context = b.new_context(viewport={"width": width, "height": 800}, device_scale_factor=scale)
            page = context.new_page()
            for name, path in {**pages, "search": "/search/?q=networking"}.items():
                page.goto(base + path, wait_until="load")
                overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
                assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
            context.close()


def test_focus_is_visible_and_the_stylesheet_has_dark_print_and_reduced_motion_rules(served):
    base = served["base"]
    with browser() as b:
        for scheme in SCHEMES:
            page = b.new_page(color_scheme=scheme)
            page.goto(base + "/", wait_until="load")
            background = page.evaluate("() => getComputedStyle(document.body).backgroundColor")
            assert background == ("rgb(255, 255, 255)" if scheme == "light" else "rgb(18, 23, 28)"), scheme
            # Every focusable element of the page shows a focus outline when reached by keyboard.
            page.keyboard.press("Tab")
            for _ in range(12):
                style = page.evaluate("() => { const s = getComputedStyle(document.activeElement);"
                                      " return [s.outlineStyle, s.outlineWidth, document.activeElement.tagName]; }")
                assert style[0] != "none" and style[1] != "0px", (scheme, style)
                page.keyboard.press("Tab")
            page.close()
        # Reduced motion: no smooth scrolling or transitions; print: no navigation or forms.
        page = b.new_page(reduced_motion="reduce")
        page.goto(base + f"/posts/{served['slug']}/", wait_until="load")
        assert page.evaluate("() => getComputedStyle(document.documentElement).scrollBehavior") == "auto"
        page.emulate_media(media="print")
        hidden = page.evaluate("() => ['.site-search', '.respond', '.site-header nav']"
                               ".map(s => getComputedStyle(document.querySelector(s)).display)")
        assert hidden == ["none", "none", "none"]
        assert page.evaluate("() => getComputedStyle(document.querySelector('#comments')).display") != "none"
        page.close()
