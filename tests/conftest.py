"""Shared fixtures: an app on SQLite and on a real PostgreSQL server, its client and CLI runner,
and factories for rounds and ballots.

Every test that takes ``app`` runs once per database backend. The schema always comes from the
Alembic migrations: they are applied once per backend to a template, and each test gets a fresh
copy of it.
"""

from __future__ import annotations

import contextvars
import copy
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from survey import create_app

from .pg_server import PostgresServer, find_bindir, start_server

IN_CI = os.environ.get("CI", "").lower() == "true"
SECRET = "test-secret-key"
CODE_KEY = "test-code-key"
AUDIT_KEY = "test-audit-key"
BALLOT_BOX_KEY = "test-ballot-box-key"


def pytest_report_header(config: pytest.Config) -> str:
    if find_bindir() is None:
        return "postgresql: no initdb/pg_ctl on this machine: PostgreSQL tests will be SKIPPED"
    return f"postgresql: server binaries in {find_bindir()}"


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    if find_bindir() is None:
        if IN_CI:
            pytest.fail("CI=true but PostgreSQL server binaries are missing: .ci/run must install them")
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: skipping PostgreSQL tests")
    server = start_server()
    yield server
    server.stop()


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "CODE_KEY": CODE_KEY, "AUDIT_KEY": AUDIT_KEY,
                      "BALLOT_BOX_KEY": BALLOT_BOX_KEY, "TESTING": True})
    app.instance_path = str(instance)
    with app.app_context():
        upgrade()
        from survey.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    _migrate(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def pg_template(pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    engine = sa.create_engine(pg_server.url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE DATABASE survey_template"))
    engine.dispose()
    _migrate(pg_server.url_for("survey_template"), tmp_path_factory.mktemp("pg-instance"))
    return "survey_template"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database: a copy of the backend's template."""
    if request.param == "sqlite":
        path = tmp_path / "survey.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE {template}"))
    yield server.url_for(name)
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


class PhoneClient(FlaskClient):
    """A test client whose every request runs in a context of its own, as in a real server.

    The ``app`` fixture keeps an application context open for the test's own queries; without
    this, requests would reuse it and share ``g`` (where the CSRF token is cached) and the
    database session between different "phones".
    """

    def open(self, *args: Any, **kwargs: Any):  # noqa: ANN201
        return contextvars.Context().run(super().open, *args, **kwargs)


#: the settings of every test app; the reading-time check is off (a test posts at once) except
#: in the tests of that check, which set it and a clock of their own
TEST_CONFIG: dict[str, Any] = {
    "SECRET_KEY": SECRET,
    "CODE_KEY": CODE_KEY,
    "AUDIT_KEY": AUDIT_KEY,
    "BALLOT_BOX_KEY": BALLOT_BOX_KEY,
    "BASE_URL": "https://survey.example.edu.cn",
    "TESTING": True,
    "MIN_SECONDS_PER_QUESTION": 0,
}


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({**TEST_CONFIG, "DATABASE_URL": database_url})
    app.instance_path = str(tmp_path / "instance")
    app.test_client_class = PhoneClient
    Path(app.instance_path).mkdir(exist_ok=True)
    with app.app_context():
        yield app
        from survey.extensions import db

        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def second_app(app: Flask, database_url: str) -> Iterator[Flask]:
    """Another app instance on the same database: another gunicorn worker, or another machine."""
    other = create_app({**TEST_CONFIG, "DATABASE_URL": database_url, "INSTANCE_PATH": app.instance_path,
                        **_extra_config(app)})
    other.test_client_class = PhoneClient
    yield other
    with other.app_context():
        from survey.extensions import db

        db.session.remove()
        db.engine.dispose()


def _extra_config(app: Flask) -> dict[str, Any]:
    """What a test set on ``app`` before asking for ``second_app``, for both to share."""
    return {k: app.config[k] for k in ("MIN_SECONDS_PER_QUESTION", "TRUSTED_PROXIES")}


class Clock:
    """A wall clock that moves only when told: ``clock.advance(30)``."""

    def __init__(self, start: float) -> None:
        self.time = start

    def __call__(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Stops the service's clock (``survey.clock.now``): counters' windows and a page's age
    then depend on the test's steps, not on how fast the machine runs them. It starts at the
    beginning of a minute (2026-11-28 02:00:00 UTC)."""
    frozen = Clock(1_795_831_200.0)
    monkeypatch.setattr("survey.clock.now", frozen)
    return frozen


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


# --- round specs and factories -------------------------------------------------------------

BASE_SPEC: dict[str, Any] = {
    "slug": "r2012",
    "title": "2012年基层党组织群众评议",
    "year": 2012,
    "scale": "satisfaction3",
    "subjects": [
        {"code": "B01", "name": "计算机学院党总支", "commitment": "为师生办实事不少于3件"},
        {"code": "B02", "name": "机关党委"},
    ],
    "items": [
        {"key": "service", "text": "服务师生", "weight": 1},
        {"key": "conduct", "text": "工作作风", "weight": 2},
    ],
    "groups": [
        {"key": "staff", "name": "教职工", "weight": 0.5, "access": "codes", "expected": 10},
        {"key": "students", "name": "学生", "weight": 0.3, "access": "open", "expected": 200, "subjects": ["B01"]},
    ],
    "comments": True,
    "scheme": {"combine": {"organizational": 0.6, "public": 0.4}, "org_trim": 1, "min_group_responses": 1,
               "display_min": 1},
}


@pytest.fixture
def spec() -> dict[str, Any]:
    """A small round spec to change per test (a fresh copy each time)."""
    return copy.deepcopy(BASE_SPEC)


@pytest.fixture
def make_round(app: Flask):  # noqa: ANN201
    """``make_round(spec, status="open")`` → the stored Round, committed (opened with its
    ballot box in server custody, closed by opening it)."""
    from survey.database import unit_of_work
    from survey.rounds.services import close_round, get_round, import_round, move_round

    def make(spec: dict[str, Any] | None = None, status: str = "open"):  # noqa: ANN202
        with unit_of_work():
            round_ = import_round(copy.deepcopy(spec or BASE_SPEC))
            if status != "draft":
                move_round(round_, "open")
        if status in ("closed", "published"):
            close_round(round_)
            round_ = get_round(round_.slug)
        if status == "published":
            with unit_of_work():
                move_round(round_, "publish")
        return round_

    return make


@pytest.fixture
def close(app: Flask):  # noqa: ANN201
    """``close(round_)``: close an open round as ``rounds close`` does (its box opened), and
    hand back the round, reloaded."""
    from survey.rounds.services import close_round, get_round

    def shut(round_):  # noqa: ANN001, ANN202
        close_round(get_round(round_.slug))
        return get_round(round_.slug)

    return shut


@pytest.fixture
def issue_codes(app: Flask):  # noqa: ANN201
    """``issue_codes(round, "staff", 3)`` → the clear codes, committed."""
    from survey.codes.services import issue_ballot_codes
    from survey.database import unit_of_work

    def issue(round_, group: str, count: int) -> list[str]:  # noqa: ANN001
        with unit_of_work():
            return [c.code for c in issue_ballot_codes(round_, group, count)]

    return issue


FORM_TOKEN = re.compile(r'name="(csrf_token|ticket)" value="([^"]*)"')


def page_tokens(html: str) -> dict[str, str]:
    """The hidden csrf_token and ticket of a questionnaire page."""
    return dict(FORM_TOKEN.findall(html))


@pytest.fixture
def submit(client: FlaskClient):  # noqa: ANN201
    """``submit(url, answers)``: open the page as a phone would, then post the answers.

    A ballot that leaves items out is sent as the unanswered-items page's 仍然提交 sends it
    (with ``confirm_partial=1``), unless ``confirm=False``: then the first POST shows that page."""

    def post(url: str, answers: dict[str, str], *, with_client: FlaskClient | None = None,  # noqa: ANN202
             confirm: bool = True):
        c = with_client or client
        page = c.get(url)
        assert page.status_code == 200, page.get_data(as_text=True)
        extra = {"confirm_partial": "1"} if confirm else {}
        return c.post(url, data={**page_tokens(page.get_data(as_text=True)), **answers, **extra})

    return post


RECEIPT = re.compile(r'id="receipt">([^<]+)<')


def receipt_of(response) -> str | None:  # noqa: ANN001
    found = RECEIPT.search(response.get_data(as_text=True))
    return found.group(1) if found else None


def peek_sealed() -> list[tuple[int, Any]]:
    """Every sealed ballot as (group id, content), opened with the server's key without
    changing anything: what the tests may look at, since they hold the server's secret."""
    from survey.ballotbox.box import opening_key
    from survey.ballotbox.seal import unseal
    from survey.extensions import db
    from survey.models import Round, SealedBallot

    db.session.rollback()
    out = []
    for row in db.session.scalars(sa.select(SealedBallot)):
        key = opening_key(db.session.get(Round, row.round_id))
        out.append((row.group_id, unseal(key, row.box)))
    return out


def ballot_count() -> int:
    """Ballots stored: sealed (open rounds) and opened (closed rounds)."""
    from survey.extensions import db
    from survey.models import Ballot, SealedBallot

    db.session.rollback()
    return sum(db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in (Ballot, SealedBallot))


def stored_answers() -> set[tuple[str, str, str]]:
    """Every stored answer as (subject, item, level), read afresh from the database: the
    opened ballots' and, peeked at with the server's key, the sealed ones'."""
    from survey.extensions import db
    from survey.models import Answer, Item, Subject

    rows = {tuple(row) for row in db.session.execute(
        sa.select(Subject.code, Item.key, Answer.level)
        .join(Subject, Subject.id == Answer.subject_id)
        .join(Item, Item.id == Answer.item_id)
    )}
    subjects = dict(db.session.execute(sa.select(Subject.id, Subject.code)).all())
    items = dict(db.session.execute(sa.select(Item.id, Item.key)).all())
    for _, content in peek_sealed():
        rows |= {(subjects[s], items[i], level) for s, i, level in content.answers}
    return rows


def stored_comments() -> list[tuple[str, str, str]]:
    """Every stored comment as (subject, group, text), read afresh from the database (sealed
    ones peeked at with the server's key)."""
    from survey.extensions import db
    from survey.models import Comment, Group, Subject

    rows = [tuple(row) for row in db.session.execute(
        sa.select(Subject.code, Group.key, Comment.text)
        .join(Subject, Subject.id == Comment.subject_id)
        .join(Group, Group.id == Comment.group_id)
    )]
    subjects = dict(db.session.execute(sa.select(Subject.id, Subject.code)).all())
    groups = dict(db.session.execute(sa.select(Group.id, Group.key)).all())
    for group_id, content in peek_sealed():
        rows += [(subjects[s], groups[group_id], text) for s, text in content.comments]
    return rows
