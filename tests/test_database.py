"""The embedded SQLite database runs in WAL mode with foreign keys on and writers queueing."""

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
