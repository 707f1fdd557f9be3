"""The ``flask --app survey ...`` commands (README, "Running a real round"): thin wrappers over the services.

Each command that changes data runs inside one ``unit_of_work``: it stores all or nothing, and
a refusal exits non-zero with a one-line reason.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError, ProgrammingError

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
            raise click.ClickException(f"{_as_typed(exc.filename) or 'file'}: {exc.strerror or exc}") from None
        except (OperationalError, ProgrammingError) as exc:
            if not _schema_behind(exc):
                raise
            raise click.ClickException(
                "the database's schema is older than this version of the service "
                f"({str(exc.orig).splitlines()[0]}): run  flask --app survey db upgrade"
            ) from None

    return wrapper


def _schema_behind(exc: Exception) -> bool:
    """A table or column the code expects is missing: the database was not migrated."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "no such table" in text or "no such column" in text or (
        "does not exist" in text and ("relation" in text or "column" in text)
    )


def _as_typed(filename: object) -> str | None:
    """The file the user named, not the temporary sibling it is written through
    (``out/.codes.csv.1a2b3c4d.tmp`` → ``out/codes.csv``)."""
    if filename is None:
        return None
    import re

    return re.sub(r"(^|/)\.([^/]+?)(\.[0-9a-f]{8})?\.tmp$", r"\1\2", str(filename))


def _round(slug: str):  # noqa: ANN202
    from .rounds.services import get_round

    return get_round(slug)


@rounds_cli.command("import")
@click.argument("spec_path", metavar="SPEC.json", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--ballot-box", "custody", type=click.Choice(["server", "teller"]),
              help="who keeps the ballot box key: server (服务器保管) or teller (监票人保管); "
                   "overrides the spec's \"ballot_box\"")
@refusals
def rounds_import(spec_path: Path, custody: str | None) -> None:
    """Create a draft round from a spec file; prints its slug."""
    from scoring.input_limits import InputTooLarge, load_json_text

    from .rounds.services import SpecRefused, import_round

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
    from .auth import audit

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
    from .rounds.builtin import example_spec

    click.echo(json.dumps(example_spec(kind), ensure_ascii=False, indent=2))


@rounds_cli.command("open")
@click.argument("slug")
@click.option("--public-key", "public_key_file", type=click.Path(dir_okay=False, path_type=Path),
              help="for a round in 监票人保管 (teller custody): the 监票人's public key file")
@refusals
def rounds_open(slug: str, public_key_file: Path | None) -> None:
    """Open a draft round: it takes ballots within its time window, sealed to its ballot box key."""
    from .auth import audit
    from .ballotbox.keyfile import read_key_path
    from .rounds.services import move_round

    public_key = read_key_path(public_key_file, private=False) if public_key_file else None
    with unit_of_work():
        said = move_round(_round(slug), "open", public_key=public_key)
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
    from .auth import audit
    from .ballotbox.keyfile import read_key_path, read_share, read_text_path
    from .ballotbox.words import key_from_words, mnemonics_in
    from .rounds.services import close_round

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
        closed = close_round(_round(slug), key, progress=progress)
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
    from .auth import audit
    from .rounds.services import move_round

    with unit_of_work():
        said = move_round(_round(slug), "publish")
    click.echo(said)
    click.echo(audit.head_line())


@rounds_cli.command("delete")
@click.argument("slug")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@refusals
def rounds_delete(slug: str, yes: bool) -> None:
    """Delete a draft round and everything of it (only a draft: nothing has been answered)."""
    from .rounds.builder import delete_draft

    round_ = _round(slug)
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
    from .models import Round

    for round_ in db.session.scalars(select(Round).order_by(Round.id)):
        click.echo(f"{round_.slug}\t{round_.status}\t{round_.title}")


@rounds_cli.command("status")
@click.argument("slug")
@refusals
def rounds_status(slug: str) -> None:
    """Turnout per group: codes issued and used, ballots received, participation."""
    from .rounds.turnout import round_turnout

    from .ballotbox.box import box_fingerprint, custody_of

    round_ = _round(slug)
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


def _group_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--group", "group_key", required=True, help="the group key in the spec")(fn)


def _loopback_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--allow-loopback", is_flag=True,
                        help="issue even though the public address is localhost (codes then work on this machine only)")(fn)


