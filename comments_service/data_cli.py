"""The `hubbub` commands that move data in and out: import, export, privacy and backup.

    hubbub import wordpress FILE.xml [--overwrite] [--dry-run]
    hubbub import disqus FILE.xml [--dry-run]
    hubbub import isso DATABASE [--dry-run]
    hubbub import hubbub FILE.json [--dry-run]
    hubbub import webmentionio FILE.json [--dry-run]
    hubbub export [FILE.json]
    hubbub privacy export EMAIL [--output FILE]
    hubbub privacy erase EMAIL [--anonymise | --remove] [--yes]
    hubbub backup DEST
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from hubbub.core.words import count as n_of
from hubbub.core.words import were

from .hub import open_hub
from .importers import ImportFailed
from .importers.plan import skipped_text


def _echo_lines(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


def _plan_lines(plan, source_file: str) -> list[str]:
    """What an import would do (--dry-run): nothing is written."""
    from collections import Counter

    statuses = Counter(c.status for c in plan.comments)
    kinds = Counter(d.kind for d in plan.documents)
    lines = [f"Dry run: {source_file} holds, for import from {plan.source}:",
             f"  {n_of(kinds['post'], 'post')}, {n_of(kinds['page'], 'page')}, {n_of(len(plan.authors), 'author')}",
             f"  {n_of(len(plan.comments), 'comment')} (" + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) + ")"]
    if plan.skipped:
        lines.append("  skipped: " + "; ".join(skipped_text(r, n) for r, n in sorted(plan.skipped.items())))
    lines += [f"  - {note}" for note in plan.notes]
    lines.append("Nothing was written. Run again without --dry-run to import.")
    return lines


def _apply(plan, source_file: str, overwrite: bool) -> None:
    from .importers import apply_plan, summary

    with open_hub() as hub:
        try:
            report = apply_plan(hub, hub.config.site_dir, plan, overwrite=overwrite)
        except OSError as exc:
            # Comments are committed before files are written; a second run adds no duplicates.
            raise click.ClickException(f"writing into {hub.config.site_dir / 'content'} failed ({exc}); "
                                       "fix that and run the import again: nothing will be duplicated") from exc
    _echo_lines(summary(report, source_file))


@click.group("import")
def import_group():
    """Import posts and comments from WordPress, Disqus, Isso, or a Hubbub export."""


@import_group.command("wordpress")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace post and page files that differ from the export.")
@click.option("--dry-run", is_flag=True, help="Read the file and say what would be imported; write nothing.")
def import_wordpress(file: Path, overwrite: bool, dry_run: bool):
    """Import published posts, pages, authors and every comment from a WordPress export (WXR)."""
    from pelican.urlwrappers import Author

    from hubbub.build import BuildError, load_settings, site_dir

    from .importers.wordpress import read_wordpress

    root = site_dir()
    try:
        settings = load_settings(root)
    except BuildError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        plan = read_wordpress(file, lambda name: Author(name, settings).slug)
    except ImportFailed as exc:
        raise click.ClickException(f"nothing was imported: {exc}") from exc
    if dry_run:
        _echo_lines(_plan_lines(plan, str(file)))
        return
    _apply(plan, str(file), overwrite)


@import_group.command("disqus")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read the file and say what would be imported; write nothing.")
def import_disqus(file: Path, dry_run: bool):
    """Import comments from a Disqus export, matched to articles by slug."""
    from hubbub.build import site_dir

    from .importers.disqus import read_disqus

    root = site_dir()
    try:
        plan = read_disqus(file, root)
    except ImportFailed as exc:
        raise click.ClickException(f"nothing was imported: {exc}") from exc
    if dry_run:
        _echo_lines(_plan_lines(plan, str(file)))
        return
    _apply(plan, str(file), overwrite=False)


@import_group.command("isso")
@click.argument("database", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read the database and say what would be imported; write nothing.")
def import_isso(database: Path, dry_run: bool):
    """Import comments from an Isso database (its dbpath), matched to articles by their address."""
    from hubbub.build import site_dir

    from .importers.isso import read_isso

    try:
        plan = read_isso(database, site_dir())
    except ImportFailed as exc:
        raise click.ClickException(f"nothing was imported: {exc}") from exc
    if dry_run:
        _echo_lines(_plan_lines(plan, str(database)))
        return
    _apply(plan, str(database), overwrite=False)


@import_group.command("hubbub")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read the file and say what would be imported; write nothing.")
def import_hubbub(file: Path, dry_run: bool):
    """Import comments from a `hubbub export` file (restore, or move between databases)."""
    from .importers.hubbub_json import count_comments, import_records, read_export
    from .importers.store import publish_now

    try:
        records, ignored, erasures = read_export(file)
    except ImportFailed as exc:
        raise click.ClickException(f"nothing was imported: {exc}") from exc
    # A dry run only reads: no empty database where there is none (it would say "0 before" of the wrong place).
    with open_hub(existing=dry_run) as hub:
        before = count_comments(hub)
        report = import_records(hub, records, erasures, dry_run=dry_run)
        done, left = (0, 0) if dry_run else publish_now(hub, report.threads_to_publish)
    added = sum(report.added.values())
    detail = ", ".join(f"{n} {s}" for s, n in sorted(report.added.items()))
    def would(n: int) -> str:
        return "would be" if dry_run else were(n)

    click.echo(f"{'Would import' if dry_run else 'Imported'} {n_of(added, 'comment')} from {file}"
               + (f" ({detail})" if detail else "")
               + f"; {report.already} {would(report.already)} already there ({n_of(before, 'comment')} before).")
    if report.renumbered:
        click.echo(f"  {report.renumbered} {'would get' if dry_run else 'got'} new ids because theirs are taken by other comments.")
    if report.orphans:
        click.echo(f"  {n_of(report.orphans, 'reply', 'replies')} {'would lose' if dry_run else 'lost'} "
                   f"{'its' if report.orphans == 1 else 'their'} parent (not in the file) and be shown as top-level.")
    if report.erased:
        click.echo(f"  {n_of(report.erased, 'comment')} of people erased since (hubbub privacy erase) "
                   f"{would(report.erased)} left out.")
    if ignored:
        click.echo(f"  Fields this version does not know {would(len(ignored))} ignored: {', '.join(ignored)}")
    if report.checks:
        click.echo(f"  {n_of(report.checks, 'pending comment')} {'would be' if dry_run else 'will be'} checked again.")
    if dry_run:
        if report.threads_to_publish:
            click.echo(f"  {n_of(len(report.threads_to_publish), 'thread file')} would be written.")
        click.echo("Nothing was written. Run again without --dry-run to import.")
    elif report.threads_to_publish:
        click.echo(f"  {n_of(done, 'thread file')} written" + (f", {left} left to the background jobs." if left else "."))


@import_group.command("webmentionio")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Read the file and say what would be imported; write nothing.")
def import_webmentionio_cmd(file: Path, dry_run: bool):
    """Import the webmentions webmention.io received for this site (its JF2 export)."""
    from .importers.store import publish_now
    from .importers.webmentionio import import_webmentionio

    with open_hub() as hub:
        if not hub.threads.available:
            raise click.ClickException("the site is not built yet: run `hubbub build` first, so that the "
                                       "webmentions' targets can be matched to its articles")
        try:
            report = import_webmentionio(hub, file, dry_run=dry_run)
        except ImportFailed as exc:
            raise click.ClickException(f"nothing was imported: {exc}") from exc
        done, left = (0, 0) if dry_run else publish_now(hub, report.threads)
    added = sum(report.added.values())
    detail = ", ".join(f"{n} {t}" for t, n in sorted(report.added.items()))
    verb = "Would import" if dry_run else "Imported"
    click.echo(f"{verb} {n_of(added, 'webmention')} from {file}" + (f" ({detail})" if detail else "")
               + f"; {report.already} {'would be' if dry_run else were(report.already)} already there.")
    for reason, n in sorted(report.skipped.items()):
        click.echo(f"  skipped {skipped_text(reason, n)}")
    if dry_run:
        click.echo("Nothing was written. Run again without --dry-run to import.")
    elif report.threads:
        click.echo(f"  {n_of(done, 'thread file')} written" + (f", {left} left to the background jobs." if left else "."))


@click.command("export")
@click.argument("file", required=False)
def export_cmd(file: str | None):
    """Write every comment, with every field, as JSON to FILE (default: standard output)."""
    from .backup import BackupError, destination, published_dirs, refuse_public
    from .export import export_to

    with open_hub(existing=True) as hub:
        if file not in (None, "-"):
            file = str(destination(file, ".json"))
            try:
                refuse_public(Path(file), published_dirs(hub.config))
            except BackupError as exc:
                raise click.ClickException(str(exc)) from exc
        count, where = export_to(hub, file)
    click.echo(f"Exported {n_of(count, 'comment')} to {where}.", err=True)


@click.group("privacy")
def privacy_group():
    """A commenter's data: export it, or erase it."""


