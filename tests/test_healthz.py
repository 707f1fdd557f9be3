"""``GET /healthz``: what a load balancer asks each app server before sending it phones."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from survey import create_app

from .conftest import CODE_KEY, SECRET


def audit_entries() -> int:
    from survey.extensions import db
    from survey.models.accounts import AuditEntry

    db.session.rollback()
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))


def test_healthz_answers_ok_with_no_cookie_and_no_audit_entry(app: Flask, client: FlaskClient) -> None:
    before = audit_entries()

    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok\n"
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert audit_entries() == before


def unreachable_url(database_url: str, tmp_path: Path) -> str:
    """A database of the same kind that cannot be reached: a file in a folder that does not
    exist, or a PostgreSQL database that does not exist on the running server."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-folder' / 'survey.db'}"
    return url.set(database="no_such_database").render_as_string(hide_password=False)


def test_healthz_answers_503_when_the_database_cannot_be_reached(database_url: str, tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": unreachable_url(database_url, tmp_path), "SECRET_KEY": SECRET,
                      "CODE_KEY": CODE_KEY, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True})

    response = app.test_client().get("/healthz")

    assert response.status_code == 503
    assert response.get_data(as_text=True) == "database unavailable\n"
    assert "Set-Cookie" not in response.headers
    with app.app_context():
        from survey.extensions import db

        db.engine.dispose()


def test_healthz_answers_503_for_a_database_without_the_schema(tmp_path: Path) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "SECRET_KEY": SECRET,
                      "CODE_KEY": CODE_KEY, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True})

    assert app.test_client().get("/healthz").status_code == 503
    with app.app_context():
        from survey.extensions import db

        db.engine.dispose()


@pytest.mark.postgres
def test_healthz_turns_503_when_the_database_goes_away_under_a_running_app(
    pg_server, pg_template: str, tmp_path: Path  # noqa: ANN001
) -> None:
    admin = sa.create_engine(pg_server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE healthz_gone TEMPLATE {pg_template}"))
    app = create_app({"DATABASE_URL": pg_server.url_for("healthz_gone"), "SECRET_KEY": SECRET,
                      "CODE_KEY": CODE_KEY, "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True})
    client = app.test_client()
    try:
        assert client.get("/healthz").status_code == 200  # the app's pool now holds a connection

        with admin.connect() as conn:
            conn.execute(sa.text("DROP DATABASE healthz_gone WITH (FORCE)"))

        assert client.get("/healthz").status_code == 503
    finally:
        with app.app_context():
            from survey.extensions import db

            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text("DROP DATABASE IF EXISTS healthz_gone WITH (FORCE)"))
        admin.dispose()
