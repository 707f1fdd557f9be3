"""Attacks on storage after close: casting order read back from the database and its files.

Each test casts ballots with known codes in a known order, as the organizer who handed out the
slips would know them, closes the round, then tries to line the opened ballots up with that
order through PostgreSQL's ``xmin`` and ``ctid``, plain row order, and the old files of the
tables that held sealed rows and codes. (What can be read while the round is open is in
``test_sealed_box.py``: sealed rows only.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from survey.codes.services import hash_code

from .anonymity_attacks import cast_in_order, casting_index_by_ballot, follows_casting

CONTENT_TABLES = ("ballots", "answers", "comments", "receipts")
#: the tables a ballot's transaction wrote to while the round was open (besides receipts)
SEALED_TABLES = ("ballot_codes", "sealed_ballots")


def dialect() -> str:
    from survey.extensions import db

    return db.engine.dialect.name


def physical_orders(conn: sa.Connection, receipts: list[str]) -> dict[str, list[int]]:
    """Every order an attacker can read without an ORDER BY, as lists of casting places."""
    place = casting_index_by_ballot(conn)
    receipt_place = {r: n for n, r in enumerate(receipts)}
    comment_place = lambda text: int(text[2:5])  # noqa: E731  ("意见007号")
    orders = {
        "ballots": [place[b] for b in conn.scalars(sa.text("SELECT id FROM ballots"))],
        "receipts": [receipt_place[r] for r in conn.scalars(sa.text("SELECT receipt FROM receipts"))],
        "comments": [comment_place(t) for t in conn.scalars(sa.text("SELECT text FROM comments"))],
        "answers": list(dict.fromkeys(place[b] for b in conn.scalars(sa.text("SELECT ballot_id FROM answers")))),
    }
    if conn.dialect.name == "postgresql":
        orders["ballots by ctid"] = [place[b] for b in conn.scalars(sa.text("SELECT id FROM ballots ORDER BY ctid"))]
        orders["receipts by ctid"] = [
            receipt_place[r] for r in conn.scalars(sa.text("SELECT receipt FROM receipts ORDER BY ctid"))]
        orders["comments by ctid"] = [
            comment_place(t) for t in conn.scalars(sa.text("SELECT text FROM comments ORDER BY ctid"))]
        orders["ballots by xmin"] = [
            place[b] for b in conn.scalars(sa.text("SELECT id FROM ballots ORDER BY xmin::text::bigint, ctid"))]
    return orders


def xmins(conn: sa.Connection) -> dict[str, set[str]]:
    return {t: set(conn.scalars(sa.text(f"SELECT xmin::text FROM {t}"))) for t in CONTENT_TABLES}


def relation_files(conn: sa.Connection, datadir: Path) -> list[Path]:
    """The data files of the tables that held codes and sealed rows, their indexes and TOAST."""
    paths = conn.scalars(sa.text(
        "SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.oid IN ("
        " SELECT t.oid FROM pg_class t WHERE t.relname = ANY(:names)"
        " UNION SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY(:names)"
        " UNION SELECT t.reltoastrelid FROM pg_class t WHERE t.relname = ANY(:names) AND t.reltoastrelid <> 0)"
    ), {"names": list(SEALED_TABLES)})
    return [datadir / p for p in paths if p]


def close(runner) -> None:  # noqa: ANN001
    result = runner.invoke(args=["rounds", "close", "r2012"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def cast_40(app: Flask, make_round, issue_codes):  # noqa: ANN001, ANN201
    round_ = make_round()
    codes = issue_codes(round_, "staff", 40)
    return codes, cast_in_order(app, codes)


def test_after_close_no_order_or_stamp_follows_casting(app, runner, cast_40) -> None:  # noqa: ANN001
    from survey.extensions import db

    _, receipts = cast_40
    close(runner)
    with db.engine.connect() as conn:
        for name, order in physical_orders(conn, receipts).items():
            assert len(order) == 40, name
            assert not follows_casting(order), f"{name} follow the order of casting: {order}"
        if dialect() == "postgresql":
            stamps = xmins(conn)
            # the opened ballots in one chunk's transaction, the receipts in the close's last one
            assert len(set().union(*stamps.values())) <= 2, stamps
            assert len(stamps["ballots"] | stamps["answers"] | stamps["comments"]) == 1


def test_postgresql_leaves_no_old_file_and_no_old_copy_after_close(app, runner, cast_40, request) -> None:  # noqa: ANN001
    """The files of the tables that held codes and sealed rows while the round was open go (their
    deleted rows kept the casting transactions' ids); the comments file holds each comment once."""
    from survey.extensions import db

    if dialect() != "postgresql":
        pytest.skip("relation files are PostgreSQL's")
    datadir = request.getfixturevalue("pg_server").datadir
    with db.engine.connect() as conn:
        before = relation_files(conn, datadir)
    assert before and all(p.exists() for p in before)
    close(runner)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("CHECKPOINT"))
        after = relation_files(conn, datadir)
        comments_file = datadir / conn.scalar(sa.text("SELECT pg_relation_filepath('comments')"))
    assert not set(before) & set(after)
    leftovers = [p for p in before if p.exists() and p.stat().st_size > 0]
    assert leftovers == [], "files of the dropped tables still hold data"
    content = comments_file.read_bytes()
    for n in range(40):
        assert content.count(f"意见{n:03d}号".encode()) == 1, n


