"""``flask --app survey export``: a closed round's raw files for programs."""

from __future__ import annotations

from pathlib import Path

import click

from ..auth import audit
from ..commands import refusals, round_named
from ..database import unit_of_work
from .services import export_round


@click.command("export")
@click.argument("slug")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="a folder")
@refusals
def export_command(slug: str, out: Path) -> None:
    """Write answers.csv, comments.csv, org.csv and spec.json into a folder."""

    counts = export_round(round_named(slug), out)
    with unit_of_work():
        audit.record("export", round_slug=slug, files=counts)
    for name, n in counts.items():
        click.echo(f"{out / name}: {n} {'rows' if name.endswith('.csv') else 'file'}")
