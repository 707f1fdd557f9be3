"""The schema comes only from the Alembic migrations: one head, and an empty database upgrades."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from survey.models import Base

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def test_there_is_a_single_head() -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    assert len(script.get_heads()) == 1


def test_an_empty_database_upgrades_to_every_model_table(app) -> None:  # noqa: ANN001
    """The app fixture's database was built by ``flask db upgrade`` from nothing."""
    from survey.extensions import db

    tables = set(sa.inspect(db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables


def test_the_migrations_match_the_models(app) -> None:  # noqa: ANN001
    """Autogenerate finds nothing to add: no model change is missing its migration."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from survey.extensions import db

    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
