"""``flask --app survey org import``: organizational ratings (组织评价)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from ..auth import audit
from ..commands import refusals, round_named
from ..database import unit_of_work
from .services import import_org_csv

org_cli = AppGroup("org", help="Organizational ratings (组织评价).")


@org_cli.command("import")
@click.argument("slug")
@click.argument("ratings", type=click.Path(dir_okay=False, path_type=Path))
@refusals
def org_import(slug: str, ratings: Path) -> None:
    """Replace the round's organizational ratings with RATINGS (CSV subject,rater,score;
    UTF-8 with or without BOM, or GB18030 as Excel saves it)."""
    try:
        data = ratings.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"{ratings}: cannot read: {exc.strerror}") from None
    with unit_of_work():
        result = import_org_csv(round_named(slug), data, str(ratings))
        audit.record("org.ratings", round_slug=slug, count=result.count, source=ratings.name)
    click.echo(f"{result.count} organizational ratings stored for {slug} (read {ratings} as {result.encoding})")
