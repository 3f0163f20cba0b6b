"""Helpers for the import, export, privacy and backup tests: run `hubbub` commands, read the DB."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

DATA = Path(__file__).resolve().parent / "data"
WXR = DATA / "wordpress-export.xml"
DISQUS = DATA / "disqus-export.xml"


def hubbub(env: dict, *args: str, input: str | None = None):
    """Run the real `hubbub` command line in-process with this environment."""
    from hubbub.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], env=env, input=input, catch_exceptions=False)


def rebuild(site: Path) -> None:
    """Build the site copy in place, so its manifest points at this copy (not the template)."""
    from hubbub.build import build_site

    build_site(site)


def db_comments(database_url: str) -> list:
    """Every comment in the database, detached, in id order (no app needed)."""
    from comments_service.models import Comment

    engine = create_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as s:
            rows = list(s.scalars(select(Comment).order_by(Comment.id)))
            s.expunge_all()
            return rows
    finally:
        engine.dispose()


def by_key(rows) -> dict:
    return {c.import_key: c for c in rows}