def schema_names(conn: sa.Connection) -> dict[str, object]:
    inspector = sa.inspect(conn)
    names: dict[str, object] = {}
    for table in (*CONTENT_TABLES, *SEALED_TABLES):
        names[table] = (
            inspector.get_pk_constraint(table)["name"] if conn.dialect.name == "postgresql" else None,
            sorted(i["name"] for i in inspector.get_indexes(table)),
            sorted(str(u["name"]) for u in inspector.get_unique_constraints(table)),
            sorted(str(f["name"]) for f in inspector.get_foreign_keys(table)),
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
        )
    return names


def test_migrations_still_run_after_a_close(app, runner, cast_40) -> None:  # noqa: ANN001
    """The rebuilt tables carry the names the migrations gave them: later migrations find them."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from flask_migrate import downgrade, upgrade

    from survey.extensions import db
    from survey.models import Base

    with db.engine.connect() as conn:
        fresh = schema_names(conn)
    close(runner)
    with db.engine.connect() as conn:
        assert schema_names(conn) == fresh
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        if conn.dialect.name == "sqlite":  # still WITHOUT ROWID: no rowid to betray arrival
            for table in (*CONTENT_TABLES, "sealed_ballots"):
                with pytest.raises(sa.exc.OperationalError):
                    conn.execute(sa.text(f"SELECT rowid FROM {table}"))
    db.session.remove()
    upgrade()
    downgrade(revision="-1")
    upgrade()
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_codes_are_stored_in_an_order_unrelated_to_the_slips(app, runner, make_round, tmp_path) -> None:  # noqa: ANN001
    """The CSV (and the printed slips) list codes in one order; neither the ids nor the storage
    order of ``ballot_codes`` may repeat it, or ``SELECT id`` tells which slips are unused."""
    import csv

    from survey.extensions import db

    make_round()
    out = tmp_path / "codes.csv"
    assert runner.invoke(args=["codes", "issue", "r2012", "--group", "staff", "--count", "40",
                               "--out", str(out)]).exit_code == 0
    with out.open(encoding="utf-8-sig") as fh:
        slip_place = {hash_code(row["code"]): n for n, row in enumerate(csv.DictReader(fh))}
    queries = {"by id": "SELECT code_hash FROM ballot_codes ORDER BY id",
               "plain": "SELECT code_hash FROM ballot_codes"}
    if dialect() == "postgresql":
        queries["by ctid"] = "SELECT code_hash FROM ballot_codes ORDER BY ctid"
    with db.engine.connect() as conn:
        for name, query in queries.items():
            order = [slip_place[h] for h in conn.scalars(sa.text(query))]
            assert len(order) == 40 and not follows_casting(order), f"codes {name} follow the slips: {order}"
        ids = list(conn.scalars(sa.text("SELECT id FROM ballot_codes")))
    assert min(ids) > 2**32, "ids are random 62-bit numbers, not a count"


# --- receipts -----------------------------------------------------------------------------------


def test_a_receipt_someone_was_shown_leads_to_no_ballot(app, runner, make_round, issue_codes) -> None:  # noqa: ANN001
    """A superior asks to see a teacher's receipt, then reads the database: the receipt's row
    shares nothing with any ballot, answer or comment but the round, and after close not even
    a transaction stamp or a position."""
    from survey.extensions import db

    round_ = make_round()
    codes = issue_codes(round_, "staff", 10)
    receipts = cast_in_order(app, codes)
    close(runner)
    meta = sa.MetaData()
    meta.reflect(bind=db.engine)
    with db.engine.connect() as conn:
        rows = {name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for name, t in meta.tables.items()}
        for receipt in receipts:
            holders = [(t, r) for t, table_rows in rows.items() for r in table_rows if receipt in r.values()]
            assert [t for t, _ in holders] == ["receipts"], receipt
            (_, row) = holders[0]
            others = {v for k, v in row.items() if k not in ("round_id", "receipt")}
            for table in ("ballots", "answers", "comments"):
                assert not any(others & set(r.values()) for r in rows[table]), (receipt, table)
        if conn.dialect.name == "postgresql":
            stamps = {t: set(conn.scalars(sa.text(f"SELECT xmin::text FROM {t}"))) for t in ("receipts", "ballots")}
            assert len(stamps["receipts"]) == 1 and len(stamps["ballots"]) == 1  # no casting transaction left
