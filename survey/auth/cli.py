"""``flask --app survey users ...`` and ``flask --app survey audit verify``.

A password never comes from the command line (it would sit in the shell history and in the
process list): it is read from a hidden prompt, asked twice, or with ``--password-stdin``
from the first line of standard input.
"""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from ..commands import refusals
from ..database import unit_of_work

users_cli = AppGroup("users", help="Console accounts: administrators, organizers, reviewers.")
audit_cli = AppGroup("audit", help="The audit log of what console users and commands did.")


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise click.ClickException("--password-stdin: the first line of standard input is empty")
        return password
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_cli.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["admin", "organizer", "reviewer"]), required=True)
@click.option("--rounds", default="", help="reviewers only: SLUG[,SLUG...] they may read")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
@refusals
def users_create(name: str, role: str, rounds: str, password_stdin: bool) -> None:
    """Create an account NAME."""
    from .services import check_password, create_user

    slugs = [s.strip() for s in rounds.split(",") if s.strip()]
    password = _read_password(password_stdin)
    check_password(password)
    with unit_of_work():
        user = create_user(name, role, password, slugs)
    extra = f", rounds {', '.join(slugs)}" if slugs else ""
    click.echo(f"{user.username}: {user.role} account created{extra}")


@users_cli.command("assign")
@click.argument("name")
@click.argument("slug")
@refusals
def users_assign(name: str, slug: str) -> None:
    """Give reviewer NAME one more round SLUG."""
    from .services import assign_round

    with unit_of_work():
        user = assign_round(name, slug)
    click.echo(f"{name}: rounds {', '.join(r.slug for r in user.rounds)}")


@users_cli.command("disable")
@click.argument("name")
@refusals
def users_disable(name: str) -> None:
    """NAME can no longer sign in; its open sessions end."""
    from .services import disable_user

    with unit_of_work():
        disable_user(name)
    click.echo(f"{name}: disabled; its open sessions have ended")


@users_cli.command("enable")
@click.argument("name")
@refusals
def users_enable(name: str) -> None:
    """NAME may sign in again."""
    from .services import enable_user

    with unit_of_work():
        enable_user(name)
    click.echo(f"{name}: enabled")


@users_cli.command("password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of standard input")
@refusals
def users_password(name: str, password_stdin: bool) -> None:
    """Set a new password for NAME; its open sessions end."""
    from .services import check_password, get_user, set_password

    get_user(name)
    password = _read_password(password_stdin)
    check_password(password)
    with unit_of_work():
        set_password(name, password)
    click.echo(f"{name}: password changed; its open sessions have ended")


@users_cli.command("list")
def users_list() -> None:
    """One line per account: name<TAB>role<TAB>active|disabled<TAB>rounds."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import User

    for user in db.session.scalars(select(User).order_by(User.username)):
        rounds = ",".join(r.slug for r in user.rounds)
        click.echo(f"{user.username}\t{user.role}\t{'active' if user.active else 'disabled'}\t{rounds}")


def _head_option(_ctx: click.Context, _param: click.Parameter, value: str | None):  # noqa: ANN202
    from .audit import Head

    if value is None:
        return None
    try:
        return Head.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


@audit_cli.command("verify")
@click.option("--head", "expected", metavar="COUNT:HASH", callback=_head_option,
              help="a head written down earlier (printed by rounds open/close/publish, in each export): "
                   "the log must still reach it, so newest entries removed are caught too")
def audit_verify(expected) -> None:  # noqa: ANN001
    """Recompute the keyed hash chain; exit 0 when whole, else 1 naming the first broken entry."""
    from .audit import head, verify_chain

    checked, broken = verify_chain(expected)
    if broken is not None:
        click.echo(str(broken), err=True)
        sys.exit(1)
    reached = f"; it reaches the head given ({expected})" if expected is not None else ""
    click.echo(f"audit log whole: {checked} entries, each chained to the one before under the audit key{reached}")
    click.echo(f"head now: {head()}")


@audit_cli.command("show")
@click.option("--last", type=int, default=50, help="how many of the latest entries")
def audit_show(last: int) -> None:
    """The latest entries: id, time (UTC), actor, action, round, details."""
    from sqlalchemy import select

    from ..extensions import db
    from ..models import AuditEntry

    rows = list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(last)))
    for e in reversed(rows):
        click.echo(f"{e.id}\t{e.at:%Y-%m-%d %H:%M:%S}\t{e.actor or ''}\t{e.action}\t{e.round_slug or ''}\t{e.detail}")
