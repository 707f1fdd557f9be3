"""``flask --app survey score``: a closed round's scorecard for programs."""

from __future__ import annotations

from pathlib import Path

import click

from ..commands import refusals, round_named
from .services import score_round


@click.command("score")
@click.argument("slug")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="scorecard.csv or scorecard.xlsx")
@click.option("--summary", type=click.Path(dir_okay=False, path_type=Path), help="also write summary.json")
@refusals
def score_command(slug: str, out: Path, summary: Path | None) -> None:
    """The round's scorecard, computed from SQL tallies (same file as python -m scoring score)."""
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise click.ClickException(f"--out must end in .csv or .xlsx, not {out.name!r}")
    score_round(round_named(slug), out, summary=summary)
    click.echo(f"scorecard of {slug} written to {out}")
