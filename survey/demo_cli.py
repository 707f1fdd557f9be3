"""``flask --app survey demo``: the demo round of ``make run``, and its removal."""

from __future__ import annotations

import secrets
from pathlib import Path

import click
from flask import current_app
from sqlalchemy import func, select

from .auth import audit
from .auth.services import create_user
from .codes.services import issue_ballot_codes, open_url
from .config import private_files
from .database import unit_of_work
from .demo import demo_spec
from .export.services import write_csv
from .extensions import db
from .models import BallotCode, Round, User
from .qr import terminal_qr
from .rounds.services import import_round, move_round
from .settings import public_base_url


@click.command("demo")
@click.option("--quiet", is_flag=True, help="seed only, print nothing but errors")
@click.option("--remove", is_flag=True, help="delete the demo round, its ballots and the demo account")
def demo_command(quiet: bool, remove: bool) -> None:
    """Seed the demo round when the database has no round, open it, and print its links.

    Seeding also creates a demo organizer account and prints its sign-in once. Remove both
    with --remove before a real round (or keep the demo in a database of its own:
    SURVEY_DATABASE_URL=sqlite:///demo.db)."""
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

        with private_files():
            write_csv(seeded, ("code", "url"), ((c.code, c.url) for c in codes))

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

    return db.session.scalar(select(func.count()).select_from(User)) > 0


DEMO_USER = "demo"


def _demo_account() -> str | None:
    """A demo organizer with a random password, unless an account of that name exists."""

    if db.session.scalar(select(User.id).where(User.username == DEMO_USER)) is not None:
        return None
    password = secrets.token_urlsafe(9)
    create_user(DEMO_USER, "organizer", password)
    return password


def _remove_demo() -> None:

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
