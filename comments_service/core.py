"""The Hub: one object per process holding what every part of the service shares."""

from __future__ import annotations

import logging

from sqlalchemy import event

from . import db
from .config import Config
from .jobs import JobRunner, RedisWaker
from .spam.akismet import AkismetService
from .spam.guards import Guards, RulesFile
from .threads import Threads

log = logging.getLogger(__name__)


def register_job_kinds() -> None:
    """Import every module that declares job kinds or check hooks. Any process with a Hub (the
    app, `hubbub worker`, the import and privacy commands) may enqueue or run any of them."""
    from . import check, publishing  # noqa: F401
    from .moderation import feedback, notify, retention  # noqa: F401

    notify.install_hooks()


class Hub:
    def __init__(self, config: Config, *, run_jobs: bool = True):
        register_job_kinds()
        self.config = config
        self.engine = db.make_engine(config.database_url)
        db.migrate(self.engine, config.instance_dir)
        self.sessions = db.make_sessionmaker(self.engine)
        event.listen(self.sessions, "after_commit", self._after_commit)
        self.threads = Threads(config.output_dir)
        self.guards = Guards(RulesFile(config.blocklist_file), RulesFile(config.moderation_words_file),
                             config.max_links)
        self.akismet = AkismetService(config.akismet_key, config.akismet_blog_url,
                                      config.akismet_endpoint, config.akismet_timeout)
        self.runner = JobRunner(self)
        self.waker = RedisWaker(self, config.queue_url) if config.queue_url else None
        # In-process mode runs jobs in a thread of every service process; Redis mode leaves
        # them to `hubbub worker`.
        self.run_jobs_here = run_jobs and self.waker is None

    def start(self) -> None:
        if self.run_jobs_here:
            self.runner.start()

    def stop(self) -> None:
        self.runner.stop()
        self.engine.dispose()

    def _after_commit(self, session) -> None:
        if session.info.pop("hubbub_jobs_added", False):
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

    def article_url(self, slug: str) -> str:
        """Where the reader's browser goes back to: the article on the site."""
        thread = self.threads.get(slug) or {}
        path = "/" + thread.get("url", f"posts/{slug}/").lstrip("/")
        site = self.threads.site()
        if site.get("relative_urls", True):
            return path
        return self.site_url() + path