def _refuse_loopback(allow: bool) -> None:
    """Codes and QR made under localhost reach no phone: refuse unless asked for."""
    from .settings import is_loopback, public_base_url

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
    from .auth import audit
    from .codes.services import issue_ballot_codes
    from .export.services import write_csv

    _refuse_loopback(allow_loopback)
    tmp = out.with_name(f".{out.name}.tmp")
    with unit_of_work():
        codes = issue_ballot_codes(_round(slug), group_key, count)
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
    from .auth import audit
    from .codes.services import issue_ballot_codes
    from .codes.sheet import render_slips_pdf
    from .settings import public_base_url

    if out.suffix.lower() != ".pdf":
        raise click.ClickException(f"--out must end in .pdf, not {out.name!r}")
    _refuse_loopback(allow_loopback)
    with unit_of_work():
        round_ = _round(slug)
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
    from .auth import audit
    from .codes.services import void_unused_codes

    if not yes:
        click.confirm(f"Void every unused code of group {group_key!r} of {slug!r}?", abort=True)
    with unit_of_work():
        count = void_unused_codes(_round(slug), group_key)
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
    from .codes.services import open_link_of
    from .qr import write_qr

    url = open_link_of(_round(slug), group_key)
    if out.suffix.lower() not in (".png", ".svg"):
        raise click.ClickException(f"--out must end in .png or .svg, not {out.name!r}")
    _refuse_loopback(allow_loopback)
    write_qr(url, out)
    click.echo(f"{url} → {out}")


@org_cli.command("import")
@click.argument("slug")
@click.argument("ratings", type=click.Path(dir_okay=False, path_type=Path))
@refusals
def org_import(slug: str, ratings: Path) -> None:
    """Replace the round's organizational ratings with RATINGS (CSV subject,rater,score;
    UTF-8 with or without BOM, or GB18030 as Excel saves it)."""
    from .auth import audit
    from .org.services import import_org_csv

    try:
        data = ratings.read_bytes()
    except OSError as exc:
        raise click.ClickException(f"{ratings}: cannot read: {exc.strerror}") from None
    with unit_of_work():
        result = import_org_csv(_round(slug), data, str(ratings))
        audit.record("org.ratings", round_slug=slug, count=result.count, source=ratings.name)
    click.echo(f"{result.count} organizational ratings stored for {slug} (read {ratings} as {result.encoding})")


@click.command("export")
@click.argument("slug")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="a folder")
@refusals
def export_command(slug: str, out: Path) -> None:
    """Write answers.csv, comments.csv, org.csv and spec.json into a folder."""
    from .export.services import export_round

    from .auth import audit

    counts = export_round(_round(slug), out)
    with unit_of_work():
        audit.record("export", round_slug=slug, files=counts)
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
@click.option("--remove", is_flag=True, help="delete the demo round, its ballots and the demo account")
def demo_command(quiet: bool, remove: bool) -> None:
    """Seed the demo round when the database has no round, open it, and print its links.

    Seeding also creates a demo organizer account and prints its sign-in once. Remove both
    with --remove before a real round (or keep the demo in a database of its own:
    SURVEY_DATABASE_URL=sqlite:///demo.db)."""
    from .codes.services import issue_ballot_codes, open_url
    from .demo import demo_spec
    from .export.services import write_csv
    from .models import Round
    from .qr import terminal_qr
    from .rounds.services import import_round, move_round

    if remove:
        _remove_demo()
        return
    seeded = None
    demo_password = None
    if db.session.scalar(select(func.count()).select_from(Round)) == 0:
        with unit_of_work():
            round_ = import_round(demo_spec())
            move_round(round_, "open")
            codes = issue_ballot_codes(round_, "staff", 20)
            demo_password = _demo_account()
        seeded = Path(current_app.instance_path) / "demo-codes.csv"
        from .config import private_files

        with private_files():
            write_csv(seeded, ("code", "url"), ((c.code, c.url) for c in codes))
    from .settings import public_base_url

    round_ = db.session.scalar(select(Round).where(Round.slug == "demo"))
    if quiet:
        return
    base = public_base_url()  # the address every link and QR carries, so one address throughout
    if round_ is not None:
        click.echo(f"\n{round_.title}  [{round_.status}]")
        for group in round_.groups:
            if group.is_open:
                url = open_url(round_, group)
                click.echo(f"\n{group.name}（{group.key}）开放链接: {url}")
                click.echo(terminal_qr(url))
        codes_file = Path(current_app.instance_path) / "demo-codes.csv"
        if codes_file.exists():
            click.echo(f"教职工 (staff) answers by single-use codes: 20 demo codes are in {codes_file}")
    click.echo(f"Landing page: {base}/")
    if demo_password:
        click.echo(f"DEMO console sign-in (a demo organizer, not for real use): {base}/login"
                   f"  user: {DEMO_USER}  password: {demo_password}")
        click.echo("Remove the demo round and this account before a real round: flask --app survey demo --remove")
    else:
        click.echo(f"Console sign-in: {base}/login"
                   + ("" if _has_accounts() else "  (no account yet: flask --app survey users create NAME --role admin)"))
    click.echo("")


