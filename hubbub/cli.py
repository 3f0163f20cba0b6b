"""The `hubbub` command: build, serve and scaffold the site; manage the comment service.

The comment service's commands (moderators, tokens, the worker, data in and out) are imported only
when one of them runs, so `hubbub build` never loads Flask or the database layer.
"""

from __future__ import annotations

import importlib
import shlex
from pathlib import Path
from typing import TYPE_CHECKING

import click

from . import __version__
from .build import BuildError, run_build, site_dir

if TYPE_CHECKING:
    from .livereload import Events

# name -> "module:attribute" of a command that needs the comment service.
SERVICE_COMMANDS = {
    "backup": "comments_service.data_cli:backup_cmd",
    "export": "comments_service.data_cli:export_cmd",
    "import": "comments_service.data_cli:import_group",
    "migrate": "comments_service.db_cli:migrate_cmd",
    "moderator": "comments_service.moderation.cli:moderator",
    "privacy": "comments_service.data_cli:privacy_group",
    "token": "comments_service.moderation.cli:token",
    "webmention": "comments_service.webmention.cli:webmention_group",
    "worker": "comments_service.worker:worker",
}

# `hubbub serve`'s threads: as many requests at once as gunicorn's documented 2 workers x 4 threads,
# plus, under --reload, one per open page's event stream.
REQUEST_THREADS = 8
RELOAD_STREAMS = 24
# How far past HUBBUB_MAX_BODY_BYTES `hubbub serve` still reads a body, to answer it as the app does.
BODY_READ_FACTOR = 4


class HubbubGroup(click.Group):
    """A group whose service commands are imported on first use."""

    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *SERVICE_COMMANDS])

    def get_command(self, ctx, name):
        if name in SERVICE_COMMANDS:
            module, attribute = SERVICE_COMMANDS[name].split(":")
            return getattr(importlib.import_module(module), attribute)
        return super().get_command(ctx, name)


@click.group(cls=HubbubGroup)
@click.version_option(__version__, prog_name="hubbub")
def main():
    """Hubbub: a static community blog with moderated comments."""


@main.command()
@click.option("--publish", is_flag=True, help="Use publishconf.py (absolute URLs, production COMMENTS_URL).")
@click.option("--output", type=click.Path(file_okay=False), help="Build into this directory instead of output/.")
@click.option("--full", is_flag=True, help="Ignore what earlier builds kept (cache/) and build from scratch.")
def build(publish: bool, output: str | None, full: bool):
    """Build the site: only what changed since the last build, or everything with --full."""
    import logging

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    override = {"OUTPUT_PATH": str(Path(output).resolve())} if output else {}
    try:
        report = run_build(publish=publish, full=full, **override)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{report.summary()}\nSite built in {report.settings['OUTPUT_PATH']}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--reload", "reload_", is_flag=True,
              help="Apply each saved change to the site at once, and reload the open page.")
def serve(host: str, port: int, reload_: bool):
    """Serve output/ at / together with the comment service (development server)."""
    import logging
    import threading

    from comments_service import create_app
    from comments_service.hub import command_config

    # As every service command: a bad setting is a message, and outside a site nothing starts (a new
    # database and secret key would appear in ./instance, serving no site).
    command_config()
    if reload_:
        from .build import load_settings
        from .build.reload import LiveSite
        from .livereload import Events, install

        try:
            load_settings(site_dir())  # the watcher needs them; once it runs, a broken save shows in the page
        except BuildError as exc:
            raise click.ClickException(str(exc)) from exc
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        events = Events(limit=RELOAD_STREAMS)
        live = LiveSite(site_dir(), notify=events.publish)
        # Before the service starts its threads, so a cold build may read on every core.
        live.build()  # a failure is shown in the browser and here; the last good output is served
    app = create_app()
    # The port is taken before anything says the site is served there: a port in use is the only
    # message, and --port 0 (any free port) is told as the port it got.
    server = _create_server(app, host, port, event_streams=events if reload_ else None)
    port = getattr(server, "effective_port", port)
    if reload_:
        install(app, events)
        threading.Thread(target=live.watch, name="hubbub-reload", daemon=True).start()
        click.echo("Watching the site's content, templates and settings: saved changes show at once")
    shown = f"[{host.strip('[]')}]" if ":" in host else host  # an IPv6 address, as a URL writes it
    click.echo(f"Hubbub on http://{shown}:{port}/ (Ctrl-C stops it)")
    elsewhere = _served_elsewhere(app.extensions["hubbub"].threads.site().get("siteurl", ""), port)
    if elsewhere:
        click.echo(f"Warning: the site was built with SITEURL = {elsewhere}, so its feeds, canonical links and "
                   f"sitemap point there, not here: serve on that port, or set SITEURL in pelicanconf.py to "
                   f"http://127.0.0.1:{port} and build again.", err=True)
    _serve_until_stopped(server, event_streams=events if reload_ else None)


