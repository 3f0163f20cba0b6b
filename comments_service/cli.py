"""The `hubbub` command: build, serve and scaffold the site; manage the comment service."""

from __future__ import annotations

import subprocess
import sys
import threading

import click

from .site_build import BuildError, build_site, site_dir


@click.group()
def main():
    """Hubbub: a static community blog with moderated comments."""


@main.command()
@click.option("--publish", is_flag=True, help="Use publishconf.py (absolute URLs, production COMMENTS_URL).")
@click.option("--output", type=click.Path(file_okay=False), help="Build into this directory instead of output/.")
def build(publish: bool, output: str | None):
    """Build the whole site with Pelican, including the published comments."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    override = {"OUTPUT_PATH": str(output)} if output else {}
    try:
        settings = build_site(publish=publish, **override)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Site built in {settings['OUTPUT_PATH']}")


def _watch_and_rebuild(publish: bool) -> None:
    """Rebuild in a fresh process on every change, so edited plugins are reloaded too."""
    from watchfiles import watch

    root = site_dir()
    watched = [p for p in (root / "content", root / "theme", root / "plugins", root / "pelicanconf.py") if p.exists()]
    click.echo("Watching content/, theme/, plugins/ and pelicanconf.py for changes")
    for changes in watch(*watched, debounce=300):
        click.echo(f"{len(changes)} change(s): rebuilding")
        cmd = [sys.executable, "-m", "comments_service", "build"] + (["--publish"] if publish else [])
        result = subprocess.run(cmd, cwd=root)
        click.echo("Rebuilt" if result.returncode == 0 else "Build failed: the previous output is kept")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--reload", "reload_", is_flag=True, help="Rebuild the site when content, theme or plugins change.")
def serve(host: str, port: int, reload_: bool):
    """Serve output/ at / together with the comment service (development server)."""
    from . import create_app

    import logging

    app = create_app()
    # Werkzeug's request log starts each line with the client address: keep addresses out of logs.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if reload_:
        try:
            build_site()
        except BuildError as exc:
            click.echo(f"Build failed, serving the previous output: {exc}", err=True)
        threading.Thread(target=_watch_and_rebuild, args=(False,), daemon=True).start()
    click.echo(f"Hubbub on http://{host}:{port}/ (Ctrl-C stops it)")
    app.run(host=host, port=port, threaded=True, use_reloader=False)


@main.group()
def new():
    """Scaffold a post or an author profile."""


@new.command("post")
@click.argument("title")
@click.option("--author", required=True, help="The writer's name, as in their profile.")
@click.option("--category", default="Online Marketing", show_default=True)
def new_post_cmd(title: str, author: str, category: str):
    """Create content/posts/<slug>.md with its metadata."""
    from .scaffold import ScaffoldError, new_post

    try:
        path = new_post(site_dir(), title, author, category)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {path}")


@new.command("author")
@click.argument("name")
def new_author_cmd(name: str):
    """Create content/authors/<slug>.md, a profile to fill in."""
    from .scaffold import ScaffoldError, new_author

    try:
        path = new_author(site_dir(), name)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {path}")


@main.command()
@click.option("--burst", is_flag=True, help="Run what is queued, then stop (for cron and tests).")
def worker(burst: bool):
    """Run background jobs from the Redis queue (HUBBUB_QUEUE_URL); not needed in-process."""
    import time

    from rq import SimpleWorker

    from . import create_app, jobs

    app = create_app(run_jobs=False)
    hub = app.extensions["hubbub"]
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


from .moderation.cli import moderator, token  # noqa: E402

main.add_command(moderator)
main.add_command(token)

from .import_cli import COMMANDS as _data_commands  # noqa: E402  (import, export, privacy, backup)

for _command in _data_commands:
    main.add_command(_command)
