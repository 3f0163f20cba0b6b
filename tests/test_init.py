"""`hubbub init DIR`: a new site from the package alone, that builds and takes comments at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from moderation_helpers import add_moderator, make_token
from service_helpers import comments, run_jobs
from site_helpers import parse_html, read_metadata, text_of

import hubbub
from hubbub.build import build_site, load_settings
from hubbub.cli import main

# The service settings init reads, cleared so the machine's own environment cannot leak in.
CLEAN = dict.fromkeys(("PYTHON_AKISMET_API_KEY", "HUBBUB_SMTP_HOST", "HUBBUB_IP_RETENTION_DAYS",
                       "HUBBUB_SPAM_RETENTION_DAYS", "HUBBUB_DISCARD_RETENTION_HOURS", "HUBBUB_SITEURL",
                       "HUBBUB_COMMENTS_URL", "HUBBUB_SITE_DIR"))


def hubbub_cli(*args, **env):
    return CliRunner().invoke(main, [str(a) for a in args], env={**CLEAN, **env}, catch_exceptions=False)


@pytest.fixture
def new_site(tmp_path) -> Path:
    site = tmp_path / "my site"
    result = hubbub_cli("init", site, "--title", "Garden Club", "--author", "Ana Bell-Ortiz",
                        "--url", "https://garden.club.test/")
    assert result.exit_code == 0, result.output
    assert "hubbub build" in result.output and "hubbub serve" in result.output
    return site


def test_init_writes_a_commented_site_that_builds(new_site):
    files = sorted(p.relative_to(new_site).as_posix() for p in new_site.rglob("*") if p.is_file())
    assert files == [".gitignore", "README.md", "content/authors/ana-bell-ortiz.md", "content/pages/404.md",
                     "content/pages/about.md", "content/pages/privacy.md", "content/posts/welcome.md",
                     "pelicanconf.py", "publishconf.py"]
    assert (new_site / "content" / "images").is_dir()
    for name in ("pelicanconf.py", "publishconf.py"):
        assert (new_site / name).read_text().count("#") >= 3, f"{name} explains its settings"
    ignored = (new_site / ".gitignore").read_text().split()
    assert {"output/", "instance/", "content/comments/"} <= set(ignored)
    readme = (new_site / "README.md").read_text()
    assert "hubbub serve" in readme and "hubbub moderator add" in readme and "hubbub doctor" in readme

    dev = load_settings(new_site)
    assert dev["SITENAME"] == "Garden Club" and dev["AUTHOR"] == "Ana Bell-Ortiz"
    assert dev["THEME"] == hubbub.THEME and "hubbub.plugins.comments" in dev["PLUGINS"]
    assert load_settings(new_site, publish=True)["SITEURL"] == "https://garden.club.test"
    assert read_metadata(new_site / "content" / "authors" / "ana-bell-ortiz.md")["name"] == "Ana Bell-Ortiz"

    build_site(new_site)
    out = new_site / "output"
    home = parse_html((out / "index.html").read_bytes(), name="home")
    assert "Garden Club" in text_of(home) and "Welcome to Garden Club" in text_of(home)
    post = parse_html((out / "posts" / "welcome" / "index.html").read_bytes(), name="welcome post")
    form = next(f for f in post.iter("form") if "comment-form" in f.get("class", ""))
    assert form.get("action") == "/api/threads/welcome/comments"
    profile_links = [a.get("href") for a in post.iter("a") if (a.get("href") or "").endswith("authors/ana-bell-ortiz/")]
    assert profile_links, "the welcome post links to the owner's profile"
    # The welcome post is in the site's one category, where `hubbub new post` puts posts too.
    assert sorted(p.name for p in (out / "category").iterdir()) == ["blog"]
    for page in ("authors/ana-bell-ortiz/index.html", "about/index.html", "privacy/index.html", "404.html"):
        assert (out / page).is_file(), page
    privacy = text_of(parse_html((out / "privacy" / "index.html").read_bytes(), name="privacy"))
    assert "after 30 days" in privacy and "after 15 days" in privacy and "after 24 hours" in privacy
    assert "not sent to any spam-checking service" in privacy and "sends no email" in privacy
    # The form says the same: no Akismet notice, no email options (the service has neither yet).
    assert "Akismet" not in text_of(form) and form.find(".//input[@name='notify']") is None
    assert form.find(".//input[@name='subscribe']") is None

    build_site(new_site, publish=True, OUTPUT_PATH=str(new_site / "public"))
    assert 'href="https://garden.club.test/posts/welcome/"' in (new_site / "public" / "index.html").read_text()


def test_the_privacy_page_states_the_service_settings(tmp_path):
    site = tmp_path / "site"
    result = hubbub_cli("init", site, "--author", "Jo", HUBBUB_IP_RETENTION_DAYS="7", HUBBUB_SPAM_RETENTION_DAYS="1",
                        PYTHON_AKISMET_API_KEY="abc123", HUBBUB_SMTP_HOST="mail.test")
    assert result.exit_code == 0, result.output
    page = (site / "content" / "pages" / "privacy.md").read_text()
    assert "after **7 days**" in page and "after **1 day**" in page
    assert "**Akismet**" in page and "Notify me of replies" in page
    assert "Write to Jo" in page
    build_site(site)  # the reply form tells readers the same
    form = next(f for f in parse_html((site / "output" / "posts" / "welcome" / "index.html").read_bytes()).iter("form")
                if "comment-form" in f.get("class", ""))
    assert "This site uses Akismet to reduce spam." in text_of(form)
    assert form.find(".//input[@name='notify']") is not None and form.find(".//input[@name='subscribe']") is not None


@pytest.mark.parametrize("lang, words", [
    ("fr", {"welcome": "Bienvenue sur Garden Club", "about": "est un blog communautaire",
            "privacy": ["au bout de 30 jours", "au bout de 24 heures", "aucun service anti-spam",
                        "envoie aucun e-mail"], "tagline": "Une courte phrase sur vous", "heading": "Laisser un commentaire"}),
    ("de", {"welcome": "Willkommen bei Garden Club", "about": "ist ein Community-Blog",
            "privacy": ["nach 30 Tagen", "nach 24 Stunden", "an keinen Spam-Prüfdienst", "versendet keine E-Mails"],
            "tagline": "Eine kurze Zeile über Sie", "heading": "Schreiben Sie einen Kommentar"}),
    ("es", {"welcome": "Bienvenido a Garden Club", "about": "es un blog comunitario",
            "privacy": ["al cabo de 30 días", "al cabo de 24 horas", "ningún servicio antispam", "no envía correos"],
            "tagline": "Una frase breve sobre ti", "heading": "Deja un comentario"}),
])
def test_a_site_in_another_language_starts_with_its_pages_in_that_language(tmp_path, lang, words):
    site = tmp_path / "site"
    result = hubbub_cli("init", site, "--title", "Garden Club", "--author", "Ana", "--lang", lang)
    assert result.exit_code == 0, result.output
    assert load_settings(site)["DEFAULT_LANG"] == lang
    build_site(site)
    out = site / "output"
    pages = {name: parse_html((out / path).read_bytes(), name=name) for name, path in {
        "welcome": "posts/welcome/index.html", "about": "about/index.html", "privacy": "privacy/index.html",
        "profile": "authors/ana/index.html", "404": "404.html"}.items()}
    for name, page in pages.items():
        assert page.get("lang") == lang, name
    assert words["welcome"] in text_of(pages["welcome"]) and words["heading"] in text_of(pages["welcome"])
    assert words["about"] in text_of(pages["about"])
    assert all(w in text_of(pages["privacy"]) for w in words["privacy"]), text_of(pages["privacy"])
    assert words["tagline"] in text_of(pages["profile"])
    # Nothing of the English starter is left on the site.
    for english in ("Welcome!", "is a community blog", "What we store", "A short line about you",
                    "there is nothing at this address"):
        assert not any(english in text_of(page) for page in pages.values()), english


def test_every_language_has_every_starter_page_with_the_same_placeholders_and_metadata():
    """A page, placeholder or metadata line added to the English starter is added to every language."""
    import re

    from hubbub.core.i18n import languages
    from hubbub.init_site import STARTER, TRANSLATED

    english = {p.relative_to(STARTER / "content"): p for p in (STARTER / "content").rglob("*.md")}
    assert {p.name for p in TRANSLATED.iterdir()} == set(languages()) - {"en"}
    for lang in sorted(p.name for p in TRANSLATED.iterdir()):
        translated = {p.relative_to(TRANSLATED / lang / "content"): p
                      for p in (TRANSLATED / lang).rglob("*") if p.is_file()}
        assert translated.keys() == english.keys(), lang
        for rel, source in english.items():
            ours, theirs = source.read_text(encoding="utf-8"), translated[rel].read_text(encoding="utf-8")
            assert sorted(re.findall(r"\[\[\w+\]\]|\{author\}", ours)) == \
                sorted(re.findall(r"\[\[\w+\]\]|\{author\}", theirs)), (lang, rel)
            keys = {line.split(":", 1)[0] for line in ours.split("\n\n", 1)[0].splitlines()}
            assert keys == {line.split(":", 1)[0] for line in theirs.split("\n\n", 1)[0].splitlines()}, (lang, rel)
            kept = ("Slug", "Save_as", "URL", "Status", "Template", "Date", "Author")
            assert [line for line in ours.splitlines() if line.split(":", 1)[0] in kept] == \
                [line for line in theirs.splitlines() if line.split(":", 1)[0] in kept], (lang, rel)


def test_a_language_hubbub_does_not_speak_is_refused(tmp_path):
    result = hubbub_cli("init", tmp_path / "site", "--lang", "xx")
    assert result.exit_code == 1 and "--lang 'xx'" in result.output and "de, en, es, fr" in result.output
    assert not (tmp_path / "site").exists()


def test_a_new_site_takes_comments(new_site, make_app, sqlite_url, tmp_path):
    build_site(new_site)
    app = make_app({"HUBBUB_SITE_DIR": str(new_site), "HUBBUB_DATABASE_URL": sqlite_url,
                    "HUBBUB_SECRET_KEY": "x" * 40, "HUBBUB_REBUILD_AFTER_PUBLISH": "0"})
    r = app.test_client().post("/api/threads/welcome/comments", data={
        "author": "Reader", "email": "reader@example.org", "body": "Lovely *start*.", "url": ""})
    assert r.status_code == 303 and r.headers["Location"].endswith("/posts/welcome/#comment-pending")
    run_jobs(app)
    [stored] = comments(app)
    assert stored.thread == "welcome" and stored.status == "pending"
    add_moderator(app)
    _, token = make_token(app)
    approved = app.test_client().post(f"/api/moderation/comments/{stored.id}/approve",
                                      headers={"Authorization": f"Bearer {token}"})
    assert approved.status_code == 200
    run_jobs(app)
    page = (new_site / "output" / "posts" / "welcome" / "index.html").read_text()
    assert "Lovely <em>start</em>." in page


def test_the_packaged_theme_is_overridable_template_by_template(new_site):
    templates = new_site / "templates"
    (templates / "partials").mkdir(parents=True)
    (templates / "partials" / "author_card.html").write_text('<p class="my-card">By {{ article.author }}</p>')
    (templates / "page.html").write_text('{% extends "!theme/page.html" %}{% block title %}Ours: {{ super() }}{% endblock %}')
    with (new_site / "pelicanconf.py").open("a") as fh:
        fh.write('\nfrom pathlib import Path\nTHEME_TEMPLATES_OVERRIDES = [str(Path(__file__).parent / "templates")]\n')
    build_site(new_site)
    post = (new_site / "output" / "posts" / "welcome" / "index.html").read_text()
    assert '<p class="my-card">By Ana Bell-Ortiz</p>' in post and "comment-form" in post
    about = parse_html((new_site / "output" / "about" / "index.html").read_bytes(), name="about")
    assert text_of(next(about.iter("title"))).startswith("Ours: About")


def test_new_post_takes_the_new_sites_category(new_site):
    result = hubbub_cli("new", "post", "Pruning roses", "--author", "Ana Bell-Ortiz", HUBBUB_SITE_DIR=str(new_site))
    assert result.exit_code == 0, result.output
    assert read_metadata(new_site / "content" / "posts" / "pruning-roses.md")["category"] == "Blog"


def test_quotes_and_backslashes_survive_into_the_settings(tmp_path):
    title, author = 'Jo\'s "Net" \\ Notes', "Zoë O'Hara"
    result = hubbub_cli("init", tmp_path / "s", "--title", title, "--author", author)
    assert result.exit_code == 0, result.output
    settings = load_settings(tmp_path / "s")
    assert (settings["SITENAME"], settings["AUTHOR"]) == (title, author)
    assert (tmp_path / "s" / "content" / "authors" / "zoe-ohara.md").is_file()


def test_refuses_a_directory_that_is_not_empty(tmp_path):
    site = tmp_path / "busy"
    site.mkdir()
    (site / "notes.txt").write_text("mine")
    result = hubbub_cli("init", site)
    assert result.exit_code == 1
    assert "is not empty" in result.output and "nothing was written" in result.output
    assert [p.name for p in site.iterdir()] == ["notes.txt"] and (site / "notes.txt").read_text() == "mine"
    (site / "notes.txt").unlink()
    (site / ".hidden").write_text("")
    assert hubbub_cli("init", site).exit_code == 1  # a dotfile is content too


@pytest.mark.parametrize("args, message", [
    (["--url", "blog.example.org"], "is not a web address"),
    (["--url", "javascript:alert(1)"], "is not a web address"),
    (["--title", "  "], "the title is empty"),
    (["--author", "!!!"], "no letters or digits"),
])
def test_bad_options_write_nothing(tmp_path, args, message):
    site = tmp_path / "site"
    result = hubbub_cli("init", site, *args)
    assert result.exit_code == 1 and message in result.output, result.output
    assert not site.exists()


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    import hubbub.init_site as init_site

    site = tmp_path / "site"
    site.mkdir()
    real_open = Path.open

    def full_disk(path, mode="r", *args, **kwargs):
        if "x" in mode and path.name == "privacy.md":
            raise OSError(28, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr(Path, "open", full_disk)
    with pytest.raises(init_site.InitError, match="No space left on device"):
        init_site.init_site(site, "T", "Jo", env={})
    assert list(site.iterdir()) == []  # the empty directory is as it was


def test_a_bad_service_setting_stops_init(tmp_path):
    result = hubbub_cli("init", tmp_path / "site", HUBBUB_IP_RETENTION_DAYS="a month")
    assert result.exit_code == 1 and "HUBBUB_IP_RETENTION_DAYS" in result.output
    assert not (tmp_path / "site").exists()
