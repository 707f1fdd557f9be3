"""``flask --app survey ballot-box keygen``: a 监票人's key made wherever the package is installed."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from .keygen import make_key, report, write_files

ballot_box_cli = AppGroup("ballot-box", help="The ballot box key of a round in 监票人保管 (teller custody).")


@ballot_box_cli.command("keygen", with_appcontext=False)
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the private key file to write, e.g. 2026-branches.key.json (with --shares: the name the share files start with)")
@click.option("--round", "round_slug", help="the round's slug, written into the files and printed on the sheets")
@click.option("--title", help="the round's title, printed on the sheets")
@click.option("--shares", is_flag=True, help="a 监票小组: three shares, any two of which open the box, and no whole key")
def ballot_box_keygen(out: Path, round_slug: str | None, title: str | None, shares: bool) -> None:
    """Make a ballot box key pair on this computer (the 监票人's, not the server): writes the
    private key file (0600) or three shares, the key sheets (PDF) and the public key file,
    and prints the public key and its fingerprint. Uses no database."""
    try:
        made = make_key(out, round_slug=round_slug, round_title=title, shares=shares)
        write_files(made.files)
    except (OSError, ValueError, RuntimeError) as exc:  # a file in the way, or a sheet that did not read back
        raise click.ClickException(f"{exc}; no key was written") from None
    report(made, click.echo)
