"""Database plumbing: SQLite pragmas, and the one place a unit of work is committed."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import g
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db

#: how long a SQLite writer waits for the write lock before giving up, as busy_timeout does
WRITE_LOCK_WAIT = 10.0


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


@contextmanager
def write_unit_of_work() -> Iterator[None]:
    """``unit_of_work`` for one short write, such as a ballot, that takes the write lock first.

    On SQLite the transaction starts with ``BEGIN IMMEDIATE``, retried every fraction of a
    millisecond while another process holds the lock. SQLite's own busy handler sleeps 1, 2,
    5, 10... ms between tries while a ballot holds the lock for a third of one, so workers
    slept while the lock was free; and a transaction that reads before it writes can be
    refused outright when another commits in between. Reads done earlier in the request need
    no transaction of their own (pysqlite opens none for a SELECT). Other databases lock rows
    as they go: there this is ``unit_of_work``.
    """
    if db.engine.dialect.name == "sqlite":
        _begin_immediate()
    with unit_of_work():
        yield


def _begin_immediate() -> None:
    driver = db.session.connection().connection.driver_connection
    if driver.in_transaction:  # something already wrote: its transaction already holds the lock
        return
    driver.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + WRITE_LOCK_WAIT
        while True:
            try:
                driver.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(random.uniform(0.0001, 0.0004))
    finally:
        driver.execute("PRAGMA busy_timeout=10000")


def read_without_transaction() -> None:
    """For a request that only reads (a ballot page's GET): on PostgreSQL its queries run
    outside a transaction, which spares the BEGIN and ROLLBACK round trips around them.

    Call it before the request's first query (a session already in a transaction is left as
    it is); ``end_read_without_transaction`` hands the connection back at the request's end.
    """
    if db.engine.dialect.name == "postgresql" and not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        g.survey_read_only = True


def end_read_without_transaction() -> None:
    """Return the connection ``read_without_transaction`` took (its isolation level is reset
    on the way back to the pool), so that nothing after the request writes without a
    transaction."""
    if g.pop("survey_read_only", False):
        db.session.rollback()
