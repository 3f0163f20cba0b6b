"""`hubbub moderator ...` and `hubbub token ...`: accounts and API tokens from the command line."""

from __future__ import annotations

import sys

import click
from sqlalchemy import select

from ..hub import open_hub
from ..models import utcnow
from . import auth
from .models import NOTIFY_MODES, ROLES, ApiToken, Moderator


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise click.ClickException("No password on standard input: pipe one line, e.g. `echo ... | hubbub ...`.")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")
    try:
        auth.check_password_strength(password)
    except auth.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    return password


def _find(session, email: str) -> Moderator:
    moderator = auth.find_moderator(session, email)
    if moderator is None:
        raise click.ClickException(f"No moderator {email.strip().lower()!r}: see `hubbub moderator list`.")
    return moderator


@click.group()
def moderator():
    """Moderator accounts: add, list, disable, enable, reset, update."""


@moderator.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="moderator", show_default=True,
              help="admin manages moderators; moderator moderates.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of prompting.")
@click.option("--author", "author_slug", metavar="SLUG", help="Limit to comments on this author's posts.")
@click.option("--notify", type=click.Choice(NOTIFY_MODES), default="immediate", show_default=True,
              help="Emails about comments awaiting moderation.")
def add(email: str, role: str, password_stdin: bool, author_slug: str | None, notify: str):
    """Create a moderator account."""
    password = _password(password_stdin)
    with open_hub() as hub, hub.transaction() as s:
        try:
            created = auth.create_moderator(s, email, password, role, notify=notify,
                                            author_slug=auth.checked_author_slug(hub, author_slug))
        except auth.AccountError as exc:
            raise click.ClickException(str(exc)) from exc
        limit = f", limited to {created.author_slug}'s posts" if created.limited_to_author else ""
        click.echo(f"Moderator {created.email} added ({created.role}{limit}); log in at /moderate/login")


@moderator.command("list")
def list_moderators():
    """Show every moderator account."""
    with open_hub() as hub, hub.sessions() as s:
        people = list(s.scalars(select(Moderator).order_by(Moderator.email)))
        if not people:
            click.echo("No moderators yet: add one with `hubbub moderator add EMAIL --role admin`.")
            return
        click.echo(f"{'EMAIL':32} {'ROLE':9} {'STATE':8} {'EMAILS':9} {'AUTHOR':16} LAST LOGIN")
        for m in people:
            last = m.last_login.strftime("%Y-%m-%d %H:%M") if m.last_login else "never"
            click.echo(f"{m.email:32} {m.role:9} {'disabled' if m.disabled else 'active':8} {m.notify:9} "
                       f"{(m.author_slug or '-'):16} {last}")


@moderator.command("disable")
@click.argument("email")
def disable(email: str):
    """Stop an account: it can no longer log in, its sessions and tokens stop working."""
    with open_hub() as hub, hub.transaction() as s:
        _find(s, email).disabled = True
    click.echo(f"{email.strip().lower()} is disabled; its sessions and API tokens no longer work.")


@moderator.command("enable")
@click.argument("email")
def enable(email: str):
    """Let a disabled account in again."""
    with open_hub() as hub, hub.transaction() as s:
        _find(s, email).disabled = False
    click.echo(f"{email.strip().lower()} is enabled.")


@moderator.command("reset")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the new password from standard input.")
def reset(email: str, password_stdin: bool):
    """Set a new password (every session of the account ends)."""
    password = _password(password_stdin)
    with open_hub() as hub, hub.transaction() as s:
        _find(s, email).password_hash = auth.hash_password(password)
    click.echo(f"New password set for {email.strip().lower()}; their open sessions are logged out.")


@moderator.command("update")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES))
@click.option("--author", "author_slug", metavar="SLUG", help="Limit to this author's posts; '' lifts the limit.")
@click.option("--notify", type=click.Choice(NOTIFY_MODES))
def update(email: str, role: str | None, author_slug: str | None, notify: str | None):
    """Change an account's role, author limit or email mode."""
    with open_hub() as hub, hub.transaction() as s:
        m = _find(s, email)
        if role:
            m.role = role
        if author_slug is not None:
            try:
                m.author_slug = auth.checked_author_slug(hub, author_slug)
            except auth.AccountError as exc:
                raise click.ClickException(str(exc)) from exc
        if notify:
            m.notify = notify
        click.echo(f"{m.email}: {m.role}, emails {m.notify}" + (f", limited to {m.author_slug}'s posts"
                                                               if m.limited_to_author else ""))


@click.group()
def token():
    """Bearer tokens for the moderation API: create, list, revoke."""


@token.command("create")
@click.argument("email")
@click.option("--name", default="", help="What the token is for, to recognise it in lists.")
def create(email: str, name: str):
    """Print a new API token for the moderator (shown once; only its hash is kept)."""
    with open_hub() as hub, hub.transaction() as s:
        m = _find(s, email)
        if m.disabled:
            raise click.ClickException(f"{m.email} is disabled: enable it first (`hubbub moderator enable`).")
        row, secret = auth.create_token(s, m, name)
        token_id = row.id
    click.echo(secret)
    click.echo(f"Token {token_id} for {m.email}. Keep it now: it is not shown again. "
               "Send it as `Authorization: Bearer TOKEN`.", err=True)


@token.command("list")
@click.argument("email", required=False)
def list_tokens(email: str | None):
    """Show tokens (never the tokens themselves), for everyone or one moderator."""
    with open_hub() as hub, hub.sessions() as s:
        query = select(ApiToken).join(Moderator).order_by(ApiToken.id)
        if email:
            query = query.where(Moderator.id == _find(s, email).id)
        rows = list(s.scalars(query))
        if not rows:
            click.echo("No tokens.")
            return
        click.echo(f"{'ID':>4} {'MODERATOR':32} {'NAME':16} {'STARTS':11} {'CREATED':16} {'LAST USED':16} STATE")
        for t in rows:
            used = t.last_used.strftime("%Y-%m-%d %H:%M") if t.last_used else "never"
            state = f"revoked {t.revoked:%Y-%m-%d}" if t.revoked else ("disabled" if t.moderator.disabled else "active")
            click.echo(f"{t.id:>4} {t.moderator.email:32} {(t.name or '-'):16} {t.prefix + '…':11} "
                       f"{t.created:%Y-%m-%d %H:%M} {used:16} {state}")


@token.command("revoke")
@click.argument("token_id", type=int)
def revoke(token_id: int):
    """Stop a token from working, at once."""
    with open_hub() as hub, hub.transaction() as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            raise click.ClickException(f"No token {token_id}: see `hubbub token list`.")
        if row.revoked is None:
            row.revoked = utcnow()
    click.echo(f"Token {token_id} revoked.")
