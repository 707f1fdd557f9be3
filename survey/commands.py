"""What every ``flask --app survey`` command shares: refusals as one-line errors and non-zero
exits, and the round a command names. Each feature package keeps its commands in its own
``cli.py``; ``survey.cli`` registers them.

Each command that changes data runs inside one ``unit_of_work``: it stores all or nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from .errors import ServiceError

if TYPE_CHECKING:
    from .models import Round


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
            raise click.ClickException(f"{as_typed(exc.filename) or 'file'}: {exc.strerror or exc}") from None
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


def as_typed(filename: object) -> str | None:
    """The file the user named, not the temporary sibling it is written through
    (``out/.codes.csv.1a2b3c4d.tmp`` → ``out/codes.csv``)."""
    if filename is None:
        return None
    import re

    return re.sub(r"(^|/)\.([^/]+?)(\.[0-9a-f]{8})?\.tmp$", r"\1\2", str(filename))


def round_named(slug: str) -> Round:
    """The round called ``slug``; ``NotFound`` (a one-line refusal) when there is none."""
    from .rounds.services import get_round  # rounds.services imports the packages whose commands use this

    return get_round(slug)
