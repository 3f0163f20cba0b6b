"""The package: its version, its changelog, and the wheel working on its own.

The wheel test builds the sdist and, from it, the wheel (`python -m build`) out of a copy of the
package's own files, installs the wheel into a fresh virtualenv in a temp dir (dependencies come
from the package index, or pip's cache), and from a directory outside the repository runs
`hubbub init`, `build`, `serve`, posts a comment through the form and approves it through the API.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

import pytest
from attack_helpers import stop_group
from click.testing import CliRunner

import hubbub
from hubbub.cli import main

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?")
# What a site needs from the package, beyond Python modules.
PACKAGE_DATA = ["hubbub/theme/templates/article.html", "hubbub/theme/static/js/comments.js",
                "hubbub/templates/hubbub/thread.html", "hubbub/templates/hubbub/comments.html",
                "hubbub/static/comments.css", "hubbub/starter/pelicanconf.py.in", "hubbub/starter/gitignore",
                "hubbub/starter/content/pages/privacy.md", "hubbub/starter-translations/fr/content/pages/privacy.md",
                "comments_service/migrations/env.py",
                "comments_service/migrations/versions/0001_comments_jobs_and_service_state.py",
                "comments_service/openapi.json", "comments_service/templates/moderate/_macros.html",
                "hubbub/locale/de/LC_MESSAGES/hubbub.po", "hubbub/locale/es/LC_MESSAGES/hubbub.po"]


def test_the_version_is_semantic_and_the_changelog_has_it():
    assert SEMVER.fullmatch(VERSION), f"{VERSION} is not a semantic version"
    assert hubbub.__version__ == VERSION  # the installed metadata is this pyproject's
    result = CliRunner().invoke(main, ["--version"])
    assert result.output.strip() == f"hubbub, version {VERSION}"
    headings = re.findall(r"^## \[([^\]]+)\]", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert headings and headings[0] == VERSION, "the newest CHANGELOG.md section is not the package's version"
    assert all(SEMVER.fullmatch(h) for h in headings)


def test_the_metadata_is_complete():
    project = PYPROJECT["project"]
    assert project["license"] == "MIT" and (ROOT / "LICENSE").is_file()
    assert {"Homepage", "Documentation", "Changelog", "Issues"} <= set(project["urls"])
    classifiers = project["classifiers"]
    assert "Framework :: Pelican :: Plugins" in classifiers and "Framework :: Flask" in classifiers
    supported = {c.rsplit(" ", 1)[1] for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)}
    assert f"3.{sys.version_info.minor}" in supported


def _copy_sources(dest: Path) -> Path:
    """The files a build reads, and nothing of this checkout's state (.venv, output/, caches)."""
    dest.mkdir()
    for name in ("pyproject.toml", "MANIFEST.in", "README.md", "LICENSE", "CHANGELOG.md"):
        shutil.copy2(ROOT / name, dest / name)
    for package in ("hubbub", "comments_service", "docs", "deploy"):
        shutil.copytree(ROOT / package, dest / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _run(args, cwd: Path, env: dict, timeout: float = 600, input: str | None = None) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, input=input)
    assert done.returncode == 0, f"{' '.join(map(str, args))} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def _clean_env(venv: Path) -> dict:
    """The machine's environment without anything of this checkout or of Hubbub's settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HUBBUB_", "PYTHON_AKISMET_")) and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, headers=headers or {})

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace")


def _wait_for(predicate, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(venv, sdist, wheel): the package built from its sources and installed on its own."""
    tmp = tmp_path_factory.mktemp("package")
    sources = _copy_sources(tmp / "src")
    dist = tmp / "dist"
    _run([sys.executable, "-m", "build", "--outdir", dist, sources], tmp, dict(os.environ), timeout=900)
    [sdist], [wheel] = sorted(dist.glob("*.tar.gz")), sorted(dist.glob("*.whl"))
    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", venv], tmp, dict(os.environ))
    _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", wheel], tmp, _clean_env(venv), timeout=900)
    return venv, sdist, wheel


@pytest.mark.package
@pytest.mark.timeout(1800)
def test_the_wheel_and_sdist_carry_everything(installed):
    venv, sdist, wheel = installed
    assert wheel.name == f"hubbub-{VERSION}-py3-none-any.whl" and sdist.name == f"hubbub-{VERSION}.tar.gz"
    names = set(zipfile.ZipFile(wheel).namelist())
    for path in PACKAGE_DATA:
        assert path in names, f"{path} is missing from the wheel"
    assert f"hubbub-{VERSION}.dist-info/licenses/LICENSE" in names
    assert not any(n.startswith(("tests/", "content/", "bench/")) for n in names)
    metadata = zipfile.ZipFile(wheel).read(f"hubbub-{VERSION}.dist-info/METADATA").decode()
    assert "License-Expression: MIT" in metadata and "Classifier: Framework :: Pelican :: Plugins" in metadata
    assert "Project-URL: Changelog," in metadata
    import tarfile

    with tarfile.open(sdist) as tar:
        in_sdist = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "docs/CONTRACT.md", "deploy/README.md", *PACKAGE_DATA} <= in_sdist


@pytest.mark.package
@pytest.mark.timeout(1800)
def test_init_build_serve_and_a_comment_from_the_wheel_alone(installed, tmp_path):
    venv, _, _ = installed
    env = _clean_env(venv)
    work = tmp_path / "elsewhere"  # not the repository, not its parent
    work.mkdir()
    where = _run([venv / "bin" / "python", "-c", "import hubbub, comments_service; print(hubbub.__file__)"], work, env)
    assert where.strip().startswith(str(venv)), where
    assert _run(["hubbub", "--version"], work, env).strip() == f"hubbub, version {VERSION}"

    _run(["hubbub", "init", "mysite", "--title", "Wheel Club", "--author", "Wyn Wheeler"], work, env)
    site = work / "mysite"
    _run(["hubbub", "build"], site, env)
    assert (site / "output" / "posts" / "welcome" / "index.html").is_file()
    _run(["hubbub", "moderator", "add", "mod@example.org", "--role", "admin", "--password-stdin"], site, env,
         input="a long enough passphrase for tests\n")
    token = _run(["hubbub", "token", "create", "mod@example.org"], site, env).splitlines()[0].strip()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(["hubbub", "serve", "--port", str(port)], cwd=site, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: _get(f"{base}/api/health")[0] == 200, "hubbub serve to answer")
        status, _, page = _get(f"{base}/posts/welcome/")
        assert status == 200 and "Welcome to Wheel Club" in page
        assert 'action="/api/threads/welcome/comments"' in page
        assert _get(f"{base}/hubbub/comments.css")[0] == 200 and _get(f"{base}/theme/js/comments.js")[0] == 200

        form = urllib.parse.urlencode({"author": "Reader", "email": "reader@example.org", "url": "",
                                       "body": "Made from the **wheel**.", "parent": ""}).encode()
        status, headers, _ = _get(f"{base}/api/threads/welcome/comments", form,
                                  {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 303 and headers["Location"].endswith("/posts/welcome/#comment-pending")

        auth = {"Authorization": f"Bearer {token}"}
        pending = _wait_for(lambda: json.loads(_get(f"{base}/api/moderation/comments?status=pending",
                                                    headers=auth)[2])["comments"], "the comment in the queue")
        status, _, _ = _get(f"{base}/api/moderation/comments/{pending[0]['id']}/approve", b"", auth)
        assert status == 200
        _wait_for(lambda: "Made from the <strong>wheel</strong>." in _get(f"{base}/posts/welcome/")[2],
                  "the approved comment on the page")
    finally:
        stop_group(server)
