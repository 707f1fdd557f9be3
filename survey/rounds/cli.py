"""``flask --app survey rounds ...``: create rounds and move them through their life."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from scoring.input_limits import InputTooLarge, load_json_text

from ..auth import audit
from ..ballotbox.box import box_fingerprint, custody_of
from ..ballotbox.keyfile import read_key_path, read_share, read_text_path
from ..ballotbox.words import key_from_words, mnemonics_in
from ..commands import refusals, round_named
from ..database import unit_of_work
from ..errors import ServiceError
from ..extensions import db
from ..models import Round
from .builder import delete_draft
from .builtin import example_spec
from .services import SpecRefused, close_round, import_round, move_round
from .turnout import round_turnout

rounds_cli = AppGroup("rounds", help="Create rounds and move them through draft → open → closed → published.")


@rounds_cli.command("import")
@click.argument("spec_path", metavar="SPEC.json", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ballot-box", "custody", type=click.Choice(["server", "teller"]),
              help="who keeps the ballot box key: server (服务器保管) or teller (监票人保管); "
                   "overrides the spec's \"ballot_box\"")
@refusals
def rounds_import(spec_path: Path, custody: str | None) -> None:
    """Create a draft round from a spec file; prints its slug."""

    try:
        data = load_json_text(spec_path.read_text(encoding="utf-8-sig"))
    except OSError as exc:
        raise SpecRefused(f"{spec_path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SpecRefused(f"{spec_path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise SpecRefused(f"{spec_path}:{exc.lineno}: not valid JSON: {exc.msg}") from None
    except InputTooLarge as exc:
        raise SpecRefused(f"{spec_path}: refused: the JSON is {exc}") from None
    if custody is not None and isinstance(data, dict):
        data["ballot_box"] = custody

    try:
        with unit_of_work():
            round_ = import_round(data)
            audit.record("round.create", round_slug=round_.slug, title=round_.title, source=spec_path.name)
    except SpecRefused as exc:
        raise SpecRefused(f"{spec_path}: {exc}") from None
    click.echo(round_.slug)


@rounds_cli.command("template")
@click.option("--kind", type=click.Choice(["branches", "offices", "members", "cadres", "party"]), default="branches",
              show_default=True,
              help="a built-in template, as the console's 新建评议 lists them: branches 基层党组织群众评议, offices "
                   "机关部门满意度测评, members 党员民主评议 (party is its older name), cadres 干部测评")
def rounds_template(kind: str) -> None:
    """Print a starting spec, in the words of the 2012 work plan; edit it, then import it."""
    click.echo(json.dumps(example_spec(kind), ensure_ascii=False, indent=2))


@rounds_cli.command("open")
@click.argument("slug")
@click.option("--public-key", "public_key_file", type=click.Path(dir_okay=False, path_type=Path),
              help="for a round in 监票人保管 (teller custody): the 监票人's public key file")
@refusals
def rounds_open(slug: str, public_key_file: Path | None) -> None:
    """Open a draft round: it takes ballots within its time window, sealed to its ballot box key."""
    public_key = read_key_path(public_key_file, private=False) if public_key_file else None
    with unit_of_work():
        said = move_round(round_named(slug), "open", public_key=public_key)
    click.echo(said)
    click.echo(audit.head_line())


@rounds_cli.command("close")
@click.argument("slug")
@click.option("--key", "key_file", type=click.Path(dir_okay=False, path_type=Path),
              help="for a round in 监票人保管: the 监票人's key file (or a file of its key sheet's words)")
@click.option("--share", "share_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="for a 监票小组's key: a share file; give two (--share A --share B)")
@click.option("--words", "words_stdin", is_flag=True,
              help="read the key's words, or two shares' words, from standard input")
@refusals
def rounds_close(slug: str, key_file: Path | None, share_files: tuple[Path, ...], words_stdin: bool) -> None:
    """Close an open round: it takes no more ballots, its ballot box is opened and counted,
    and its unused codes are destroyed. A round in 监票人保管 needs its key: --key FILE, two
    --share FILE, or --words (its words on standard input)."""
    if key_file is not None and (share_files or words_stdin):
        raise click.UsageError("give the key one way: --key FILE, or shares (--share FILE, --words)")
    key = None
    if key_file is not None:
        key = read_key_path(key_file, private=True)
    elif share_files or words_stdin:
        mnemonics = [m for path in share_files for m in read_share(read_text_path(path), str(path))]
        if words_stdin:
            mnemonics += mnemonics_in(sys.stdin.read())
        key = key_from_words(mnemonics)
    bars: list[Any] = []

    def progress(done: int, total: int) -> None:
        """A bar on a terminal, from the moment the key has been accepted and the box is opened."""
        if not bars and total and sys.stderr.isatty():
            bars.append(click.progressbar(length=total, label="开箱计票", file=sys.stderr, show_pos=True))
            bars[0].__enter__()
        if bars:
            bars[0].update(done - bars[0].pos)

    try:
        closed = close_round(round_named(slug), key, progress=progress)
    finally:
        if bars:
            bars[0].__exit__(None, None, None)
    click.echo(closed.words(slug))
    click.echo(audit.head_line())


@rounds_cli.command("publish")
@click.argument("slug")
@refusals
def rounds_publish(slug: str) -> None:
    """Publish a closed round: its receipts page lists every counted ballot."""
    with unit_of_work():
        said = move_round(round_named(slug), "publish")
    click.echo(said)
    click.echo(audit.head_line())


@rounds_cli.command("delete")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@refusals
def rounds_delete(slug: str, yes: bool) -> None:
    """Delete a draft round and everything of it (only a draft: nothing has been answered)."""
    round_ = round_named(slug)
    if not round_.state.deletable:
        raise ServiceError(f"round {slug!r} is {round_.status}: only a draft can be deleted")
    if not yes:
        click.confirm(f"Delete draft {slug!r} ({round_.title})?", abort=True)
    with unit_of_work():
        delete_draft(round_)
    click.echo(f"{slug}: deleted")


@rounds_cli.command("list")
def rounds_list() -> None:
    """Every round with its status."""
    for round_ in db.session.scalars(select(Round).order_by(Round.id)):
        click.echo(f"{round_.slug}\t{round_.status}\t{round_.title}")


@rounds_cli.command("status")
@click.argument("slug")
@refusals
def rounds_status(slug: str) -> None:
    """Turnout per group: codes issued and used, ballots received, participation."""

    round_ = round_named(slug)
    click.echo(f"{round_.title} [{round_.slug}] — {round_.status}")
    click.echo(f"{'group':<12}{'access':<8}{'expected':>9}{'codes':>8}{'unused':>8}{'ballots':>9}{'particip.':>11}")
    for t in round_turnout(round_):
        part = f"{t.participation:.1%}" if t.participation is not None else "-"
        click.echo(
            f"{t.key:<12}{t.access.value:<8}{t.expected or '-':>9}{t.codes_issued:>8}{t.codes_unused:>8}{t.ballots:>9}{part:>11}"
        )
    box = box_fingerprint(round_)
    click.echo(f"ballot box: {custody_of(round_).value} ({custody_of(round_).label})"
               + (f", key fingerprint {box}" if box else ", no key yet (made when the round opens)")
               + (f"; {round_.box_unreadable} sealed ballots did not open" if round_.box_unreadable else ""))
