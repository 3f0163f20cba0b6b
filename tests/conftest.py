"""Shared fixtures: a built copy of the site, comment databases (SQLite and PostgreSQL),
the service app, and the local Akismet stand-in."""

from __future__ import annotations

import shutil
import socket
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE_PARTS = ("content", "pelicanconf.py", "publishconf.py")
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


POSTGRES_UP = _port_open("127.0.0.1", 5432)
REDIS_UP = _port_open("127.0.0.1", 6379)
CHROMIUM = Path("/usr/bin/chromium")


def copy_site(dest: Path) -> Path:
    """A copy of the project's site (no output, no comments, no instance) to build and change freely."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in SITE_PARTS:
        src = ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=shutil.ignore_patterns("__pycache__", "*.json", ".salt"))
        else:
            shutil.copy2(src, dest / part)
    return dest


@pytest.fixture(scope="session")
def built_site_template(tmp_path_factory) -> Path:
    """The project's site, built once per test session; copy it with `site_dir` before changing."""
    from hubbub.build import build_site

    site = copy_site(tmp_path_factory.mktemp("site-template") / "site")
    build_site(site)
    return site


@pytest.fixture
def site_dir(built_site_template, tmp_path) -> Path:
    """A private built copy of the site for one test (content/comments and output/ may change)."""
    dest = tmp_path / "site"
    shutil.copytree(built_site_template, dest, symlinks=True)
    return dest


def _pg_database():
    import psycopg

    name = f"hubbub_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _pg_drop(name: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """Every storage test runs on SQLite and, where a server answers, on PostgreSQL (own database)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'comments.db'}"
        return
    if not POSTGRES_UP:
        pytest.skip("PostgreSQL is not answering on 127.0.0.1:5432")
    name = _pg_database()
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        _pg_drop(name)


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'comments.db'}"


@pytest.fixture
def akismet():
    """A running local Akismet-compatible server (tests/akismet_server.py)."""
    from akismet_server import AkismetStandIn

    with AkismetStandIn() as server:
        yield server


@pytest.fixture
def service_env(site_dir, database_url, tmp_path):
    """Environment for create_app: this test's site and database, Akismet off."""
    return {
        "HUBBUB_SITE_DIR": str(site_dir),
        "HUBBUB_DATABASE_URL": database_url,
        "HUBBUB_INSTANCE_DIR": str(tmp_path / "instance"),
        "HUBBUB_SECRET_KEY": "test-secret",
        "HUBBUB_RATE_LIMIT": "1000/minute",
        "HUBBUB_REBUILD_AFTER_PUBLISH": "0",  # tests that want the rebuild ask for it
    }


@pytest.fixture
def make_app():
    """create_app(env) with jobs run explicitly by the test (hub.runner.run_due())."""
    from comments_service import create_app

    apps = []

    def make(env: dict, run_jobs: bool = False, **config):
        app = create_app(config or None, env=env, run_jobs=run_jobs)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["hubbub"].stop()


def first_article(site: Path) -> str:
    """The slug of a real article of the site."""
    return "social-media-and-network-marketing"


@pytest.fixture
def slug(site_dir) -> str:
    return first_article(site_dir)
