"""`hubbub worker`: run background jobs from the Redis queue (only with HUBBUB_QUEUE_URL)."""

from __future__ import annotations

import threading
import time

import click


@click.command()
@click.option("--burst", is_flag=True, help="Run what is queued, then stop (for cron and tests).")
def worker(burst: bool):
    """Run background jobs from the Redis queue (HUBBUB_QUEUE_URL); not needed in-process."""
    from rq import SimpleWorker

    from . import jobs
    from .hub import open_hub

    with open_hub() as hub:
        if hub.waker is None:
            raise click.ClickException("HUBBUB_QUEUE_URL is not set: jobs run inside the service, no worker needed")
        jobs._worker_hub = hub

        def sweep():
            # Catch what no commit pushed: retries that came due, pushes lost to a crash or outage.
            while True:
                try:
                    hub.waker.push_due()
                except Exception as exc:  # Redis or the database briefly away: try again shortly
                    click.echo(f"sweeper: {exc}", err=True)
                time.sleep(1.0)

        hub.waker.push_due()
        if not burst:
            threading.Thread(target=sweep, daemon=True).start()
        click.echo(f"Worker {hub.runner.name} on {hub.config.queue_url}")
        SimpleWorker([hub.waker.queue], connection=hub.waker.redis).work(burst=burst, with_scheduler=False)
