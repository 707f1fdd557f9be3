"""``flask --app survey config ...``: the installation's settings (the public address), as the console's
settings page shows them."""

from __future__ import annotations

import re

import click
from flask import current_app
from flask.cli import AppGroup

from ..commands import refusals
from ..database import unit_of_work
from ..settings import BASE_URL_KEY, base_url_source, loopback_warning, public_base_url, set_base_url, stored

config_cli = AppGroup("config", help="Settings of this installation (the public address), stored in its database.",
                      invoke_without_command=True)


def _show_config() -> None:

    url = public_base_url()
    click.echo(f"base_url\t{url}\t({base_url_source()})")
    click.echo(f"database\t{masked_url(current_app.config['SQLALCHEMY_DATABASE_URI'])}")
    click.echo(f"instance\t{current_app.instance_path}")
    warning = loopback_warning(url)
    if warning:
        click.echo("WARNING: the public address is a loopback address: phones cannot reach it; "
                   "set it with: flask --app survey config set-base-url https://...", err=True)


def masked_url(url: str) -> str:
    """A database URL without its password."""
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
    if if_unset and stored(BASE_URL_KEY):
        click.echo(f"base_url\t{stored(BASE_URL_KEY)}\t(stored setting, kept)")
        return
    with unit_of_work():
        kept = set_base_url(url)
    click.echo(f"base_url\t{kept}")
    if loopback_warning(kept):
        click.echo("WARNING: this is a loopback address: phones cannot reach it", err=True)
