"""`hubbub new post|author`, `hubbub build` outside a site, and `hubbub serve --reload` rebuilding."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from site_helpers import build, copy_site, parse_html, read_metadata, text_of

from hubbub.cli import main


@pytest.fixture
def site(tmp_path) -> Path:
    return copy_site(tmp_path / "site")


def hubbub(site: Path | None, *args: str):
    env = {"HUBBUB_SITE_DIR": str(site)} if site else {}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_new_post_creates_a_post_that_builds(site, tmp_path):
    result = hubbub(site, "new", "post", "Café Networking: Does It Work?", "--author", "Jo Bloggs")
    assert result.exit_code == 0, result.output
    path = site / "content" / "posts" / "cafe-networking-does-it-work.md"
    assert f"Created {path}" in result.output
    meta = read_metadata(path)
    assert meta["title"] == "Café Networking: Does It Work?"
    assert meta["author"] == "Jo Bloggs"
    assert meta["slug"] == "cafe-networking-does-it-work"
    assert meta["category"] and meta["summary"] and meta["date"]
    time.strptime(meta["date"], "%Y-%m-%d %H:%M")

    output = tmp_path / "output"
    build(output, root=site)
    page = output / "posts" / "cafe-networking-does-it-work" / "index.html"
    tree = parse_html(page.read_bytes(), name="new post")
    assert [text_of(h) for h in tree.iter("h1")] == ["Café Networking: Does It Work?"]
    assert (output / "authors" / "jo-bloggs" / "index.html").is_file()
    assert "cafe-networking-does-it-work" in (output / "feeds" / "all.atom.xml").read_text()


def test_new_post_takes_a_category(site):
    result = hubbub(site, "new", "post", "Routers at home", "--author", "Jo", "--category", "Networking")
    assert result.exit_code == 0, result.output
    assert read_metadata(site / "content" / "posts" / "routers-at-home.md")["category"] == "Networking"


def test_new_post_refuses_to_overwrite(site):
    assert hubbub(site, "new", "post", "Same title", "--author", "Jo").exit_code == 0
    path = site / "content" / "posts" / "same-title.md"
    path.write_text(path.read_text() + "\nMy words, not to be lost.\n")
    before = path.read_text()
    again = hubbub(site, "new", "post", "Same Title!", "--author", "Someone Else")
    assert again.exit_code == 1
    assert "already exists" in again.output and "same-title.md" in again.output
    assert path.read_text() == before


@pytest.mark.parametrize("title, message", [("", "needs a title"), ("   ", "needs a title"),
                                            ("?!…", "cannot make a file name")])
def test_new_post_needs_a_usable_title(site, title, message):
    result = hubbub(site, "new", "post", title, "--author", "Jo")
    assert result.exit_code == 1
    assert message in result.output
    assert sorted(p.name for p in (site / "content" / "posts").iterdir()) == \
        sorted(p.name for p in (Path(__file__).parents[1] / "content" / "posts").glob("*.md"))


def test_new_post_needs_an_author(site):
    result = hubbub(site, "new", "post", "No author")
    assert result.exit_code == 2 and "--author" in result.output
    assert hubbub(site, "new", "post", "Blank author", "--author", " ").exit_code == 1


def test_new_author_creates_a_profile(site, tmp_path):
    result = hubbub(site, "new", "author", "Jo Bloggs")
    assert result.exit_code == 0, result.output
    path = site / "content" / "authors" / "jo-bloggs.md"
    assert f"Created {path}" in result.output
    meta = read_metadata(path)
    assert meta["name"] == "Jo Bloggs"
    assert {"email", "tagline", "location", "website", "linkedin", "joined"} <= set(meta)
    time.strptime(meta["joined"], "%Y-%m-%d")
    # A fresh, unfilled profile must not break the build, and is never published as a page.
    build(tmp_path / "output", root=site)
    assert not list((tmp_path / "output").rglob("jo-bloggs.md"))
    assert not (tmp_path / "output" / "authors" / "jo-bloggs.html").exists()

    again = hubbub(site, "new", "author", "Jo Bloggs")
    assert again.exit_code == 1 and "already exists" in again.output
    assert hubbub(site, "new", "author", "  ").exit_code == 1


def test_a_new_profile_and_post_speak_the_sites_language(site):
    with (site / "pelicanconf.py").open("a") as fh:
        fh.write('\nDEFAULT_LANG = "de-AT"\n')
    assert hubbub(site, "new", "author", "Jo Bloggs").exit_code == 0
    path = site / "content" / "authors" / "jo-bloggs.md"
    assert read_metadata(path)["tagline"] == "Eine kurze Zeile über Sie"
    assert "Ein paar Absätze über Sie" in path.read_text() and "about you" not in path.read_text()
    again = hubbub(site, "new", "author", "Jo Bloggs")
    assert "choose another name or edit that file" in again.output
    assert hubbub(site, "new", "post", "Erste Schritte", "--author", "Jo Bloggs").exit_code == 0
    post = site / "content" / "posts" / "erste-schritte.md"
    assert read_metadata(post)["summary"] == "Ein oder zwei Sätze, die auf der Startseite und in den Feeds erscheinen."
    assert "Schreiben Sie Ihren Beitrag hier" in post.read_text() and "Write your post" not in post.read_text()


def test_build_outside_a_site_says_what_to_do(tmp_path):
    empty = tmp_path / "not-a-site"
    empty.mkdir()
    result = hubbub(empty, "build")
    assert result.exit_code == 1
    assert "pelicanconf.py not found" in result.output and "HUBBUB_SITE_DIR" in result.output


# A broken line at the end of pelicanconf.py, and what the message must say about it.
BROKEN_SETTINGS = {
    "syntax": ("SITENAME = ", "SyntaxError"),
    "import": ("import nonexistent_mod", "No module named 'nonexistent_mod'"),
    "pelican": ("DEFAULT_LANG = 5", "DEFAULT_LANG is 5, where Pelican expects text"),
}


def _break_settings(site: Path, line: str) -> int:
    """Append the line to pelicanconf.py; its line number."""
    settings = site / "pelicanconf.py"
    text = settings.read_text(encoding="utf-8").rstrip("\n") + "\n"
    settings.write_text(text + line + "\n", encoding="utf-8")
    return text.count("\n") + 1


def _says_where(output: str, site: Path, number: int, words: str) -> None:
    assert "Traceback" not in output, output
    assert f"{site / 'pelicanconf.py'} does not load: line {number}" in output and words in output, output
    assert f"To fix it: correct line {number} of {site / 'pelicanconf.py'}" in output, output


@pytest.mark.parametrize("case", sorted(BROKEN_SETTINGS))
def test_build_with_broken_settings_says_which_line_and_what_to_do(site, case):
    line, words = BROKEN_SETTINGS[case]
    number = _break_settings(site, line)
    result = hubbub(site, "build")
    assert result.exit_code == 1
    _says_where(result.output, site, number, words)


def test_build_command_builds_into_output(site, tmp_path):
    result = hubbub(site, "build", "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert "Site built in" in result.output
    assert (tmp_path / "out" / "index.html").is_file()


# -- hubbub serve --reload -----------------------------------------------------------------------

@pytest.mark.parametrize("siteurl, port, warned", [
    ("http://127.0.0.1:8000", 8000, False), ("http://127.0.0.1:8000", 9000, True),
    ("http://localhost", 80, False), ("http://localhost", 8000, True), ("https://blog.example.org", 9000, False),
    ("", 9000, False), ("http://127.0.0.1:notaport", 9000, False),
])
def test_serve_warns_when_the_site_points_at_another_port(siteurl, port, warned):
    from hubbub.cli import _served_elsewhere

    assert _served_elsewhere(siteurl, port) == (siteurl if warned else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until(condition, timeout: float, what, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"not within {timeout}s: {what}\n--- hubbub serve said:\n{log.read_text()}")


def test_serve_reload_rebuilds_when_content_changes(site, tmp_path):
    import httpx

    build(site / "output", root=site)
    post = site / "content" / "posts" / "email-lists-are-built-on-permission.md"
    page = site / "output" / "posts" / "email-lists-are-built-on-permission" / "index.html"
    port = _free_port()
    env = {**os.environ, "HUBBUB_SITE_DIR": str(site), "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"),
           "HUBBUB_SECRET_KEY": "test-secret"}
    for name in ("PYTHON_AKISMET_API_KEY", "PYTHON_AKISMET_BLOG_URL", "HUBBUB_QUEUE_URL", "HUBBUB_DATABASE_URL",
                 "HUBBUB_OUTPUT_DIR"):
        env.pop(name, None)
    log = (tmp_path / "serve.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "hubbub", "serve", "--reload", "--port", str(port)],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        def serving() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code == 200
            except httpx.TransportError:
                return proc.poll() is not None  # stop waiting if it died
        log_path = tmp_path / "serve.log"
        _wait_until(serving, 20, "hubbub serve answering", log_path)
        assert proc.poll() is None, log_path.read_text()
        _wait_until(lambda: "Watching" in log_path.read_text(), 20, "the watcher starting", log_path)
        # The site's SITEURL names port 8000: its absolute links do not lead to this server.
        assert f"SITEURL in pelicanconf.py to http://127.0.0.1:{port}" in log_path.read_text()
        text = post.read_text() + "\nA paragraph added while the server runs.\n"
        last_write = [0.0]

        def rebuilt() -> bool:
            if "added while the server runs" in page.read_text():
                return True
            # The watcher announces itself just before it arms: write again now and then so a
            # change made in that gap is not the only one.
            if time.monotonic() - last_write[0] > 2:
                post.write_text(text)
                last_write[0] = time.monotonic()
            return False
        _wait_until(rebuilt, 20, "the page rebuilt after the post changed", log_path)
        served = httpx.get(f"http://127.0.0.1:{port}/posts/email-lists-are-built-on-permission/", timeout=5)
        assert "A paragraph added while the server runs." in served.text
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _service_env(tmp_path, **extra) -> dict:
    """The process environment for `hubbub serve`, free of the machine's own service settings."""
    env = {**os.environ, "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"), "HUBBUB_SECRET_KEY": "test-secret"}
    for name in ("PYTHON_AKISMET_API_KEY", "PYTHON_AKISMET_BLOG_URL", "HUBBUB_QUEUE_URL", "HUBBUB_DATABASE_URL",
                 "HUBBUB_OUTPUT_DIR", "HUBBUB_SITE_DIR"):
        env.pop(name, None)
    return {**env, **extra}


