"""`hubbub webmention send [--dry-run] [POST]`: announce posts' links to the sites they link.

Without POST: what changed since the last send (as the service does by itself every minute).
With POST (a slug or the post's address): every link of that post, changed or not, and links it
lost. --dry-run shows, for each, the endpoint the target names (looked up with a GET) and sends
and records nothing.
"""

from __future__ import annotations

import click

from hubbub.core.words import count as n_of

from ..hub import open_hub
from .fetch import FetchError


@click.group("webmention")
def webmention_group():
    """Webmentions: tell other sites when a post links them."""


def _post_slug(hub, post: str) -> str:
    slug = hub.articles.thread_for(post) if "://" in post else post
    if slug is None or slug not in hub.threads.all():
        raise click.ClickException(f"{post!r} is not a post of the built site: give its slug or address "
                                   "(build the site first with `hubbub build`)")
    return slug


@webmention_group.command("send")
@click.argument("post", required=False)
@click.option("--dry-run", is_flag=True, help="Show what would be sent and where; send and record nothing.")
def send_cmd(post: str | None, dry_run: bool):
    """Send webmentions for the external links of changed posts (or of POST)."""
    from .send import deliver, public_site, scan, send_row

    with open_hub() as hub:
        if not hub.threads.available:
            raise click.ClickException("the site is not built yet: run `hubbub build` first")
        slug = _post_slug(hub, post) if post else None
        if not public_site(hub):
            click.echo(f"Note: the site's address {hub.site_url()} is not public, so the other sites cannot "
                       "check these webmentions (set SITEURL in publishconf.py and build with --publish).")
        with hub.write_sessions() as s:
            transaction = s.begin()
            due = scan(hub, s, thread=slug, force=slug is not None)
            planned = [(row.id, row.source, row.target, row.linked) for row in due]
            transaction.rollback() if dry_run else transaction.commit()
        if not planned:
            click.echo("Nothing to send: no post changed its links or content since the last send.")
            return
        sent = 0
        for row_id, source, target, linked in planned:
            what = "" if linked else " (link removed)"
            try:
                outcome = deliver(hub, source, target, dry_run=True) if dry_run else send_row(hub, row_id)
            except FetchError as exc:
                click.echo(f"{source} → {target}{what}: failed for now ({exc}); the service retries it")
                continue
            if outcome is None:
                continue
            sent += outcome.status == "sent"
            detail = outcome.endpoint if outcome.status in ("sent", "would-send") else outcome.response
            click.echo(f"{source} → {target}{what}: {outcome.status} {detail}".rstrip())
        if dry_run:
            click.echo(f"Dry run: {n_of(len(planned), 'webmention')} would be sent; nothing was sent or recorded.")
        else:
            click.echo(f"Sent {sent} of {n_of(len(planned), 'webmention')}.")
