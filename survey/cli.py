"""The ``flask --app survey ...`` commands (README, "Running a real round"): each feature package
keeps its own in its ``cli.py``, beside its ``console.py``; this module only registers them."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from .auth.cli import audit_cli, users_cli
    from .backup.cli import backup_command, restore_command
    from .ballotbox.cli import ballot_box_cli
    from .codes.cli import codes_cli, qr_command
    from .console.cli import config_cli
    from .demo_cli import demo_command
    from .export.cli import export_command
    from .org.cli import org_cli
    from .rounds.cli import rounds_cli
    from .scorecard.cli import score_command

    for command in (rounds_cli, codes_cli, org_cli, qr_command, export_command, score_command, demo_command,
                    users_cli, audit_cli, config_cli, ballot_box_cli, backup_command, restore_command):
        app.cli.add_command(command)
