"""The ``flask --app survey ...`` commands of CONTRACT.md: thin wrappers over the services.

Each command that changes data runs inside one ``unit_of_work``: it stores all or nothing, and
a refusal exits non-zero with a one-line reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from .database import unit_of_work
from .errors import ServiceError
from .extensions import db

rounds_cli = AppGroup("rounds", help="Create rounds and move them through draft → open → closed → published.")
codes_cli = AppGroup("codes", help="Single-use ballot codes: as a CSV list or as printable slips.")
org_cli = AppGroup("org", help="Organizational ratings (组织评价).")


def refusals(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a service's refusal, or a file that cannot be read or written, into a one-line
    error and a non-zero exit."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .config import private_files

        try:
            with private_files():  # code lists, slips and exports: readable by their owner only
                return fn(*args, **kwargs)
        except ServiceError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # an output file that cannot be written: the unit of work rolled back
            raise click.ClickException(f"{exc.filename or 'file'}: {exc.strerror or exc}") from None

    return wrapper


def _round(slug: str):  # noqa: ANN202
    from .rounds.services import get_round

    return get_round(slug)


@rounds_cli.command("import")
@click.argument("spec_path", metavar="SPEC.json", type=click.Path(dir_okay=False, path_type=Path))
@refusals
def rounds_import(spec_path: Path) -> None:
    """Create a draft round from a spec file; prints its slug."""
    from .rounds.services import SpecRefused, import_round

    try:
        data = json.loads(spec_path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise SpecRefused(f"{spec_path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise SpecRefused(f"{spec_path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    try:
        with unit_of_work():
            round_ = import_round(data)
    except SpecRefused as exc:
        raise SpecRefused(f"{spec_path}: {exc}") from None
    click.echo(round_.slug)


@rounds_cli.command("template")
@click.option("--kind", type=click.Choice(["branches", "party"]), default="branches", show_default=True,
              help="branches: 基层党组织群众评议; party: 党员民主评议 (party members, scale party4)")
def rounds_template(kind: str) -> None:
    """Print a starting spec, in the words of the 2012 work plan; edit it, then import it."""
    from .demo import template_spec

    click.echo(json.dumps(template_spec(kind), ensure_ascii=False, indent=2))


def _transition_command(action: str, help_text: str) -> None:
    @rounds_cli.command(action, help=help_text)
    @click.argument("slug")
    @refusals
    def command(slug: str) -> None:
        from .rounds.services import compact_storage, move_round

        with unit_of_work():
            said = move_round(_round(slug), action)
        if action == "close":
            compact_storage()
        click.echo(said)


_transition_command("open", "Open a draft round: it takes ballots within its time window.")
_transition_command("close", "Close an open round: it takes no more ballots, and its codes are destroyed.")
_transition_command("publish", "Publish a closed round: its receipts page lists every counted ballot.")


@rounds_cli.command("reseal")
@click.option("--every", type=click.IntRange(min=10), metavar="SECONDS",
              help="keep running, resealing every SECONDS (instead of a cron entry)")
@refusals
def rounds_reseal(every: int | None) -> None:
    """Rebuild the ballot tables in random order under fresh ids, as closing does: run it every
    few minutes while a round is open (see docs/anonymity.md)."""
    import time

    from .rounds.reseal import reseal_ballot_tables
    from .rounds.services import compact_storage

    while True:
        with unit_of_work():
            reseal_ballot_tables()
        compact_storage()
        click.echo("ballot tables rebuilt in random order")
        if every is None:
            return
        db.session.remove()
        time.sleep(every)


@rounds_cli.command("list")
def rounds_list() -> None:
    """Every round with its status."""
    from .models import Round

    for round_ in db.session.scalars(select(Round).order_by(Round.id)):
        click.echo(f"{round_.slug}\t{round_.status}\t{round_.title}")


@rounds_cli.command("status")
@click.argument("slug")
@refusals
def rounds_status(slug: str) -> None:
    """Turnout per group: codes issued and used, ballots received, participation."""
    from .rounds.turnout import round_turnout

    round_ = _round(slug)
    click.echo(f"{round_.title} [{round_.slug}] — {round_.status}")
    click.echo(f"{'group':<12}{'access':<8}{'expected':>9}{'codes':>8}{'unused':>8}{'ballots':>9}{'particip.':>11}")
    for t in round_turnout(round_):
        part = f"{t.participation:.1%}" if t.participation is not None else "-"
        click.echo(
            f"{t.key:<12}{t.access:<8}{t.expected or '-':>9}{t.codes_issued:>8}{t.codes_unused:>8}{t.ballots:>9}{part:>11}"
        )


def _group_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--group", "group_key", required=True, help="the group key in the spec")(fn)


@codes_cli.command("issue")
@click.argument("slug")
@_group_option
@click.option("--count", type=int, required=True, help="how many codes")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="codes.csv")
@refusals
def codes_issue(slug: str, group_key: str, count: int, out: Path) -> None:
    """Issue COUNT single-use codes; writes CSV columns code,url (UTF-8 with BOM)."""
    from .codes.services import issue_ballot_codes
    from .export.services import write_csv

    tmp = out.with_name(f".{out.name}.tmp")
    with unit_of_work():
        codes = issue_ballot_codes(_round(slug), group_key, count)
        write_csv(tmp, ("code", "url"), ((c.code, c.url) for c in codes))
    tmp.replace(out)
    click.echo(f"{len(codes)} codes for group {group_key} written to {out}")


@codes_cli.command("sheet")
@click.argument("slug")
@_group_option
@click.option("--count", type=int, required=True, help="how many slips")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="slips.pdf")
@refusals
def codes_sheet(slug: str, group_key: str, count: int, out: Path) -> None:
    """Issue COUNT codes as printable A4 slips: QR, code, round title, instructions."""
    from .codes.services import issue_ballot_codes
    from .codes.sheet import render_slips_pdf

    if out.suffix.lower() != ".pdf":
        raise click.ClickException(f"--out must end in .pdf, not {out.name!r}")
    with unit_of_work():
        round_ = _round(slug)
        codes = issue_ballot_codes(round_, group_key, count)
        with click.progressbar(length=1, label="drawing slips", file=None) as bar:
            def progress(done: int, total: int) -> None:
                bar.length = total
                bar.update(done - bar.pos)

            pages = render_slips_pdf(
                out, title=round_.title, slips=[(c.code, c.url) for c in codes],
                group_name=round_.group(group_key).name, base_url=current_app.config["BASE_URL"],
                progress=progress,
            )
    click.echo(f"{len(codes)} slips on {pages} pages written to {out}")


@click.command("qr")
@click.argument("slug")
@_group_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="FILE.png or FILE.svg")
@refusals
def qr_command(slug: str, group_key: str, out: Path) -> None:
    """The QR image of an open-access group's link, for posters."""
    from .codes.services import open_url
    from .errors import NotFound
    from .qr import write_qr

    round_ = _round(slug)
    group = round_.group(group_key)
    if group is None:
        raise NotFound(f"round {slug!r} has no group {group_key!r}")
    if group.access != "open":
        raise ServiceError(
            f"group {group_key!r} answers by single-use codes, so it has no open link "
            f"(print its slips with: flask --app survey codes sheet {slug} --group {group_key} --count N --out slips.pdf)"
        )
    if out.suffix.lower() not in (".png", ".svg"):
        raise click.ClickException(f"--out must end in .png or .svg, not {out.name!r}")
    url = open_url(round_, group)
    write_qr(url, out)
    click.echo(f"{url} → {out}")