def _has_accounts() -> bool:
    from .models import User

    return db.session.scalar(select(func.count()).select_from(User)) > 0


DEMO_USER = "demo"


def _demo_account() -> str | None:
    """A demo organizer with a random password, unless an account of that name exists."""
    import secrets

    from .auth.services import create_user
    from .models import User

    if db.session.scalar(select(User.id).where(User.username == DEMO_USER)) is not None:
        return None
    password = secrets.token_urlsafe(9)
    create_user(DEMO_USER, "organizer", password)
    return password


def _remove_demo() -> None:
    from .auth import audit
    from .models import BallotCode, Round, User

    with unit_of_work():
        round_ = db.session.scalar(select(Round).where(Round.slug == "demo"))
        if round_ is not None:
            db.session.execute(BallotCode.__table__.delete().where(BallotCode.round_id == round_.id))
            audit.record("round.delete", round_slug="demo", title=round_.title, demo=True)
            db.session.delete(round_)
        user = db.session.scalar(select(User).where(User.username == DEMO_USER))
        if user is not None:
            audit.record("user.disable", username=DEMO_USER, demo=True)
            db.session.delete(user)
    codes_file = Path(current_app.instance_path) / "demo-codes.csv"
    had_codes = codes_file.exists()
    codes_file.unlink(missing_ok=True)  # its codes died with the round
    click.echo("demo round and demo account removed" if round_ or user else "no demo round or demo account")
    if had_codes:
        click.echo(f"removed {codes_file}")


config_cli = AppGroup("config", help="Settings of this installation (the public address), stored in its database.",
                      invoke_without_command=True)


def _show_config() -> None:
    from .settings import base_url_source, loopback_warning, public_base_url

    url = public_base_url()
    click.echo(f"base_url\t{url}\t({base_url_source()})")
    click.echo(f"database\t{_masked(current_app.config['SQLALCHEMY_DATABASE_URI'])}")
    click.echo(f"instance\t{current_app.instance_path}")
    warning = loopback_warning(url)
    if warning:
        click.echo("WARNING: the public address is a loopback address: phones cannot reach it; "
                   "set it with: flask --app survey config set-base-url https://...", err=True)


def _masked(url: str) -> str:
    """A database URL without its password."""
    import re

    return re.sub(r"(://[^:/@]+:)[^@]+@", r"\1***@", url)


config_cli.callback = click.pass_context(lambda ctx: _show_config() if ctx.invoked_subcommand is None else None)


@config_cli.command("show")
def config_show() -> None:
    """The public address and where it comes from, the database, the instance folder."""
    _show_config()


@config_cli.command("set-base-url")
@click.argument("url")
@click.option("--if-unset", is_flag=True,
              help="store it only when no address is stored yet (make run: the address it prints is the one kept)")
@refusals
def config_set_base_url(url: str, if_unset: bool) -> None:
    """Store the public address that codes, slips and QR point at (e.g. https://pingyi.example.edu.cn)."""
    from .settings import BASE_URL_KEY, loopback_warning, set_base_url, stored

    if if_unset and stored(BASE_URL_KEY):
        click.echo(f"base_url\t{stored(BASE_URL_KEY)}\t(stored setting, kept)")
        return
    with unit_of_work():
        stored = set_base_url(url)
    click.echo(f"base_url\t{stored}")
    if loopback_warning(stored):
        click.echo("WARNING: this is a loopback address: phones cannot reach it", err=True)


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
    from .ballotbox.keygen import make_key, report, write_files

    try:
        made = make_key(out, round_slug=round_slug, round_title=title, shares=shares)
        write_files(made.files)
    except (OSError, ValueError, RuntimeError) as exc:  # a file in the way, or a sheet that did not read back
        raise click.ClickException(f"{exc}; no key was written") from None
    report(made, click.echo)


def register(app: Flask) -> None:
    from .auth.cli import audit_cli, users_cli
    from .backup.cli import backup_command, restore_command

    for command in (rounds_cli, codes_cli, org_cli, qr_command, export_command, score_command, demo_command,
                    users_cli, audit_cli, config_cli, ballot_box_cli, backup_command, restore_command):
        app.cli.add_command(command)