@privacy_group.command("export")
@click.argument("email")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write to this file instead of standard output.")
def privacy_export(email: str, output: Path | None):
    """Everything stored about the comments written with EMAIL, as JSON."""
    from .privacy import PrivacyError, personal_data

    with open_hub(existing=True) as hub:
        try:
            data = personal_data(hub, email)
        except PrivacyError as exc:
            raise click.ClickException(str(exc)) from exc
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    if output:
        from .backup import BackupError, published_dirs, refuse_public
        from .importers.files import atomic_write_text

        try:
            refuse_public(output, published_dirs(hub.config))
        except BackupError as exc:
            raise click.ClickException(str(exc)) from exc

        atomic_write_text(output, text)
        output.chmod(0o600)
        click.echo(f"Wrote {n_of(len(data['comments']), 'comment')} of {data['email']} to {output}.", err=True)
    else:
        sys.stdout.write(text)


@privacy_group.command("erase")
@click.argument("email")
@click.option("--anonymise", "--anonymize", "mode", flag_value="anonymise", default=True,
              help="Keep published comments' text under the name 'Anonymous' (default).")
@click.option("--remove", "mode", flag_value="remove", help="Delete the published comments too.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def privacy_erase(email: str, mode: str, yes: bool):
    """Erase a commenter's data, then republish the threads they wrote in."""
    from .privacy import PrivacyError, check_email, comments_of, erase

    try:
        email = check_email(email)
    except PrivacyError as exc:
        raise click.ClickException(str(exc)) from exc
    with open_hub() as hub:
        with hub.sessions() as s:
            count = len(comments_of(s, email))
        if not yes:
            # No comments yet is still an erasure: their other records go, and no later import
            # brings comments written with the address until today back.
            what = "erase their other records and keep imports from bringing any in" if count == 0 else \
                "anonymise their published comments and delete the rest" if mode == "anonymise" \
                else "delete all of their comments"
            click.confirm(f"{n_of(count, 'comment')} {were(count)} written with {email}: {what}?", abort=True)
        try:
            report = erase(hub, email, mode)
        except PrivacyError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"Erased {report.email}: {n_of(report.anonymised, 'comment')} anonymised, {report.removed} removed"
               + (f", {n_of(report.other_records, 'other record')}" if report.other_records else "") + ".")
    click.echo("No import will bring back what was written with this address until now.")
    if report.threads:
        left = f", {report.publish_left} left to the background jobs" if report.publish_left else ""
        click.echo(f"Republished {n_of(report.published, 'thread')}{left}: {', '.join(report.threads)}.")


@click.command("backup")
@click.argument("dest", type=click.Path())  # a str: a trailing slash (a directory) must survive
def backup_cmd(dest: str):
    """Copy the live SQLite comment database to DEST (a file, or a directory for a dated file)."""
    from .backup import BackupError, backup_sqlite, published_dirs
    from .hub import command_config

    config = command_config()
    try:
        result = backup_sqlite(config.database_url, dest, published_dirs(config))
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up {n_of(result.comments, 'comment')} to {result.path} ({n_of(result.size, 'byte')}).")
    click.echo("Keep instance/secret_key (or HUBBUB_SECRET_KEY) and content/comments/.salt safe too.")

