"""Database plumbing: SQLite pragmas, and the one place a unit of work is committed."""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote

from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine

from .extensions import db
from .wal import (
    INLINE_WAIT, RETRY_AFTER, empty_and_stamp, log_holds_data, presence, sweeper, waiting_connections,
)

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


def sqlite_file() -> str | None:
    """The SQLite database's file, or None (another database, or one in memory)."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        return None
    path = engine.url.database or ""
    if path.startswith("file:"):  # a URI filename (``?uri=true``)
        if "mode=memory" in path:
            return None
        path = unquote(path[5:].split("?", 1)[0])
    return path if path and path != ":memory:" else None


def ballot_request_started() -> None:
    """A request for the ballot pages begins (see ``ballot_request_ended``)."""
    path = sqlite_file()
    if path is not None:
        presence.enter(path)
        g.survey_wal_path = path


def ballot_request_ended(error: BaseException | None = None) -> None:
    """Before its page is sent, see that SQLite's ``-wal`` file is emptied of ballots: now
    when the server has no other ballot request in progress or waiting (or ``WAL_SWEEP_MS`` is
    0), else within ``WAL_SWEEP_MS`` by this worker's sweeper, unless the last of the others
    does it first. So the log keeps no history of which code, receipt and ballot went in one
    commit (``survey.wal``). Never fails: the ballot is stored, its receipt must be shown."""
    path = g.pop("survey_wal_path", None)
    if path is None:
        return
    delay = RETRY_AFTER
    try:
        alone = presence.leave(path) and not waiting_connections()
        if not log_holds_data(path):
            return
        delay = current_app.config["WAL_SWEEP_MS"] / 1000
        if alone or delay <= 0:
            db.session.close()  # nothing of this request may hold a read snapshot in the log
            with db.engine.connect() as conn:
                if empty_and_stamp(conn.connection.driver_connection, path, wait=INLINE_WAIT):
                    return
            delay = RETRY_AFTER  # a reader kept it out: the sweeper tries again soon
    except Exception:  # noqa: BLE001
        current_app.logger.exception("emptying the write-ahead log failed; the sweeper tries again")
        delay = RETRY_AFTER
    sweeper.after_commit(path, delay)


def empty_wal_at_start(app: object) -> None:
    """Empty the log a worker killed outright (no exit handlers) may have left holding the
    ballots of its last milliseconds (gunicorn.conf.py calls this when a worker starts, for
    whatever app it serves: anything but this service's app is left alone)."""
    if not isinstance(app, Flask) or "sqlalchemy" not in app.extensions:
        return
    with app.app_context():
        path = sqlite_file()
        if path is not None and log_holds_data(path):
            sweeper.after_commit(path, 0)
