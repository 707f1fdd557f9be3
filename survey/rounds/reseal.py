"""Rebuilding the tables of ballot content so that nothing in storage follows the order of
casting.

While a round is open, each ballot is written by a transaction of its own. PostgreSQL stamps
every row with that transaction's id (``xmin``), places it after the previous one (``ctid``,
plain ``SELECT`` order), and keeps the file; SQLite places a row's bytes within its page in
order of arrival. Anyone who knows in what order codes were used (a log, a poll of the code
pages) could line the two up.

``reseal_ballot_tables`` therefore copies every row of ``ballots``, ``answers``, ``comments``,
``receipts`` (and ``ballot_codes``) into new tables, in random order and under fresh random ids,
drops the old tables with their files, and gives the new ones the old names, all in one
transaction: every row then has the same ``xmin``, positions are random, and the old files are
gone (PostgreSQL truncates a dropped table's file at commit and unlinks it at the next
checkpoint; SQLite zeroes the freed pages with ``secure_delete``). Tables, constraints and
indexes are created from the models, whose names are the migrations' own (the naming convention
of ``models.base``; ``tests/test_migrations.py`` holds them equal), so later migrations find them.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from ..extensions import db
from ..models import Base

#: rebuilt in this order (parents first); dropped in the reverse one. PostgreSQL locks them in
#: this order too, the order in which a ballot's transaction takes them, so the two never
#: wait for each other in a circle
TABLES = ("ballot_codes", "ballots", "answers", "comments", "receipts")
#: the column that gets a fresh random id in each table (None: ids are kept)
FRESH_ID = {"ballots": "id", "answers": None, "comments": "id", "receipts": "id", "ballot_codes": None}


def reseal_ballot_tables() -> None:
    """Rebuild the ballot-content tables in random order under fresh ids, in the session's
    transaction (flushes; the caller's unit of work commits)."""
    db.session.flush()
    conn = db.session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.execute(text(f"LOCK TABLE {', '.join(TABLES)} IN ACCESS EXCLUSIVE MODE"))
        new_id = "replace(gen_random_uuid()::text, '-', '')"
        temp = "CREATE TEMPORARY TABLE {} ON COMMIT DROP AS "
    else:
        conn.execute(text("DELETE FROM ballots WHERE 0 = 1"))  # take SQLite's write lock first
        new_id = "lower(hex(randomblob(16)))"
        temp = "CREATE TEMPORARY TABLE {} AS "
    for name in TABLES:
        _stage(conn, name, temp.format(f"reseal_{name}"), new_id)
    for name in reversed(TABLES):
        conn.execute(text(f"DROP TABLE {name}"))
    for name in TABLES:
        Base.metadata.tables[name].create(conn)
        columns = ", ".join(c.name for c in Base.metadata.tables[name].columns)
        conn.execute(text(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM reseal_{name} ORDER BY random()"))
    if not postgres:
        for name in TABLES:
            conn.execute(text(f"DROP TABLE temp.reseal_{name}"))


def _stage(conn: Connection, name: str, create: str, new_id: str) -> None:
    table = Base.metadata.tables[name]
    if name == "answers":  # follow the ballots to their new ids
        select = ", ".join("b.id AS ballot_id" if c.name == "ballot_id" else f"a.{c.name}" for c in table.columns)
        conn.execute(text(f"{create}SELECT {select} FROM answers a JOIN reseal_ballots b ON b.old_id = a.ballot_id"))
        return
    fresh = FRESH_ID[name]
    select = ", ".join(f"{new_id} AS {c.name}" if c.name == fresh else c.name for c in table.columns)
    if name == "ballots":
        select += ", id AS old_id"
    conn.execute(text(f"{create}SELECT {select} FROM {name}"))
