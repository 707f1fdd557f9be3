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
    # freed space is zeroed: a deleted code row or a rebuilt table leaves no copy in the file
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.execute("PRAGMA journal_size_limit=0")
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


def truncate_wal() -> None:
    """On SQLite, copy the write-ahead log into the database and empty it, if no reader is
    in the way (it waits at most a moment, never fails).

    Called after each ballot: the ``-wal`` file would otherwise keep, commit by commit, which
    code row went in the same transaction as which ballot (replaying it joined 8 of 8). With
    ``secure_delete`` the database file then keeps no copy of the deleted code row either.
    """
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        driver.execute("PRAGMA busy_timeout=200")
        try:
            driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except Exception:  # noqa: BLE001  (busy: the next ballot's checkpoint takes it along)
            pass
        finally:
            driver.execute("PRAGMA busy_timeout=10000")
