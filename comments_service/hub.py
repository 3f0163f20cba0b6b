"""The Hub: one object per process holding what every part of the service shares.

Requests reach it with `current_hub()`, commands with `open_hub()`, background jobs are given it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from flask import current_app
from sqlalchemy.orm import Session

from . import db, journey
from .config import Config
from .group_commit import GroupCommit
from .jobs import JobRunner, RedisWaker, jobs_added
from .outage import database_outage, describe
from .spam.akismet import AkismetService
from .spam.guards import Guards, RulesFile
from .threads import Threads
from .webmention.targets import ArticleIndex

log = logging.getLogger(__name__)


class Hub:
    def __init__(self, config: Config, *, run_jobs: bool = True, wait_for_database: bool = False):
        """`wait_for_database`: start even when the database cannot be reached (the service: it
        answers 503 until the database is back, see db.Schema); otherwise (commands) fail now."""
        journey.connect_receivers()
        self.config = config
        self.engine = db.make_engine(config.database_url)
        self.schema = db.Schema(self.engine, config.instance_dir)
        self._when_ready: list = []  # what to do once the database is there (when_ready)
        self._ready_lock = threading.Lock()
        try:
            self.schema.ensure()
        except Exception as exc:
            if not (wait_for_database and database_outage(exc)):
                raise
            log.warning("the comment database cannot be reached (%s): the service answers 503 until it is "
                        "back, and then brings its schema up to date", describe(exc))
        # Reads use `sessions()`: read-only, so they never hold up a writer (nor can they write);
        # writes use `transaction()` (or, to decide at the end whether to commit, `write_sessions()`).
        self.sessions = db.make_sessionmaker(db.read_only(self.engine))
        self.write_sessions = db.make_sessionmaker(self.engine)
        # New comments: concurrent ones share a commit (one fsync), see group_commit.py.
        self.group_commit = GroupCommit(self.write_sessions, self.jobs_committed)
        self.threads = Threads(config.output_dir)
        self.articles = ArticleIndex(self)  # article addresses → slugs, for webmentions
        self.guards = Guards(RulesFile(config.blocklist_file), RulesFile(config.moderation_words_file),
                             config.max_links)
        self.akismet = AkismetService(config.akismet_key, config.akismet_blog_url,
                                      config.akismet_endpoint, config.akismet_timeout)
        self.runner = JobRunner(self, journey.JOB_KINDS)
        self.waker = RedisWaker(self, config.queue_url) if config.queue_url else None
        # In-process mode runs jobs in a thread of every service process; Redis mode leaves
        # them to `hubbub worker`.
        self.run_jobs_here = run_jobs and self.waker is None

    def when_ready(self, action) -> None:
        """Call action(hub) now, or (for a service started while its database was down) as
        soon as the database is back (the first time `database_ready()` succeeds)."""
        with self._ready_lock:
            if not self.schema.ready.is_set():
                self._when_ready.append(action)
                return
        action(self)

    def database_ready(self) -> None:
        """Raise the database's error (an outage: 503) until the schema is up to date."""
        if self.schema.ready.is_set() and not self._when_ready:
            return
        self.schema.ensure()
        with self._ready_lock:
            while self._when_ready:
                try:
                    self._when_ready[0](self)
                except Exception as exc:
                    if database_outage(exc):
                        raise  # gone again: first in line for the next call
                    # A bug must not keep every request failing: it is logged once.
                    log.exception("%s failed once the database was back", self._when_ready[0])
                self._when_ready.pop(0)

    def start(self) -> None:
        if self.run_jobs_here:
            self.runner.start()

    def stop(self) -> None:
        self.runner.stop()
        self.engine.dispose()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in a transaction that commits at the end of the block (or rolls back).

        When the block enqueued jobs, whoever runs jobs is woken as soon as the commit lands:
        the in-process runner thread, or the Redis queue of `hubbub worker`.
        """
        with self.write_sessions() as session:
            with session.begin():
                yield session
            if jobs_added(session):
                self.jobs_committed()

    def jobs_committed(self, delay: float = 0.0) -> None:
        """New or rescheduled jobs are in the database: wake whoever runs them."""
        if self.waker is not None:
            if delay <= 0:
                try:
                    self.waker.push_due()
                except Exception as exc:  # the worker's sweeper pushes it later; nothing is lost
                    log.warning("could not push jobs to Redis (%s); the worker will sweep them up", exc)
        else:
            self.runner.wake()

    def site_url(self) -> str:
        """The public base URL of the site, for permalinks and emails."""
        site = self.threads.site()
        return (site.get("siteurl") or self.config.akismet_blog_url or "http://127.0.0.1:8000").rstrip("/")

    def links_absolute(self) -> bool:
        """Whether the built pages link to the site by its address (a production build). With
        RELATIVE_URLS, or without a SITEURL (Pelican's defaults for a local site), a site-relative
        link works wherever the site is served."""
        site = self.threads.site()
        return not site.get("relative_urls", True) and bool(site.get("siteurl"))

    def article_url(self, slug: str, *, absolute: bool = False) -> str:
        """The article's address, as the build's manifest gives it: site-relative for the reader's
        browser on a development site, absolute for emails and Akismet (or a production site)."""
        thread = self.threads.get(slug)
        if thread is None:  # no longer an article of the site: its home page is the best we have
            return self.site_url() + "/" if absolute else "/"
        path = "/" + thread["url"].lstrip("/")
        if absolute or self.links_absolute():
            built = thread.get("absolute_url", "")
            return built if built.startswith(("http://", "https://")) else self.site_url() + path
        return path


def current_hub() -> Hub:
    """The Hub of the app handling the current request."""
    return current_app.extensions["hubbub"]


def command_config() -> Config:
    """The settings for a command run by hand, or a ClickException saying what to fix. Outside a
    site's directory (and with no HUBBUB_DATABASE_URL) it refuses: a new database and secret key
    would start in ./instance, belonging to no site."""
    import click

    from hubbub.build import site_dir

    from .config import ConfigError, load_config

    site = site_dir()
    if not os.environ.get("HUBBUB_DATABASE_URL") and not (site / "pelicanconf.py").is_file():
        raise click.ClickException(f"{site} is not a site's directory (no pelicanconf.py): run this command in "
                                   "the site's directory, or set HUBBUB_SITE_DIR (or HUBBUB_DATABASE_URL)")
    try:
        return load_config()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@contextlib.contextmanager
def open_hub(existing: bool = False) -> Iterator[Hub]:
    """The service's shared objects for a command: settings, migrated database, no job thread.

    Bad settings or an unreachable database stop the command with a message saying what to fix.
    `existing`: a command that only reads (an export) refuses a SQLite file that is not there
    rather than create an empty one, which would report "0 comments" from the wrong place.
    """
    import click
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    config = command_config()
    url = make_url(config.database_url)
    if existing and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") \
            and not Path(url.database).is_file():
        raise click.ClickException(f"there is no comment database at {url.database}: run this in the site's "
                                   "directory or set HUBBUB_DATABASE_URL to the service's database")
    try:
        hub = Hub(config, run_jobs=False)
    except SQLAlchemyError as exc:
        where = make_url(config.database_url).render_as_string(hide_password=True)
        raise click.ClickException(f"cannot open the comment database {where}: {getattr(exc, 'orig', None) or exc}; "
                                   "check HUBBUB_DATABASE_URL and that the server is running") from exc
    try:
        yield hub
    finally:
        hub.stop()
