"""The database connections: SQLite in WAL mode with foreign keys on and writers queueing;
PostgreSQL reading a ballot page outside a transaction."""

from __future__ import annotations

import pytest
from sqlalchemy import text


def test_sqlite_runs_in_wal_mode_with_foreign_keys(app) -> None:  # noqa: ANN001
    from survey.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite pragmas")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_a_ballot_page_get_reads_outside_a_transaction_on_postgresql(app, client, make_round, spec) -> None:  # noqa: ANN001
    """The questionnaire's GET only reads: no BEGIN/ROLLBACK round trips around its query. The
    POST's statements run in one transaction, and the connection goes back to the pool as it
    came (not autocommit)."""
    from sqlalchemy import event

    from survey.extensions import db

    from .conftest import page_tokens

    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL transactions")
    make_round(spec)
    assert client.get("/r/r2012/students").status_code == 200  # the once-per-process key check
    seen: list[tuple[str, bool]] = []

    def record(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        seen.append((statement.split()[0], conn.connection.driver_connection.autocommit))

    db.session.remove()
    event.listen(db.engine, "before_cursor_execute", record)
    try:
        page = client.get("/r/r2012/students")
        assert page.status_code == 200
        reads = list(seen)
        seen.clear()
        response = client.post("/r/r2012/students", data={"confirm_partial": "1", **page_tokens(page.get_data(as_text=True)),
                                                              "a:B01:service": "satisfied"})
        assert response.status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert reads and all(autocommit for _, autocommit in reads), reads
    assert any(verb in ("INSERT", "WITH") for verb, _ in seen) and not any(autocommit for _, autocommit in seen), seen
    with db.engine.connect() as conn:
        assert conn.connection.driver_connection.autocommit is False