@org_cli.command("import")
@click.argument("slug")
@click.argument("ratings", type=click.Path(dir_okay=False, path_type=Path))
@refusals
def org_import(slug: str, ratings: Path) -> None:
    """Replace the round's organizational ratings with RATINGS (CSV subject,rater,score)."""
    from .org.services import import_org_ratings

    with unit_of_work():
        count = import_org_ratings(_round(slug), ratings)
    click.echo(f"{count} organizational ratings stored for {slug}")


@click.command("export")
@click.argument("slug")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="a folder")
@refusals
def export_command(slug: str, out: Path) -> None:
    """Write answers.csv, comments.csv, org.csv and spec.json into a folder."""
    from .export.services import export_round

    counts = export_round(_round(slug), out)
    for name, n in counts.items():
        click.echo(f"{out / name}: {n} {'rows' if name.endswith('.csv') else 'file'}")


@click.command("score")
@click.argument("slug")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="scorecard.csv or scorecard.xlsx")
@click.option("--summary", type=click.Path(dir_okay=False, path_type=Path), help="also write summary.json")
@refusals
def score_command(slug: str, out: Path, summary: Path | None) -> None:
    """The round's scorecard, computed from SQL tallies (same file as python -m scoring score)."""
    from .scorecard.services import score_round

    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise click.ClickException(f"--out must end in .csv or .xlsx, not {out.name!r}")
    score_round(_round(slug), out, summary=summary)
    click.echo(f"scorecard of {slug} written to {out}")


@click.command("demo")
@click.option("--quiet", is_flag=True, help="seed only, print nothing but errors")
def demo_command(quiet: bool) -> None:
    """Seed the demo round when the database has no round, open it, and print its links."""
    from .codes.services import issue_ballot_codes, open_url
    from .demo import demo_spec
    from .export.services import write_csv
    from .models import Round
    from .qr import terminal_qr
    from .rounds.lifecycle import transition
    from .rounds.services import import_round

    seeded = None
    if db.session.scalar(select(func.count()).select_from(Round)) == 0:
        with unit_of_work():
            round_ = import_round(demo_spec())
            transition(round_, "open")
            codes = issue_ballot_codes(round_, "staff", 20)
        seeded = Path(current_app.instance_path) / "demo-codes.csv"
        from .config import private_files

        with private_files():
            write_csv(seeded, ("code", "url"), ((c.code, c.url) for c in codes))
    round_ = db.session.scalar(select(Round).where(Round.slug == "demo"))
    if quiet or round_ is None:
        return
    click.echo(f"\n{round_.title}  [{round_.status}]")
    for group in round_.groups:
        if group.access == "open":
            url = open_url(round_, group)
            click.echo(f"\n{group.name}（{group.key}）开放链接: {url}")
            click.echo(terminal_qr(url))
    if seeded:
        click.echo(f"教职工 (staff) answers by single-use codes: 20 demo codes are in {seeded}")
    click.echo("Landing page: " + current_app.config["BASE_URL"] + "/\n")


def register(app: Flask) -> None:
    from .auth.cli import audit_cli, users_cli

    for command in (rounds_cli, codes_cli, org_cli, qr_command, export_command, score_command, demo_command,
                    users_cli, audit_cli):
        app.cli.add_command(command)
