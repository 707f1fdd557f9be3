"""Database plumbing: SQLite pragmas, and the one place a unit of work is committed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    """WAL lets phones read while one writes; busy_timeout makes writers queue instead of fail."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@contextmanager
def unit_of_work() -> Iterator[None]:
    """Commit what the block did, or roll all of it back: services only flush, this commits.

    Every request handler and CLI command that changes data runs its services inside one of
    these, so a failure half-way stores nothing.
    """
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
