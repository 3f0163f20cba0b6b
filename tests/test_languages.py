"""Languages: the catalogs are complete, and a site in German (DEFAULT_LANG = "de") speaks German
everywhere a reader or a moderator looks: every page type of a real build, the comment form,
comments.js's words, the service's errors and pages, the emails to commenters, the moderation UI.
French and Spanish get a smoke test on the article page; the fast publisher still writes what a
full build writes, in German too.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from build_helpers import assert_same_as_full, make_site, write_thread
from publish_helpers import build as publish_build
from publish_helpers import make_site as make_publish_site
from publish_helpers import manifest
from service_helpers import GOOD, post, run_jobs
from smtp_helpers import SMTPServer
from test_publish_fast import assert_same_output, thread_a

from hubbub.build import run_build
from hubbub.core import catalogs, i18n
from hubbub.core.publisher import publish_thread

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ("en", "de", "fr", "es")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

# English furniture: none of it may show on a German page (the generated content's own words
# are a small English vocabulary that none of these phrases matches).
ENGLISH = ("Skip to content", "Latest posts", "Leave a Reply", "Post Comment", "Your email address",
           "Notify me", "Required fields", "Posts tagged", "Written by", "Read “", "Tags:", "Archives",
           "Newer posts", "Older posts", "Similar posts", "No comments", "Category:", "Member since",
           "About the author", "Profile and posts", "Search posts", "Home", "community of writers",
           "comment data", "Follow:", "Follow the", "Atom feed", "RSS feed", " comments", " comment ", "Page ", "page ",
           "Accolades", "Comments received", "Community stats", "The Hub", "How accolades work",
           "Published writer", "Search for", "Narrow the results", "Show more results", "Any writer",
           "Link to this comment", "replying to", "Top tags", "Latest comments", "Akismet to reduce",
           "January", "February", "March", "June", "July", "October", "December")


def visible_text(page: str) -> str:
    """What a reader sees or hears: text, and the titles, labels and placeholders of elements
    (data-* attributes are data: comments.js's English keys live there)."""
    page = re.sub(r"<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->", " ", page, flags=re.S)
    attributes = re.findall(r'\s(?:aria-label|title|placeholder|alt)="([^"]*)"', page)
    text = re.sub(r"<[^>]+>", " ", page)
    return " ".join(html.unescape(" ".join([text, *attributes])).split())


# -- (a) the catalogs ------------------------------------------------------------------------------

def test_every_shipped_language_translates_every_message():
    assert set(SHIPPED) <= set(i18n.languages())
    extracted = catalogs.extract()
    ids = [m.id for m in extracted if m.id]
    assert len(ids) > 300
    problems = []
    for lang in i18n.languages():
        catalog = catalogs.read(lang)
        for msgid in ids:
            message = catalog.get(msgid)
            if message is None:
                problems.append(f"{lang}: missing {msgid!r}")
                continue
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            if message.fuzzy or not all(forms):
                problems.append(f"{lang}: {'fuzzy' if message.fuzzy else 'empty'} {msgid!r}")
            if len(forms) != (catalog.num_plurals if isinstance(msgid, tuple) else 1):
                problems.append(f"{lang}: {msgid!r} needs {catalog.num_plurals} plural forms")
            wanted = set(PLACEHOLDER.findall(" ".join(msgid) if isinstance(msgid, tuple) else msgid))
            for form in forms:
                if set(PLACEHOLDER.findall(form)) - wanted or (wanted - {"num"}) - set(PLACEHOLDER.findall(form)):
                    problems.append(f"{lang}: placeholders of {msgid!r} differ in {form!r}")
    assert not problems, "\n".join(problems[:40]) + "\nrun `python -m hubbub.core.catalogs` and translate"


def test_the_scripts_get_every_string_they_show_from_the_page():
    pairs = [("hubbub/theme/static/js/comments.js", "hubbub/templates/hubbub/comment_form.html"),
             ("hubbub/theme/static/js/search.js", "hubbub/theme/templates/search.html"),
             ("comments_service/static/moderate.js", "comments_service/templates/moderate/base.html")]
    for script, template in pairs:
        code = (ROOT / script).read_text()
        used = set(re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', code))
        plural = set(re.findall(r'\btn\("((?:[^"\\]|\\.)*)"', code))
        assert len(used | plural) > 4, script
        source = (ROOT / template).read_text()
        missing = [s for s in used if f'"{s}": _("{s}"' not in source]
        missing += [s for s in plural if f'"{s}": {{"one": ngettext("{s}"' not in source]
        assert not missing, f"{template} does not hand {script} these strings: {missing}"


def test_dates_and_plurals_follow_the_language():
    from datetime import datetime

    when = datetime(2026, 3, 5, 14, 30)
    assert i18n.strftime(when, i18n.DATE_FORMAT, "en") == "5 March 2026"
    assert i18n.strftime(when, i18n.DATE_FORMAT, "de") == "5. März 2026"
    assert i18n.strftime(when, i18n.COMMENT_DATE_FORMAT, "fr") == "5 mars 2026 à 14:30"
    assert i18n.strftime(when, i18n.DATE_FORMAT, "es") == "5 de marzo de 2026"
    assert i18n.strftime(when, "%A %Y", "de") == "Donnerstag 2026"  # a site's own format: names translated
    plural = ("%(num)d comment", "%(num)d comments")
    assert [i18n.ngettext("de", *plural, n) % {"num": n} for n in (1, 2)] == ["1 Kommentar", "2 Kommentare"]
    assert i18n.ngettext("fr", *plural, 0) % {"num": 0} == "0 commentaire"  # French: 0 is singular
    assert i18n.ngettext("es", *plural, 1_000_000) % {"num": 1_000_000} == "1000000 de comentarios"
    assert i18n.site_language("de_DE") == "de" and i18n.site_language("pt") == "en"
    # Open Graph wants language_TERRITORY.
    assert [i18n.og_locale(v) for v in ("de", "fr", "es", "en", "de-AT", "", None)] == [
        "de_DE", "fr_FR", "es_ES", "en_US", "de_AT", "en_US", "en_US"]


# -- (b) a German site, every page type --------------------------------------------------------------

PAGE_TYPES = {
    "index": "index.html", "article": "posts/post-1/index.html", "page": "about/index.html",
    "tag": "tag/email/index.html", "category": "category/networking/index.html",
    "author": "authors/dana-okafor/index.html", "authors": "authors/index.html",
    "archives": "archives/index.html", "year": "archives/2015/index.html", "search": "search/index.html",
    "404": "404.html", "categories": "categories/index.html", "tags": "tags/index.html",
}


def site_in(root: Path, lang: str) -> Path:
    """A small site in `lang` with every page type (a 404 page and a comment thread included)."""
    site = make_site(root / "site", posts=14)
    with open(site / "pelicanconf.py", "a", encoding="utf-8") as fh:
        fh.write(f'\nDEFAULT_LANG = "{lang}"\n')
    (site / "content" / "pages" / "404.md").write_text(
        "Title: 404\nSlug: 404\nSave_as: 404.html\nURL: 404.html\nStatus: hidden\nTemplate: 404\n\n…\n",
        encoding="utf-8")
    write_thread(site, "post-1", [(1, None, "Lee Marsh"), (2, 1, "A Reader"), (3, 2, "Dana Okafor")])
    run_build(site, OUTPUT_PATH=str(site / "output"))
    return site


def assert_no_english_furniture(out: Path, lang: str, furniture: tuple[str, ...], same: tuple[str, ...] = ()):
    """Every page type: <html lang>, the language's own furniture, none of the English (but for
    words the language shares with English)."""
    for kind, name in PAGE_TYPES.items():
        page = (out / name).read_text(encoding="utf-8")
        assert f'<html lang="{lang}">' in page, kind
        assert f'<meta property="og:locale" content="{i18n.og_locale(lang)}">' in page, kind
        text = visible_text(page)
        found = [phrase for phrase in ENGLISH if phrase in text and phrase not in same]
        assert not found, f"{kind} ({name}) shows English furniture: {found}"
        assert all(word in text for word in furniture), (kind, furniture)


@pytest.fixture(scope="module")
def german_site(tmp_path_factory) -> Path:
    return site_in(tmp_path_factory.mktemp("de"), "de")


def test_a_german_site_shows_no_english_furniture_on_any_page_type(german_site):
    out = german_site / "output"
    pages = PAGE_TYPES
    assert_no_english_furniture(out, "de", ("Zum Inhalt springen", "Startseite"))
    article = visible_text((out / pages["article"]).read_text(encoding="utf-8"))
    for german in ("Schreiben Sie einen Kommentar", "Kommentar abschicken", "3 Kommentare zu",
                   "Ihre E-Mail-Adresse wird nicht veröffentlicht", "Antworten", "um 10:00", "Januar 2016",
                   "Schlagwörter:"):
        assert german in article, german
    feed = (out / "feeds" / "comments" / "post-1.atom.xml").read_text(encoding="utf-8")
    assert "<title>Kommentare zu „Post number 1" in feed and "<title>A Reader zu „" in feed
    author = visible_text((out / pages["author"]).read_text(encoding="utf-8"))
    assert "Mitglied seit März 2012" in author and "Auszeichnungen" in author


def test_comments_js_gets_its_words_in_german_from_the_form(german_site):
    import json

    page = (german_site / "output" / "posts" / "post-1" / "index.html").read_text(encoding="utf-8")
    words = json.loads(html.unescape(re.search(r'data-strings="([^"]*)"', page).group(1)))
    assert words["Please write a comment."] == "Bitte schreiben Sie einen Kommentar."
    assert words["Replying to %(name)s"] == "Antwort auf %(name)s"
    assert all(value and value != key for key, value in words.items() if key not in ("Browser",))


def test_english_pages_carry_only_the_words_their_scripts_cannot_fall_back_on(tmp_path):
    """The scripts show a word's English key when the page does not translate it: an English
    article carries no words, and the search page only its plurals (the key is one form)."""
    import json

    out = site_in(tmp_path, "en") / "output"
    article = (out / "posts" / "post-1" / "index.html").read_text(encoding="utf-8")
    assert 'class="comment-form"' in article and "data-strings" not in article
    search = (out / "search" / "index.html").read_text(encoding="utf-8")
    words = json.loads(html.unescape(re.search(r'data-strings="([^"]*)"', search).group(1)))
    assert words and all(isinstance(forms, dict) and "other" in forms for forms in words.values())


def test_post_feeds_say_their_language(german_site, tmp_path):
    feeds = german_site / "output" / "feeds"
    assert '<feed xml:lang="de" ' in (feeds / "all.atom.xml").read_text(encoding="utf-8")
    assert "<language>de</language>" in (feeds / "all.rss.xml").read_text(encoding="utf-8")
    # A translations feed says the language in its name, and follows a change of it incrementally.
    site = make_site(tmp_path / "site", posts=3)
    with open(site / "pelicanconf.py", "a", encoding="utf-8") as fh:
        fh.write('\nTRANSLATION_FEED_ATOM = "feeds/all-{lang}.atom.xml"\n')
    head = "Date: 2015-03-01 10:00\nAuthor: Lee Marsh\nCategory: Networking\nSlug: post-0\n"
    translation = site / "content" / "posts" / "post-0-x.md"
    translation.write_text(f"Title: Une traduction\n{head}Lang: fr\n\nMots.\n", encoding="utf-8")
    assert_same_as_full(site, tmp_path)
    assert '<feed xml:lang="fr" ' in (site / "output" / "feeds" / "all-fr.atom.xml").read_text(encoding="utf-8")
    assert '<feed xml:lang="en" ' in (site / "output" / "feeds" / "all.atom.xml").read_text(encoding="utf-8")
    translation.write_text(f"Title: Una traducción\n{head}Lang: es\n\nPalabras.\n", encoding="utf-8")
    assert_same_as_full(site, tmp_path)
    assert '<feed xml:lang="es" ' in (site / "output" / "feeds" / "all-es.atom.xml").read_text(encoding="utf-8")


@pytest.mark.parametrize("lang, words, same", [
    ("fr", ("Laisser un commentaire", "Publier le commentaire", '<html lang="fr">', "Aller au contenu",
            "2 commentaires sur «\u00a0Post number 0"), ("Archives", " comment ")),  # French words too
    ("es", ("Deja un comentario", "Publicar el comentario", '<html lang="es">', "Saltar al contenido",
            "2 comentarios en «Post number 0"), ()),
])
def test_french_and_spanish_article_pages(tmp_path, lang, words, same):
    site = make_site(tmp_path / "site", posts=3)
    write_thread(site, "post-0", [(1, None, "Lee Marsh"), (2, 1, "A Reader")])
    run_build(site, OUTPUT_PATH=str(site / "output"), DEFAULT_LANG=lang)
    page = (site / "output" / "posts" / "post-0" / "index.html").read_text(encoding="utf-8")
    for word in words:
        assert word in page, word
    text = visible_text(page)
    assert not [phrase for phrase in ENGLISH if phrase in text and phrase not in same]


@pytest.mark.parametrize("lang, furniture, same", [
    ("fr", ("Aller au contenu", "Accueil"), ("Archives", " comment ", "Page ", "page ")),
    ("es", ("Saltar al contenido", "Inicio"), ()),
])
def test_french_and_spanish_sites_show_no_english_furniture_on_any_page_type(tmp_path, lang, furniture, same):
    assert_no_english_furniture(site_in(tmp_path, lang) / "output", lang, furniture, same)


# -- (e) the fast publisher, in German -------------------------------------------------------------

def test_fast_publish_equals_full_build_in_german(tmp_path):
    site = make_publish_site(tmp_path)
    out = tmp_path / "fast"
    publish_build(site, out, DEFAULT_LANG="de")
    slugs = sorted(manifest(out)["threads"])
    result = publish_thread(site, out, slugs[0], thread_a(site))
    assert not result.problems and not result.needs_full_build
    full = tmp_path / "full"
    publish_build(site, full, DEFAULT_LANG="de")
    assert_same_output(out, full, slugs[:1])
    page = (out / "posts" / slugs[0] / "index.html").read_text(encoding="utf-8")
    assert "7 Kommentare zu" in page and "20. November 2026 um" in page


# -- (c) the comment service, for a German site ------------------------------------------------------

@pytest.fixture
def german_service_env(service_env, site_dir):
    with open(site_dir / "pelicanconf.py", "a", encoding="utf-8") as fh:
        fh.write('\nDEFAULT_LANG = "de"\n')
    run_build(site_dir)
    return service_env


def test_the_service_answers_in_the_sites_language(german_service_env, make_app, slug):
    app = make_app({**german_service_env, "HUBBUB_RATE_LIMIT": "3/minute"})
    client = app.test_client()
    r = client.post(f"/api/threads/{slug}/comments", data="x" * 300_000, content_type="application/json")
    assert r.status_code == 413 and r.get_json()["error"].startswith("Anfrage zu groß")
    r = post(client, slug, author="", email="nope", body="")
    assert r.status_code == 400
    fields = r.get_json()["fields"]
    assert fields == {"author": "Bitte geben Sie Ihren Namen ein.", "body": "Bitte schreiben Sie einen Kommentar.",
                      "email": "Das sieht nicht nach einer E-Mail-Adresse aus: Verwenden Sie name@example.org."}
    assert r.get_json()["error"] == "Der Kommentar enthält Fehler: Korrigieren Sie die genannten Felder."
    # The reply form without JavaScript: the page that asks to fix the fields.
    r = client.post(f"/api/threads/{slug}/comments", data={"author": "Ada", "email": "", "body": "Hallo"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and '<html lang="de">' in page
    assert "Bitte prüfen Sie Ihren Kommentar" in page and "Bitte geben Sie Ihre E-Mail-Adresse ein" in page
    assert "Please" not in page and "Post Comment" not in page
    r = post(client, slug)
    assert r.status_code == 429
    assert re.fullmatch(r"Zu viele Kommentare von Ihrer Adresse: Warten Sie \d+ Sekunden? und versuchen Sie es "
                        r"dann erneut\.", r.get_json()["error"]), r.get_json()["error"]


def test_a_closed_thread_says_so_in_german(german_service_env, make_app, site_dir, slug):
    from datetime import UTC, datetime, timedelta

    app = make_app(german_service_env)
    hub = app.extensions["hubbub"]
    # Closed after the build (COMMENTS_CLOSE_AFTER_DAYS passed since): what the service judges by.
    hub.threads.closed = lambda s, now=None: True
    client = app.test_client()
    r = post(client, slug)
    assert r.status_code == 403 and r.get_json()["error"].startswith("Die Kommentare zu diesem Artikel sind geschlossen")
    r = client.post(f"/api/threads/{slug}/comments", data={**GOOD})
    page = r.get_data(as_text=True)
    assert r.status_code == 403 and "Kommentare sind geschlossen" in page and '<html lang="de">' in page
    assert "Your comment" not in page
    assert datetime.now(UTC) - timedelta(days=1)  # (the manifest keeps the build's verdict)


def test_a_commenter_gets_their_emails_in_german(german_service_env, make_app, slug):
    from moderation_helpers import add_moderator, run_soon_jobs
    from test_notify import approve

    with SMTPServer() as smtp:
        app = make_app({**german_service_env, **smtp.env()})
        add_moderator(app, "now@example.org", notify="off")
        client = app.test_client()
        asker = post(client, slug, author="Quinn", email="quinn@example.org", notify="1", subscribe="1").json["id"]
        run_jobs(app)
        [confirm] = smtp.to("quinn@example.org")
        assert confirm.subject.startswith("Bitte bestätigen: E-Mails zu neuen Kommentaren auf „")
        assert "Um diese E-Mails zu erhalten, bestätigen Sie bitte hier" in confirm.body
        smtp.clear()
        approve(app, asker)
        run_soon_jobs(app)
        [published] = smtp.to("quinn@example.org")
        assert published.subject.startswith("Ihr Kommentar zu „") and published.subject.endswith("“ ist veröffentlicht")
        assert "Hallo Quinn," in published.body and "Mit einem Klick abbestellen:" in published.body
        reply = post(client, slug, author="Riley", email="riley@example.org", body="Hier die Antwort", parent=asker)
        run_jobs(app)
        approve(app, reply.json["id"])
        run_soon_jobs(app)
        answer = [m for m in smtp.to("quinn@example.org") if m is not published][0]
        # The pages those emails link to, in German too.
        from urllib.parse import urlsplit

        for mail, words in ((confirm, ("Per E-Mail über neue Kommentare zu „", "Ja, abonnieren")),
                            (published, ("Keine E-Mails mehr zu Ihren Kommentaren?", "Abbestellen"))):
            link = re.search(r"https?://\S+/notifications/\S+", mail.body).group(0)
            page = client.get(urlsplit(link).path).get_data(as_text=True)
            assert '<html lang="de">' in page and all(w in page for w in words), (words, page[:300])
    assert answer.subject.startswith("Riley hat auf Ihren Kommentar zu „")
    assert "Hier können Sie die Antwort lesen und darauf antworten:" in answer.body
    assert "Hello" not in answer.body + published.body + confirm.body


def test_the_moderation_ui_speaks_german(german_service_env, make_app, slug):
    from moderation_helpers import add_moderator, login

    app = make_app(german_service_env)
    add_moderator(app)
    client = app.test_client()
    page = client.get("/moderate/login").get_data(as_text=True)
    assert '<html lang="de">' in page and "Zum Moderieren anmelden" in page and "Passwort" in page
    login(client)
    post(app.test_client(), slug)
    page = client.get("/moderate/").get_data(as_text=True)
    text = visible_text(page)
    for german in ("Warteschlange", "Protokoll", "Freigeben", "Ablehnen", "Tastenkürzel", "Letzte 30 Tage", "Abmelden",
                   "gerade eben", "Urteil von Akismet"):
        assert german in text, german
    for english in ("Queue", "Audit log", "Approve", "Reject", "Keyboard shortcuts", "Log out", "Last 30 days"):
        assert english not in text, english
    cid = int(re.search(r'data-id="(\d+)"', page).group(1))
    pages = {"/moderate/account": ("Ihr Konto", "Passwort ändern", "Speichern"),
             "/moderate/audit": ("Protokoll", "Wann (UTC)", "Noch nichts."),
             "/moderate/team": ("Moderatoren", "Moderator hinzufügen", "Rolle und Beschränkung"),
             f"/moderate/comments/{cid}": ("Kommentar #", "Urteil von Akismet", "Freigeben"),
             f"/moderate/comments/{cid}/edit": ("Kommentar #", "bearbeiten", "So wird er jetzt angezeigt", "Abbrechen")}
    for path, words in pages.items():
        page = client.get(path).get_data(as_text=True)
        assert '<html lang="de">' in page, path
        text = visible_text(page)
        assert all(word in text for word in words), (path, [w for w in words if w not in text])
        assert not [w for w in ("Save", "Cancel", "Your account", "Add a moderator", "Nothing yet", "Approve")
                    if w in text], path


def test_a_changed_catalog_makes_the_build_render_everything_again():
    from hubbub.build.engine import _code_files
    from hubbub.settings import pelicanconf_settings

    settings = pelicanconf_settings(str(ROOT / "pelicanconf.py"))
    assert set(i18n.catalog_files()) <= set(_code_files(settings, ROOT))
    assert {p.parent.parent.name for p in i18n.catalog_files()} >= set(SHIPPED)


# -- the scripts in a real browser, on a German site -------------------------------------------------

@pytest.fixture(scope="module")
def german_served(tmp_path_factory):
    import threading
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from publish_helpers import comment, save_thread

    tmp = tmp_path_factory.mktemp("de-browser")
    site = make_publish_site(tmp)
    out = tmp / "out"
    publish_build(site, out, DEFAULT_LANG="de")
    slug = sorted(manifest(out)["threads"])[0]
    save_thread(site, slug, [comment(site, 1, author="Ann")])
    publish_build(site, out, DEFAULT_LANG="de")
    handler = type("Quiet", (SimpleHTTPRequestHandler,), {"log_message": lambda *a: None})
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(handler, directory=str(out)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", slug
    server.shutdown()
    server.server_close()


@pytest.mark.browser
@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="/usr/bin/chromium not installed")
def test_comments_js_and_search_js_speak_german_in_chromium(german_served):
    from playwright.sync_api import sync_playwright

    base, slug = german_served
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium",
                                    args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.set_default_timeout(10000)
            page.goto(f"{base}/posts/{slug}/")
            page.click("form.comment-form button[type=submit]")  # empty: comments.js answers itself
            assert page.inner_text("#comment-author-error") == "Bitte geben Sie Ihren Namen an."
            assert page.inner_text("#comment-body-error") == "Bitte schreiben Sie einen Kommentar."
            page.click(".preview-toggle")
            assert page.inner_text(".preview-toggle") == "Vorschau ausblenden"
            assert page.inner_text("#comment-preview") == "Noch nichts für die Vorschau."
            page.click("a.comment-reply")
            assert page.inner_text(".replying-to").startswith("Antwort auf Ann")
            assert page.inner_text(".cancel-reply") == "Antwort abbrechen"
            page.goto(f"{base}/search/?q=zzzqqqxxx")
            page.wait_for_function("() => document.querySelector('.search-status').textContent.length > 0")
            assert page.inner_text(".search-status") == ("Keine Treffer für „zzzqqqxxx“. Versuchen Sie weniger oder "
                                                         "andere Wörter, oder entfernen Sie einen Filter.")
            page.fill("#search-q", "networking")
            page.wait_for_function("() => /Treffer für „networking“/.test(document.querySelector('.search-status').textContent)")
            kinds = page.eval_on_selector_all("#search-type option", "options => options.map(o => o.textContent)")
            assert "Beitrag" in kinds and "Post" not in kinds
        finally:
            browser.close()
