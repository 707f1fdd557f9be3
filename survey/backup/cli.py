"""``flask --app survey backup --out FILE`` and ``flask --app survey restore FILE``."""

from __future__ import annotations

from pathlib import Path

import click

from ..commands import refusals


@click.command("backup")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="the backup file to write (mode 0600; replaced if it exists)")
@refusals
def backup_command(out: Path) -> None:
    """A consistent copy of the whole database, at any moment, rounds open or not (SQLite's online
    backup API; pg_dump on PostgreSQL). Back up the instance folder's keys apart from it."""
    from .services import take_backup

    done = take_backup(out, click.echo)
    click.echo(f"backup written: {done.path} ({done.size}, readable by its owner only)")
    click.echo("keep the keys apart from it: SURVEY_SECRET_KEY/CODE_KEY/AUDIT_KEY or instance/secret_key, "
               "code_key, audit_key (see docs/operations.md)")


@click.command("restore")
@click.argument("backup", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@refusals
def restore_command(backup: Path) -> None:
    """Restore FILE (made by the backup command) into the configured database, which must be
    new and empty; the instance folder's keys must be those of the installation it came from."""
    from ..auth import audit
    from .services import restore_backup

    done = restore_backup(backup, click.echo)
    rounds = ", ".join(f"{slug} ({status})" for slug, status in done.rounds) or "none"
    click.echo(f"restored {backup}: rounds {rounds}")
    for note in done.notes:
        click.echo(f"WARNING: {note}", err=True)
    if not done.notes:
        click.echo(audit.head_line())
