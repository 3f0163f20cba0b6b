"""`hubbub worker`: run background jobs from the Redis queue (only with HUBBUB_QUEUE_URL)."""

from __future__ import annotations

import threading
import time

import click


@click.command()
@click.option("--burst", is_flag=True, help="Run what is queued, then stop (for cron and tests).")
def worker(burst: bool):
    """Run background jobs from the Redis queue (HUBBUB_QUEUE_URL); not needed in-process."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
    from rq import SimpleWorker

    from . import jobs
    from .config import shown_url
    from .hub import open_hub
    from .outage import describe

    with open_hub() as hub:
        if hub.waker is None:
            raise click.ClickException("HUBBUB_QUEUE_URL is not set: jobs run inside the service, no worker needed")
        if not (hub.config.site_dir / "pelicanconf.py").is_file():
            # Its publish jobs would write thread files and pages no build here can keep, and the
            # publishing host's next build would take the comments off the site again.
            raise click.ClickException(
                f"{hub.config.site_dir} holds no site project (pelicanconf.py): a worker publishes comments, so "
                "run it only where the site is (HUBBUB_SITE_DIR), e.g. on the publishing host")
        jobs._worker_hub = hub

        def sweep_once() -> None:
            # Catch what no commit pushed: retries that came due, pushes lost to a crash or outage,
            # and jobs that ran while the database was away.
            try:
                hub.runner.settle_pending()
                hub.waker.push_due()
            except Exception as exc:  # Redis or the database briefly away: try again shortly
                click.echo(f"sweeper: {describe(exc)}", err=True)

        def sweep():
            while True:
                sweep_once()
                time.sleep(1.0)

        sweep_once()
        if not burst:
            threading.Thread(target=sweep, daemon=True).start()
        click.echo(f"Worker {hub.runner.name} on {shown_url(hub.config.queue_url)}")
        failures = 0
        while True:
            rq_worker = None
            try:
                rq_worker = SimpleWorker([hub.waker.queue], connection=hub.waker.redis)
                rq_worker.work(burst=burst, with_scheduler=False)
            except (RedisConnectionError, RedisTimeoutError) as exc:  # e.g. Redis down as the worker starts
                click.echo(f"worker: Redis unavailable ({exc})", err=True)
            if burst or getattr(rq_worker, "_shutdown_requested_date", None) is not None:
                return  # asked to stop (SIGTERM, SIGINT), or done with the burst
            # RQ gives up on some Redis errors (a connection cut mid-job): wait, then work again.
            # Jobs live in the database, so none is lost meanwhile; the sweeper re-queues them.
            failures += 1
            pause = jobs.backoff(failures, first=1.0, cap=30.0)
            click.echo(f"worker: RQ stopped; starting again in {pause:.0f} s", err=True)
            time.sleep(pause)
