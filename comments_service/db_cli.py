"""`hubbub migrate`: bring the comment database's schema up to this version of Hubbub.

The service, `hubbub worker` and every command that opens the database migrate it too when they
start; this command does it on its own, e.g. right after an upgrade and a backup.
"""

from __future__ import annotations

import click


@click.command("migrate")
def migrate_cmd():
    """Upgrade the comment database's schema to this version of Hubbub (safe to run again)."""
    from sqlalchemy.exc import SQLAlchemyError

    from . import db
    from .config import shown_url
    from .hub import command_config

    config = command_config()
    where = shown_url(config.database_url)
    engine = db.make_engine(config.database_url)
    try:
        before, head = db.schema_revisions(engine)
        if before is not None and not db.known_revision(engine, before):
            raise click.ClickException(f"{where} is at schema {before}, which this Hubbub does not know: "
                                       "a newer Hubbub migrated it; upgrade Hubbub instead")
        db.migrate(engine, config.instance_dir)
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot migrate {where}: {getattr(exc, 'orig', None) or exc}; check "
                                   "HUBBUB_DATABASE_URL and that the server is running") from exc
    finally:
        engine.dispose()
    if before == head:
        click.echo(f"{where} is already at the newest schema ({head}).")
    else:
        click.echo(f"{where} migrated from {before or 'empty'} to {head}.")
