"""Counters kept once for the whole installation, in the database (table ``limit_counts``).

Failed code lookups, open-link ballots and failed sign-ins per client, and ballots arriving
per group and minute, are counted here rather than in a process's memory: more gunicorn
workers, more app servers, a restart or a worker killed by its timeout neither multiply nor
reset a limit.

What is stored, and what is not:

* a client appears only as ``client_key(...)``: an HMAC under a key derived from the app's
  ``SECRET_KEY``, never its address in clear;
* a count is per time bucket (a sixth of its window), and the row is deleted once the bucket no
  longer counts (``prune``, run by the counting itself at most every ``PRUNE_EVERY`` seconds);
* every statement here runs on a connection and in a transaction of its own, never in the
  request's session: never in a ballot's transaction, whose id (PostgreSQL's ``xmin``) would
  otherwise be shared by the ballot and its client's counter.

A window of ``seconds`` with a ``limit`` holds: in any span of ``seconds`` seconds, at most
``limit`` events are counted. A count covers the bucket in progress and the six before it
(seven buckets, at most ``seconds`` plus one bucket), which every such span fits in.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache

from flask import current_app
from sqlalchemy import Connection, bindparam, text

from . import clock
from .extensions import db

#: seconds between two deletions of expired rows by one process
PRUNE_EVERY = 10.0
#: how long a SQLite writer waits for the write lock, as the ballot's own transaction does
WRITE_LOCK_WAIT = 10.0
#: buckets per window
BUCKETS = 6


@dataclass(frozen=True)
class Window:
    """At most ``limit`` events in any ``seconds`` seconds."""

    seconds: int
    limit: int

    @property
    def bucket(self) -> int:
        return max(1, int(self.seconds) // BUCKETS)


@dataclass(frozen=True)
class Slot:
    """Where one event was counted: enough to give it back."""

    kind: str
    key: str
    start: int


def client_key(*parts: object) -> str:
    """A keyed hash of a client (and of what it is counted against: an account, a group).

    Without the app's secret nobody can tell which address a row is about, nor test a guessed
    one against it."""
    message = "\x00".join(str(p) for p in parts).encode("utf-8")
    return hmac.new(_hash_key(current_app.config["SECRET_KEY"]), message, hashlib.sha256).hexdigest()[:32]


@lru_cache(maxsize=8)
def _hash_key(secret: str) -> bytes:
    return hmac.new(str(secret).encode("utf-8"), b"survey limit counters", hashlib.sha256).digest()


def _bucket_start(now: float, bucket: int) -> int:
    return int(now) - int(now) % bucket


def _since(now: float, window: Window) -> int:
    """Buckets starting after this moment count: the one in progress and the six before it."""
    return _bucket_start(now, window.bucket) - BUCKETS * window.bucket - 1


def _expires(start: int, window: Window) -> int:
    return start + (BUCKETS + 1) * window.bucket


# --- reading ------------------------------------------------------------------------------------


def total(kind: str, key: str, window: Window) -> int:
    """How many events ``key`` had within ``window``."""
    return totals([(kind, key)], window).get((kind, key), 0)


def totals(keys: Iterable[tuple[str, str]], window: Window) -> dict[tuple[str, str], int]:
    """The counts of several (kind, key) pairs that share one window, in one query."""
    keys = list(keys)
    if not keys:
        return {}
    now = clock.now()
    clauses = " OR ".join(f"(kind = :k{n} AND key = :h{n})" for n in range(len(keys)))
    params: dict[str, object] = {"since": _since(now, window)}
    for n, (kind, key) in enumerate(keys):
        params[f"k{n}"], params[f"h{n}"] = kind, key
    statement = text(f"SELECT kind, key, sum(count) FROM limit_counts WHERE ({clauses}) AND start > :since "
                     "GROUP BY kind, key")
    with _reading() as conn:
        rows = conn.execute(statement, params).all()
    if _prune_due(now):
        prune()
    return {(kind, key): int(n) for kind, key, n in rows}


def per_minute(kind: str, keys: list[str], minutes: int) -> dict[str, list[int]]:
    """Counts per minute of each key over the last ``minutes`` minutes, oldest first, the
    minute in progress last (for a kind counted in one-minute buckets)."""
    now = clock.now()
    current = _bucket_start(now, 60)
    first = current - (minutes - 1) * 60
    out = {key: [0] * minutes for key in keys}
    if not keys:
        return out
    statement = text("SELECT key, start, count FROM limit_counts WHERE kind = :kind AND key IN :keys "
                     "AND start >= :first AND start <= :current").bindparams(bindparam("keys", expanding=True))
    with _reading() as conn:
        for key, start, count in conn.execute(statement, {"kind": kind, "keys": keys, "first": first,
                                                           "current": current}):
            out[key][(int(start) - first) // 60] += int(count)
    return out


# --- counting -----------------------------------------------------------------------------------


def _upsert(prefix: str = "", source: str = "VALUES ({values})") -> str:
    """One more event in a bucket, its row created if need be. ``source`` may make the row come
    from another part of the statement (``SELECT {values} FROM taken``)."""
    values = (f"CAST(:{prefix}kind AS VARCHAR), CAST(:{prefix}key AS VARCHAR), CAST(:{prefix}start AS BIGINT), 1, "
              f"CAST(:{prefix}expires AS BIGINT)")
    return (f"INSERT INTO limit_counts (kind, key, start, count, expires) {source.format(values=values)} "
            "ON CONFLICT (kind, key, start) DO UPDATE SET count = limit_counts.count + 1")


#: one more event, only while the window holds fewer than the limit; a row back when counted.
#: Atomic on both databases: SQLite runs one writer at a time, and on PostgreSQL the bucket's
#: row is locked by the update, whose condition is checked against its latest version
_TAKE = (
    "INSERT INTO limit_counts (kind, key, start, count, expires) "
    "SELECT CAST(:kind AS VARCHAR), CAST(:key AS VARCHAR), CAST(:start AS BIGINT), 1, CAST(:expires AS BIGINT) "
    "WHERE (SELECT coalesce(sum(count), 0) FROM limit_counts "
    "WHERE kind = :kind AND key = :key AND start > :since) < :limit "
    "ON CONFLICT (kind, key, start) DO UPDATE SET count = limit_counts.count + 1 "
    "WHERE limit_counts.count + (SELECT coalesce(sum(c.count), 0) FROM limit_counts c "
    "WHERE c.kind = :kind AND c.key = :key AND c.start > :since AND c.start < :start) < :limit "
    "RETURNING count"
)


def _event(kind: str, key: str, window: Window, now: float, prefix: str = "") -> dict[str, object]:
    start = _bucket_start(now, window.bucket)
    return {f"{prefix}kind": kind, f"{prefix}key": key, f"{prefix}start": start,
            f"{prefix}expires": _expires(start, window)}


def add(kind: str, key: str, window: Window) -> Slot:
    """Count one event, whatever the count already is."""
    return add_all([(kind, key, window)])[0]


def add_all(events: list[tuple[str, str, Window]]) -> list[Slot]:
    """Count one event for each (kind, key), in one transaction."""
    now = clock.now()
    slots = []
    with _writing(now) as conn:
        for kind, key, window in events:
            params = _event(kind, key, window, now)
            conn.execute(text(_upsert()), params)
            slots.append(Slot(kind, key, int(params["start"])))
    return slots


def take(kind: str, key: str, window: Window, *, also: Iterable[tuple[str, str, Window]] = ()) -> list[Slot] | None:
    """Count one event if the window holds fewer than its limit, and then the ``also`` events
    (counted whatever their count): where they were counted, for ``give_back``; None, with
    nothing counted, when the window is full."""
    now = clock.now()
    params = _event(kind, key, window, now)
    params.update(since=_since(now, window), limit=window.limit)
    extra = list(also)
    slots = [Slot(kind, key, int(params["start"]))]
    for n, (other_kind, other_key, other_window) in enumerate(extra):
        params.update(_event(other_kind, other_key, other_window, now, prefix=f"a{n}_"))
        slots.append(Slot(other_kind, other_key, int(params[f"a{n}_start"])))
    with _writing(now) as conn:
        if conn.dialect.name == "postgresql":
            # one statement, one round trip: the ``also`` rows are inserted from the taken one
            parts = [f"taken AS ({_TAKE})"]
            parts += [f"also{n} AS ({_upsert(f'a{n}_', 'SELECT {values} FROM taken')})" for n in range(len(extra))]
            statement = text("WITH " + ", ".join(parts) + " SELECT count(*) FROM taken")
            return slots if conn.execute(statement, params).scalar_one() else None
        if conn.execute(text(_TAKE), params).first() is None:
            return None
        for n in range(len(extra)):
            conn.execute(text(_upsert(f"a{n}_")), params)
        return slots


def take_all(events: list[tuple[str, str, Window]]) -> list[Slot] | None:
    """Count one event for each (kind, key) if every one of their windows holds fewer than its
    limit; None, with nothing counted, when any is full. For sign-ins: checked and counted
    before the password is, so that simultaneous guesses cannot pass a limit together."""
    now = clock.now()
    slots = []
    with _writing(now) as conn:
        for kind, key, window in events:
            params = _event(kind, key, window, now)
            conn.execute(text(_upsert()), params)
            slots.append(Slot(kind, key, int(params["start"])))
        for kind, key, window in events:
            counted = conn.execute(
                text("SELECT coalesce(sum(count), 0) FROM limit_counts WHERE kind = :kind AND key = :key "
                     "AND start > :since"), {"kind": kind, "key": key, "since": _since(now, window)},
            ).scalar_one()
            if counted > window.limit:
                conn.rollback()
                return None
    return slots


def give_back(slots: Iterable[Slot]) -> None:
    """Uncount events counted by ``add``, ``take`` or ``take_all``: a sign-in that turned out
    right, a ballot that was not stored after all."""
    slots = list(slots)
    if not slots:
        return
    with _writing(clock.now()) as conn:
        for slot in slots:
            conn.execute(text("UPDATE limit_counts SET count = count - 1 "
                              "WHERE kind = :kind AND key = :key AND start = :start AND count > 0"),
                         {"kind": slot.kind, "key": slot.key, "start": slot.start})


def forget(kind: str, key: str) -> None:
    """Drop every count of ``key``."""
    with _writing(clock.now()) as conn:
        conn.execute(text("DELETE FROM limit_counts WHERE kind = :kind AND key = :key"), {"kind": kind, "key": key})


# --- pruning ------------------------------------------------------------------------------------


_last_prune = 0.0


def prune() -> int:
    """Delete the rows whose window has passed; how many went."""
    now = clock.now()
    with _writing(now) as conn:
        return _delete_expired(conn, now)


def _delete_expired(conn: Connection, now: float) -> int:
    global _last_prune
    _last_prune = now
    return conn.execute(text("DELETE FROM limit_counts WHERE expires <= :now"), {"now": int(now)}).rowcount


def _prune_due(now: float) -> bool:
    global _last_prune
    if now < _last_prune:  # the clock went back (a test's clock): count from here
        _last_prune = now
    return now - _last_prune >= PRUNE_EVERY


# --- connections --------------------------------------------------------------------------------


@contextmanager
def _reading() -> Iterator[Connection]:
    """A pooled connection of its own for one read, outside any transaction on PostgreSQL
    (no BEGIN and ROLLBACK round trips)."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@contextmanager
def _writing(now: float) -> Iterator[Connection]:
    """A pooled connection of its own and one short transaction on it, committed at the end
    (SQLite: begun with the write lock, as the ballot's own transaction is). Expired rows are
    deleted in it too, every ``PRUNE_EVERY`` seconds."""
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            _refuse_inside_a_write()
            _begin_immediate(conn)
        yield conn
        if conn.in_transaction():
            if _prune_due(now):
                _delete_expired(conn, now)
            conn.commit()


def _refuse_inside_a_write() -> None:
    """On SQLite a counter written while the request's own session holds the write lock would
    wait for that lock, held by the same thread, until it gave up: say so at once instead."""
    session = db.session()
    if session.in_transaction() and session.connection().connection.driver_connection.in_transaction:
        raise RuntimeError("survey.counters: count before or after the request's own write, not inside it")


def _begin_immediate(conn: Connection) -> None:
    """Take SQLite's write lock first, trying every fraction of a millisecond: SQLite's own
    busy handler sleeps milliseconds between tries while a ballot holds the lock for less."""
    driver = conn.connection.driver_connection
    if driver.in_transaction:
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
