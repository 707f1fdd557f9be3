"""Attacks on storage: casting order read back from the database, its files and its logs.

Each test casts ballots with known codes in a known order, as the organizer who handed out the
slips would know them, then tries to line the stored ballots up with that order through
PostgreSQL's ``xmin`` and ``ctid``, plain row order, byte positions in the data files, the old
files of dropped tables, and SQLite's write-ahead log replayed commit by commit.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import struct
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from survey.codes.services import hash_code

from .anonymity_attacks import cast_in_order, casting_index_by_ballot, follows_casting

CONTENT_TABLES = ("ballots", "answers", "comments", "receipts")


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
    """The data files of the ballot tables, their indexes and TOAST tables."""
    paths = conn.scalars(sa.text(
        "SELECT pg_relation_filepath(c.oid) FROM pg_class c WHERE c.oid IN ("
        " SELECT t.oid FROM pg_class t WHERE t.relname = ANY(:names)"
        " UNION SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid WHERE t.relname = ANY(:names)"
        " UNION SELECT t.reltoastrelid FROM pg_class t WHERE t.relname = ANY(:names) AND t.reltoastrelid <> 0)"
    ), {"names": list(CONTENT_TABLES)})
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
            assert len(set().union(*stamps.values())) == 1, "one transaction wrote every ballot-side row"


def test_postgresql_leaves_no_old_file_and_no_old_copy_after_close(app, runner, cast_40, request) -> None:  # noqa: ANN001
    """The files of the tables written while the round was open go; the new comments file holds
    each comment once."""
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


def test_a_reshuffle_while_open_breaks_the_order_of_ballots_cast_before_it(app, runner, cast_40) -> None:  # noqa: ANN001
    from survey.extensions import db

    _, receipts = cast_40
    result = runner.invoke(args=["rounds", "reseal"])
    assert result.exit_code == 0, result.output
    with db.engine.connect() as conn:
        for name, order in physical_orders(conn, receipts).items():
            assert not follows_casting(order), f"{name} follow the order of casting: {order}"
        if dialect() == "postgresql":
            assert len(set().union(*xmins(conn).values())) == 1


def schema_names(conn: sa.Connection) -> dict[str, object]:
    inspector = sa.inspect(conn)
    names: dict[str, object] = {}
    for table in (*CONTENT_TABLES, "ballot_codes"):
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
            for table in CONTENT_TABLES:
                with pytest.raises(sa.exc.OperationalError):
                    conn.execute(sa.text(f"SELECT rowid FROM {table}"))
    db.session.remove()
    upgrade()
    downgrade(revision="-1")
    upgrade()
    with db.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


# --- SQLite's write-ahead log ----------------------------------------------------------------


def wal_states(db_bytes: bytes, wal_bytes: bytes) -> list[bytes]:
    """The database as it stood after each commit the log holds (SQLite's own recovery rule:
    frames count while their salt matches the log header's)."""
    if len(wal_bytes) < 32:
        return []
    page_size = struct.unpack(">I", wal_bytes[8:12])[0]
    salt = wal_bytes[16:24]
    state = bytearray(db_bytes)
    states = []
    offset = 32
    while offset + 24 + page_size <= len(wal_bytes):
        header = wal_bytes[offset:offset + 24]
        if header[8:16] != salt:
            break
        page_no, commit_size = struct.unpack(">II", header[:8])
        page = wal_bytes[offset + 24:offset + 24 + page_size]
        end = page_no * page_size
        if len(state) < end:
            state.extend(b"\0" * (end - len(state)))
        state[end - page_size:end] = page
        if commit_size:
            del state[commit_size * page_size:]
            states.append(bytes(state))
        offset += 24 + page_size
    return states


def read_state(image: bytes, folder: Path, n: int) -> tuple[set[str], set[str]]:
    """(code hashes, ballot ids) of one database image."""
    path = folder / f"state{n}.db"
    path.write_bytes(image[:18] + b"\x01\x01" + image[20:])  # a rollback-journal file: no -wal wanted
    with sqlite3.connect(path) as conn:
        codes = {r[0] for r in conn.execute("SELECT code_hash FROM ballot_codes")}
        ballots = {r[0] for r in conn.execute("SELECT id FROM ballots")}
    return codes, ballots


def link_through_wal(db_path: Path, folder: Path, codes: list[str]) -> dict[str, str]:
    """The attack: replay the log commit by commit; a commit that removes one code row and adds
    one ballot joins them. Returns code → ballot id."""
    wal = Path(f"{db_path}-wal")
    db_bytes = db_path.read_bytes()
    wal_bytes = wal.read_bytes() if wal.exists() else b""
    by_hash = {hash_code(c): c for c in codes}
    previous = read_state(db_bytes, folder, 0)
    links = {}
    for n, image in enumerate(wal_states(db_bytes, wal_bytes), start=1):
        current = read_state(image, folder, n)
        gone, new = previous[0] - current[0], current[1] - previous[1]
        if len(gone) == 1 and len(new) == 1 and next(iter(gone)) in by_hash:
            links[by_hash[next(iter(gone))]] = next(iter(new))
        previous = current
    return links


def copy_database(db_path: Path, folder: Path) -> Path:
    """A copy of the database and its ``-wal`` as they are on disk now."""
    folder.mkdir()
    shutil.copy(db_path, folder / "survey.db")
    if Path(f"{db_path}-wal").exists():
        shutil.copy(f"{db_path}-wal", folder / "survey.db-wal")
    return folder / "survey.db"


@pytest.mark.parametrize("sweep_ms", [20, 0], ids=["default", "each-ballot"])
def test_sqlite_write_ahead_log_replayed_commit_by_commit_links_no_code(  # noqa: ANN201
    app, make_round, issue_codes, tmp_path, sweep_ms  # noqa: ANN001
):
    """Copies of the database and its ``-wal`` taken the moment each receipt arrives, as a
    backup or a curious administrator could take them, replayed commit by commit. One person
    at a time: the log is emptied before the receipt is sent."""
    from survey.extensions import db

    if dialect() != "sqlite":
        pytest.skip("SQLite's -wal file")
    app.config["WAL_SWEEP_MS"] = sweep_ms
    db_path = Path(db.engine.url.database)
    round_ = make_round()
    codes = issue_codes(round_, "staff", 8)
    links: dict[str, str] = {}
    for n, code in enumerate(codes):
        cast_in_order(app, [code])
        assert Path(f"{db_path}-wal").stat().st_size == 0
        links.update(link_through_wal(copy_database(db_path, tmp_path / f"copy{n}"), tmp_path / f"copy{n}", codes))
    assert links == {}, f"{len(links)} of {len(codes)} codes joined to their ballots through the -wal file"


def wait_for_sweeps(sweeper, seconds: float = 5.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while sweeper.pending():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def test_sqlite_write_ahead_log_while_other_ballots_are_in_progress(app, make_round, issue_codes, tmp_path) -> None:  # noqa: ANN001
    """With another ballot request in progress (another worker, held here by its lock), a
    ballot leaves the emptying to the sweeper: within the window the log is empty again, and a
    copy then joins no code to its ballot."""
    import fcntl

    from survey.extensions import db
    from survey.wal import sweeper

    if dialect() != "sqlite":
        pytest.skip("SQLite's -wal file")
    db_path = Path(db.engine.url.database)
    round_ = make_round()
    codes = issue_codes(round_, "staff", 8)
    other = os.open(f"{db_path}-inflight", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(other, fcntl.LOCK_SH)  # another worker serving a ballot page
    try:
        cast_in_order(app, codes)
        assert Path(f"{db_path}-wal").stat().st_size > 0  # left to the sweeper
        assert wait_for_sweeps(sweeper)
    finally:
        os.close(other)
    assert Path(f"{db_path}-wal").stat().st_size == 0
    copy = copy_database(db_path, tmp_path / "copy")
    assert link_through_wal(copy, copy.parent, codes) == {}


def test_a_failed_emptying_still_shows_the_receipt_and_the_sweeper_empties_the_log(  # noqa: ANN201
    app, make_round, issue_codes, monkeypatch  # noqa: ANN001
):
    """The ballot is stored before the log is emptied: an error there must not turn the
    receipt into an error page, and the log is emptied later all the same."""
    import survey.database as database
    from survey.extensions import db
    from survey.wal import sweeper

    if dialect() != "sqlite":
        pytest.skip("SQLite's -wal file")

    def broken(conn, path, wait=None) -> bool:  # noqa: ANN001
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(database, "empty_and_stamp", broken)
    db_path = Path(db.engine.url.database)
    round_ = make_round()
    codes = issue_codes(round_, "staff", 2)
    receipts = cast_in_order(app, codes)  # asserts 200 and a receipt for each
    assert len(receipts) == 2
    assert wait_for_sweeps(sweeper)
    assert Path(f"{db_path}-wal").stat().st_size == 0


def test_a_worker_starting_empties_a_log_left_behind(app, make_round, issue_codes) -> None:  # noqa: ANN001
    """A worker killed outright inside a window leaves ballots in the log: the next worker
    to start empties it (gunicorn.conf.py's post_worker_init)."""
    from survey.database import empty_wal_at_start
    from survey.extensions import db
    from survey.wal import sweeper

    if dialect() != "sqlite":
        pytest.skip("SQLite's -wal file")
    db_path = Path(db.engine.url.database)
    round_ = make_round()
    issue_codes(round_, "staff", 3)  # a commit: the log holds it
    db.session.remove()
    assert Path(f"{db_path}-wal").stat().st_size > 0
    empty_wal_at_start(app)
    assert wait_for_sweeps(sweeper)
    assert Path(f"{db_path}-wal").stat().st_size == 0


def test_sqlite_write_ahead_log_under_the_shipped_gunicorn_configuration(app, make_round, issue_codes, tmp_path) -> None:  # noqa: ANN001
    """Ballots cast one after another over HTTP against gunicorn with the shipped
    configuration (two workers); a copy of the files taken as each receipt arrives."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    from survey.extensions import db

    from .anonymity_attacks import pattern_answers
    from .conftest import page_tokens
    from .test_anonymity_logs import free_port, gunicorn_env, start_gunicorn, wait_for

    if dialect() != "sqlite":
        pytest.skip("SQLite's -wal file")
    db_path = Path(db.engine.url.database)
    round_ = make_round()
    codes = issue_codes(round_, "staff", 6)
    db.session.remove()
    db.engine.dispose()
    port = free_port()
    server = start_gunicorn({**gunicorn_env(app.config["DATABASE_URL"], port), "SURVEY_WORKERS": "2"},
                            tmp_path / "gunicorn.log")
    links: dict[str, str] = {}
    try:
        wait_for(port, server)
        for n, code in enumerate(codes):
            phone = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
            url = f"http://127.0.0.1:{port}/b/{code}"
            page = phone.open(url, timeout=10).read().decode()
            form = urllib.parse.urlencode({**page_tokens(page), **pattern_answers(n)}).encode()
            receipt = phone.open(url, data=form, timeout=10).read().decode()
            assert "回执" in receipt, receipt[-400:]
            copy = copy_database(db_path, tmp_path / f"copy{n}")
            links.update(link_through_wal(copy, copy.parent, codes))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert links == {}, f"{len(links)} of {len(codes)} codes joined to their ballots through the -wal file"


# --- slip order ----------------------------------------------------------------------------------


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
            assert stamps["receipts"] == stamps["ballots"] and len(stamps["ballots"]) == 1


def test_what_remains_readable_while_open_is_the_ballots_since_the_last_reseal(app, runner, make_round, issue_codes) -> None:  # noqa: ANN001
    """The limit docs/anonymity.md states, measured: after a reseal, only the ballots cast since
    carry a stamp (PostgreSQL) of their own; the ones before share one."""
    from survey.extensions import db

    if dialect() != "postgresql":
        pytest.skip("xmin is PostgreSQL's")
    round_ = make_round()
    codes = issue_codes(round_, "staff", 25)
    cast_in_order(app, codes[:20])
    assert runner.invoke(args=["rounds", "reseal"]).exit_code == 0
    cast_in_order(app, codes[20:])
    with db.engine.connect() as conn:
        stamps = list(conn.scalars(sa.text("SELECT xmin::text FROM ballots")))
    assert len(stamps) == 25 and len(set(stamps)) == 1 + 5


def test_ballots_cast_during_a_reseal_are_neither_lost_nor_refused(app, runner, make_round, issue_codes) -> None:  # noqa: ANN001
    import threading

    from survey.extensions import db

    round_ = make_round()
    codes = issue_codes(round_, "staff", 24)
    batches = [codes[n::4] for n in range(4)]
    errors: list[BaseException] = []
    start = threading.Barrier(5)

    def phone(batch: list[str]) -> None:
        start.wait()
        try:
            cast_in_order(app, batch, comments=False)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=phone, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    start.wait()
    for _ in range(3):
        result = runner.invoke(args=["rounds", "reseal"])
        assert result.exit_code == 0, result.output
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    db.session.rollback()
    with db.engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM ballots")) == 24
        assert conn.scalar(sa.text("SELECT count(*) FROM receipts")) == 24
        assert conn.scalar(sa.text("SELECT count(*) FROM ballot_codes")) == 0
        assert conn.scalar(sa.text("SELECT count(DISTINCT ballot_id) FROM answers")) == 24


def test_the_worker_start_hook_leaves_other_apps_alone(tmp_path) -> None:  # noqa: ANN001
    """gunicorn.conf.py may serve another app (the benchmark's bare one does): its workers
    must still boot."""
    from flask import Flask

    from survey.database import empty_wal_at_start

    empty_wal_at_start(Flask("bare"))
    empty_wal_at_start(lambda environ, start_response: [])