def _create_server(app, host: str, port: int, event_streams: Events | None = None):
    """Waitress: a pool of threads over keep-alive connections, where Werkzeug's development server
    opened a connection and started a thread for every request (a fifth of a comment POST's CPU).
    It logs no requests, so no reader's address reaches the terminal."""
    import errno

    import waitress

    # Each open page holds a thread for its reload events: room for a few dozen tabs beside requests.
    threads = REQUEST_THREADS + (RELOAD_STREAMS if event_streams is not None else 0)
    # The app decides whom to believe about forwarded addresses (HUBBUB_TRUSTED_PROXIES): Waitress
    # must pass those headers on, not drop them.
    # A lookahead of one request keeps reading a busy connection, so that Waitress sees a page
    # close its reload events at once (waitress.client_disconnected) and their thread comes back.
    # Waitress makes an IPv6 socket IPv6-only: every address (::) is then IPv4's too, as the
    # dual-stack socket of Werkzeug's server was.
    where = {"listen": f"0.0.0.0:{port} [::]:{port}"} if host.strip("[]") == "::" else {"host": host, "port": port}
    # Waitress reads a whole body before the app sees it: a body a little over the app's limit still
    # gets the app's answer (the form kept, what to do), one far over it is refused unread.
    largest = max(BODY_READ_FACTOR * app.config["MAX_CONTENT_LENGTH"], 1 << 20)
    try:
        server = waitress.create_server(app, **where, threads=threads, ident="Hubbub", max_request_body_size=largest,
                                        clear_untrusted_proxy_headers=False,
                                        channel_request_lookahead=1 if event_streams is not None else 0)
    except OSError as exc:  # as Werkzeug's server said it, rather than a traceback from bind()
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(f"port {port} on {host} is in use by another program: stop that "
                                       "program, or serve on another port (--port)") from exc
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from exc
    except ValueError as exc:  # Waitress's word for a host name that does not resolve
        raise click.ClickException(f"cannot serve on {host}:{port}: {exc}") from exc
    return server


def _serve_until_stopped(server, event_streams: Events | None = None) -> None:
    import signal

    if event_streams is not None:
        def interrupted(signum, frame):
            event_streams.close()  # Waitress waits up to 5 s for busy threads: free the streams' now
            signal.default_int_handler(signum, frame)

        signal.signal(signal.SIGINT, interrupted)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def _served_elsewhere(siteurl: str, port: int) -> str | None:
    """The site's SITEURL when it names this machine on another port than the one served."""
    from urllib.parse import urlsplit

    parts = urlsplit(siteurl or "")
    if parts.hostname not in ("127.0.0.1", "localhost", "::1", "0.0.0.0"):
        return None  # relative links, or a public address (publishconf's): nothing to compare
    try:
        theirs = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    return siteurl if theirs != port else None


@main.group()
def new():
    """Scaffold a post or an author profile."""


@new.command("post")
@click.argument("title")
@click.option("--author", required=True, help="The writer's name, as in their profile.")
@click.option("--category", help="The post's category  [default: the site's DEFAULT_CATEGORY]")
def new_post_cmd(title: str, author: str, category: str | None):
    """Create content/posts/<slug>.md with its metadata."""
    from .build import load_settings
    from .core.i18n import site_language
    from .scaffold import ScaffoldError, new_post

    root = site_dir()
    try:
        settings = load_settings(root)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        path = new_post(root, title, author, category or settings["DEFAULT_CATEGORY"],
                        lang=site_language(settings.get("DEFAULT_LANG")))
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {path}")


@new.command("author")
@click.argument("name")
def new_author_cmd(name: str):
    """Create content/authors/<slug>.md, a profile to fill in (its hints in the site's language)."""
    from .build import load_settings
    from .core.i18n import site_language
    from .scaffold import ScaffoldError, new_author

    root = site_dir()
    try:
        lang = site_language(load_settings(root).get("DEFAULT_LANG"))
    except BuildError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        path = new_author(root, name, lang=lang)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Created {path}")


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--title", default="My Hubbub", show_default=True, help="The site's name.")
@click.option("--author", help="The owner's name, for the welcome post and the first profile  [default: yours]")
@click.option("--url", help="The site's public address, for publishconf.py (e.g. https://blog.example.org).")
@click.option("--lang", default="en", show_default=True,
              help="The site's language (DEFAULT_LANG), for its pages and Hubbub's text: en, de, es or fr.")
def init(directory: Path, title: str, author: str | None, url: str | None, lang: str):
    """Make a new site in DIRECTORY (new or empty): settings, a welcome post, pages, your profile."""
    from .core.words import count
    from .init_site import InitError, init_site

    try:
        written = init_site(directory, title, author, url, lang=lang)
    except InitError as exc:
        raise click.ClickException(f"{exc}; nothing was written") from exc
    root = directory.resolve()
    click.echo(f"Created {title} in {root} ({count(len(written), 'file')}). Next:")
    for line in (f"cd {shlex.quote(str(directory))}", "hubbub build", "hubbub serve    # then open http://127.0.0.1:8000/"):
        click.echo(f"  {line}")
    click.echo("README.md there has the rest: moderators, new posts, going to production.")


@main.command()
def doctor():
    """Check the site and its environment; print each problem with its fix (exit 1 on a problem)."""
    from .doctor import findings, report

    root = site_dir()
    click.echo(f"Checking the Hubbub site in {root}")
    lines, healthy = report(findings(root))
    for line in lines:
        click.echo(line)
    if not healthy:
        raise SystemExit(1)