def _serve_exits(args: list[str], cwd: Path, env: dict) -> tuple[int, str]:
    """Run `hubbub serve ...`, which must stop by itself: its exit code and what it said."""
    proc = subprocess.Popen([sys.executable, "-m", "hubbub", "serve", "--port", str(_free_port()), *args], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate()
        pytest.fail(f"hubbub serve {' '.join(args)} kept running:\n{output}")
    return proc.returncode, output


@pytest.mark.parametrize("case", ["syntax", "pelican"])
def test_serve_reload_with_broken_settings_says_which_line_and_what_to_do(site, tmp_path, case):
    line, words = BROKEN_SETTINGS[case]
    number = _break_settings(site, line)
    code, output = _serve_exits(["--reload"], tmp_path, _service_env(tmp_path, HUBBUB_SITE_DIR=str(site)))
    assert code == 1
    _says_where(output, site, number, words)


def test_serve_with_a_bad_setting_says_so_without_a_traceback(site, tmp_path):
    result = CliRunner().invoke(main, ["serve"], env=_service_env(tmp_path, HUBBUB_SITE_DIR=str(site),
                                                                  HUBBUB_EDIT_WINDOW="abc"), catch_exceptions=False)
    assert result.exit_code == 1
    assert result.output.startswith("Error: HUBBUB_EDIT_WINDOW='abc' is not a duration"), result.output


def test_serve_outside_a_site_refuses_and_creates_nothing(tmp_path):
    """As `hubbub build` and `hubbub moderator list` do: no database starts in a directory of no site."""
    empty = tmp_path / "not-a-site"
    empty.mkdir()
    env = _service_env(tmp_path)
    env.pop("HUBBUB_INSTANCE_DIR")  # the default: ./instance, which must not appear
    code, output = _serve_exits([], empty, env)
    assert code == 1 and "Traceback" not in output
    assert f"{empty} is not a site's directory (no pelicanconf.py)" in output and "HUBBUB_SITE_DIR" in output
    assert list(empty.iterdir()) == []
