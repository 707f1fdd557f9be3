"""``flask --app survey codes ...`` and ``qr``: single-use ballot codes, slips and open-link QR codes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from ..auth import audit
from ..commands import refusals, round_named
from ..database import unit_of_work
from ..export.services import write_csv
from ..qr import write_qr
from ..settings import is_loopback, public_base_url
from .services import issue_ballot_codes, open_link_of, void_unused_codes
from .sheet import render_slips_pdf

codes_cli = AppGroup("codes", help="Single-use ballot codes: as a CSV list or as printable slips.")


def _group_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--group", "group_key", required=True, help="the group key in the spec")(fn)


def _loopback_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--allow-loopback", is_flag=True,
                        help="issue even though the public address is localhost (codes then work on this machine only)")(fn)


def _refuse_loopback(allow: bool) -> None:
    """Codes and QR made under localhost reach no phone: refuse unless asked for."""
    url = public_base_url()
    if is_loopback(url):
        if not allow:
            raise click.ClickException(
                f"the public address is {url}, which phones cannot reach; set the real one first with "
                f"'flask --app survey config set-base-url https://...' (or pass --allow-loopback for a local test)"
            )
        click.echo(f"WARNING: public address {url} is a loopback address: these work on this machine only", err=True)


@codes_cli.command("issue")
@click.argument("slug")
@_group_option
@click.option("--count", type=int, required=True, help="how many codes")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="codes.csv")
@_loopback_option
@refusals
def codes_issue(slug: str, group_key: str, count: int, out: Path, allow_loopback: bool) -> None:
    """Issue COUNT single-use codes; writes CSV columns code,url (UTF-8 with BOM)."""
    _refuse_loopback(allow_loopback)
    tmp = out.with_name(f".{out.name}.tmp")
    with unit_of_work():
        codes = issue_ballot_codes(round_named(slug), group_key, count)
        audit.record("codes.issue", round_slug=slug, group=group_key, count=len(codes), format="csv")
        write_csv(tmp, ("code", "url"), ((c.code, c.url) for c in codes))
    tmp.replace(out)
    click.echo(f"{len(codes)} codes for group {group_key} written to {out}")


@codes_cli.command("sheet")
@click.argument("slug")
@_group_option
@click.option("--count", type=int, required=True, help="how many slips")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="slips.pdf")
@_loopback_option
@refusals
def codes_sheet(slug: str, group_key: str, count: int, out: Path, allow_loopback: bool) -> None:
    """Issue COUNT codes as printable A4 slips: QR, code, round title, instructions."""
    if out.suffix.lower() != ".pdf":
        raise click.ClickException(f"--out must end in .pdf, not {out.name!r}")
    _refuse_loopback(allow_loopback)
    with unit_of_work():
        round_ = round_named(slug)
        codes = issue_ballot_codes(round_, group_key, count)
        audit.record("codes.issue", round_slug=slug, group=group_key, count=len(codes), format="pdf")
        with click.progressbar(length=1, label="drawing slips", file=None) as bar:
            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            pages = render_slips_pdf(
                out, title=round_.title, slips=[(c.code, c.url) for c in codes],
                group_name=round_.group(group_key).name, base_url=public_base_url(),
                progress=progress,
            )
    click.echo(f"{len(codes)} slips on {pages} pages written to {out}")


@codes_cli.command("void")
@click.argument("slug")
@_group_option
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@refusals
def codes_void(slug: str, group_key: str, yes: bool) -> None:
    """Destroy every unused code of a group (slips printed under a wrong address, lost slips)."""
    if not yes:
        click.confirm(f"Void every unused code of group {group_key!r} of {slug!r}?", abort=True)
    with unit_of_work():
        count = void_unused_codes(round_named(slug), group_key)
        audit.record("codes.void", round_slug=slug, group=group_key, count=count)
    click.echo(f"{count} unused codes of group {group_key} voided: they can no longer be used")


@click.command("qr")
@click.argument("slug")
@_group_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="FILE.png or FILE.svg")
@_loopback_option
@refusals
def qr_command(slug: str, group_key: str, out: Path, allow_loopback: bool) -> None:
    """The QR image of an open-access group's link, for posters."""
    url = open_link_of(round_named(slug), group_key)
    if out.suffix.lower() not in (".png", ".svg"):
        raise click.ClickException(f"--out must end in .png or .svg, not {out.name!r}")
    _refuse_loopback(allow_loopback)
    write_qr(url, out)
    click.echo(f"{url} → {out}")
