"""`flask --app survey rounds ...`: importing a spec, moving a round through
draft → open → closed → published, and watching its turnout."""

from __future__ import annotations

import re

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Ballot, BallotCode, Group, Item, Round, Subject

from .conftest import page_tokens


def write_spec(folder: Path, spec: dict[str, Any], name: str = "spec.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return path


def count(model: type) -> int:
    db.session.rollback()  # see what the command committed, not what this session cached
    return db.session.scalar(select(func.count()).select_from(model))


def status_of(slug: str) -> str:
    db.session.rollback()
    return db.session.scalar(select(Round.status).where(Round.slug == slug))


def error_line(result) -> str:  # noqa: ANN001
    """The one-line reason a refused command prints."""
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got: {result.output!r}"
    return lines[0]


# --- rounds import -----------------------------------------------------------------------


def test_import_prints_the_slug_and_creates_a_draft_round(runner, spec, tmp_path) -> None:  # noqa: ANN001
    result = runner.invoke(args=["rounds", "import", str(write_spec(tmp_path, spec))])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "r2012"
    round_ = db.session.scalar(select(Round).where(Round.slug == "r2012"))
    assert round_.status == "draft"
    assert round_.title == "2012年基层党组织群众评议"
    assert [(s.code, s.name, s.commitment) for s in round_.subjects] == [
        ("B01", "计算机学院党总支", "为师生办实事不少于3件"),
        ("B02", "机关党委", None),
    ]
    assert [(i.key, i.weight) for i in round_.items] == [("service", 1.0), ("conduct", 2.0)]
    staff, students = round_.groups
    assert (staff.key, staff.access, staff.weight, staff.expected) == ("staff", "codes", 0.5, 10)
    assert [s.code for s in staff.subjects] == ["B01", "B02"]
    assert (students.key, students.access) == ("students", "open")
    assert [s.code for s in students.subjects] == ["B01"]


def test_import_accepts_a_spec_saved_with_a_byte_order_mark(runner, spec, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8-sig")

    result = runner.invoke(args=["rounds", "import", str(path)])

    assert result.exit_code == 0, result.output
    assert status_of("r2012") == "draft"


def _set(path: str, value: Any):  # noqa: ANN202
    """A change to a spec: set the value at ``path`` (keys and list indexes)."""

    def change(spec: dict[str, Any]) -> None:
        *parents, last = path
        target: Any = spec
        for key in parents:
            target = target[key]
        target[last] = value

    return change


def _drop(path: tuple[Any, ...]):  # noqa: ANN202
    def change(spec: dict[str, Any]) -> None:
        *parents, last = path
        target: Any = spec
        for key in parents:
            target = target[key]
        del target[last]

    return change


def _with_grades_and_rule(spec: dict[str, Any]) -> None:
    spec["scheme"]["grades"] = [{"grade": "优秀", "min": 90}, {"grade": "良好", "min": 80},
                                {"grade": "较差", "min": 0}]
    spec["scheme"]["rules"] = [{"metric": "negative_share", "above": 0.3, "grade": "差"}]


BAD_SPECS = {
    "subject code with a space": (_set(("subjects", 0, "code"), "B 01"), "subjects[0].code"),
    "item key too long": (_set(("items", 1, "key"), "k" * 33), "items[1].key"),
    "group key with a dot": (_set(("groups", 0, "key"), "staff.all"), "groups[0].key"),
    "unknown scale": (_set(("scale",), "stars7"), "scale"),
    "group naming a missing subject": (_set(("groups", 1, "subjects"), ["B99"]), "groups[1].subjects"),
    "negative item weight": (_set(("items", 0, "weight"), -1), "items[0].weight"),
    "negative group weight": (_set(("groups", 1, "weight"), -0.3), "groups[1].weight"),
    "bad date": (_set(("opens_at",), "2012-13-01T08:00:00+08:00"), "opens_at"),
    "closes before it opens": (
        lambda s: s.update(opens_at="2012-06-15T08:00:00+08:00", closes_at="2012-06-01T08:00:00+08:00"),
        "closes_at",
    ),
    "rule naming a missing grade": (_with_grades_and_rule, "scheme.rules[0].grade"),
    "missing access": (_drop(("groups", 0, "access")), "groups[0].access"),
    "unknown access": (_set(("groups", 0, "access"), "password"), "groups[0].access"),
    "missing slug": (_drop(("slug",)), "slug"),
    "group key of the receipts page": (_set(("groups", 1, "key"), "receipts"), "groups"),
    # longer than the database keeps: PostgreSQL would refuse the row half-way through
    "title over 200 characters": (_set(("title",), "评" * 201), "title"),
    "subject name over 200 characters": (_set(("subjects", 1, "name"), "党" * 201), "subjects[1].name"),
    "item text over 500 characters": (_set(("items", 0, "text"), "项" * 501), "items[0].text"),
    "group name over 200 characters": (_set(("groups", 1, "name"), "生" * 201), "groups[1].name"),
    # PostgreSQL text cannot hold a NUL character
    "NUL in a commitment": (_set(("subjects", 0, "commitment"), "办实事\u0000"), "subjects[0].commitment"),
}


@pytest.mark.parametrize("change, field", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_a_spec_with_an_error_is_refused_naming_the_field_and_stores_nothing(
    runner, spec, tmp_path, change, field  # noqa: ANN001
) -> None:
    change(spec)
    path = write_spec(tmp_path, spec)

    result = runner.invoke(args=["rounds", "import", str(path)])

    assert result.exit_code != 0
    line = error_line(result)
    assert f"{field}:" in line
    assert str(path) in line
    for model in (Round, Subject, Item, Group):
        assert count(model) == 0


def test_invalid_json_is_refused_with_the_file_and_line(runner, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "spec.json"
    path.write_text('{\n  "slug": "r2012",\n  "title": "x",,\n}\n', encoding="utf-8")

    result = runner.invoke(args=["rounds", "import", str(path)])

    assert result.exit_code != 0
    assert f"{path}:3: not valid JSON" in error_line(result)
    assert count(Round) == 0


def test_a_missing_spec_file_is_refused(runner, tmp_path) -> None:  # noqa: ANN001
    result = runner.invoke(args=["rounds", "import", str(tmp_path / "nowhere.json")])

    assert result.exit_code != 0
    assert "nowhere.json" in error_line(result)
    assert count(Round) == 0


def test_a_duplicate_slug_is_refused_and_the_first_round_is_kept(runner, spec, tmp_path) -> None:  # noqa: ANN001
    assert runner.invoke(args=["rounds", "import", str(write_spec(tmp_path, spec))]).exit_code == 0
    spec["title"] = "另一轮评议"

    result = runner.invoke(args=["rounds", "import", str(write_spec(tmp_path, spec, "again.json"))])

    assert result.exit_code != 0
    assert "slug: a round 'r2012' already exists" in error_line(result)
    assert count(Round) == 1
    assert db.session.scalar(select(Round.title)) == "2012年基层党组织群众评议"
    assert count(Subject) == 2


def test_the_template_prints_a_spec_that_imports(runner, tmp_path) -> None:  # noqa: ANN001
    printed = runner.invoke(args=["rounds", "template"])
    assert printed.exit_code == 0
    path = tmp_path / "template.json"
    path.write_text(printed.output, encoding="utf-8")

    result = runner.invoke(args=["rounds", "import", str(path)])

    assert result.exit_code == 0, result.output
    slug = result.output.strip()
    assert slug == json.loads(printed.output)["slug"]
    assert status_of(slug) == "draft"


# --- rounds open / close / publish -------------------------------------------------------


def test_open_close_and_publish_move_the_status(runner, make_round, spec) -> None:  # noqa: ANN001
    make_round(spec, status="draft")

    opened = runner.invoke(args=["rounds", "open", "r2012"])
    assert opened.exit_code == 0, opened.output
    assert status_of("r2012") == "open"

    closed = runner.invoke(args=["rounds", "close", "r2012"])
    assert closed.exit_code == 0, closed.output
    assert status_of("r2012") == "closed"

    published = runner.invoke(args=["rounds", "publish", "r2012"])
    assert published.exit_code == 0, published.output
    assert status_of("r2012") == "published"


ILLEGAL = {
    "opening a closed round": ("closed", "open", "cannot open round 'r2012': it is 已结束 (closed)"),
    "opening a published round": ("published", "open", "cannot open round 'r2012': it is 已公布 (published)"),
    "publishing an open round": ("open", "publish", "cannot publish round 'r2012': it is 进行中 (open)"),
    "publishing a draft": ("draft", "publish", "cannot publish round 'r2012': it is 草稿 (draft)"),
    "closing a draft": ("draft", "close", "cannot close round 'r2012': it is 草稿 (draft)"),
    "closing a closed round": ("closed", "close", "cannot close round 'r2012': it is 已结束 (closed)"),
    "opening an open round": ("open", "open", "cannot open round 'r2012': it is 进行中 (open)"),
}


@pytest.mark.parametrize("status, action, says", ILLEGAL.values(), ids=ILLEGAL.keys())
def test_an_illegal_transition_is_refused_and_changes_nothing(
    runner, make_round, spec, status, action, says  # noqa: ANN001
) -> None:
    make_round(spec, status=status)

    result = runner.invoke(args=["rounds", action, "r2012"])

    assert result.exit_code != 0
    assert says in error_line(result)
    assert status_of("r2012") == status


def test_a_transition_of_an_unknown_round_is_refused(runner) -> None:  # noqa: ANN001
    result = runner.invoke(args=["rounds", "open", "nosuch"])

    assert result.exit_code != 0
    assert "no round 'nosuch'" in error_line(result)


def test_opening_a_round_whose_closing_time_has_passed_is_refused(runner, make_round, spec) -> None:  # noqa: ANN001
    spec.update(opens_at="2012-06-01T08:00:00+08:00", closes_at="2012-06-15T18:00:00+08:00")
    make_round(spec, status="draft")

    result = runner.invoke(args=["rounds", "open", "r2012"])

    assert result.exit_code != 0
    assert "closes_at" in error_line(result)
    assert "has passed" in error_line(result)
    assert status_of("r2012") == "draft"


def test_a_round_may_be_opened_before_its_opening_time(runner, make_round, spec) -> None:  # noqa: ANN001
    """Opening early is allowed: the questionnaire itself waits for opens_at."""
    spec.update(opens_at="2099-06-01T08:00:00+08:00", closes_at="2099-06-15T18:00:00+08:00")
    make_round(spec, status="draft")

    result = runner.invoke(args=["rounds", "open", "r2012"])

    assert result.exit_code == 0, result.output
    assert status_of("r2012") == "open"


# --- rounds status and close -------------------------------------------------------------


def turnout_table(output: str) -> dict[str, dict[str, str]]:
    """group key → {column: value} from the table ``rounds status`` prints."""
    header, *rows = output.splitlines()[1:]
    names = header.split()
    rows = [row for row in rows if row.strip() and not row.startswith("ballot box:")]
    return {row.split()[0]: dict(zip(names, row.split())) for row in rows}


def test_status_shows_turnout_per_group(runner, make_round, spec, issue_codes, submit) -> None:  # noqa: ANN001
    round_ = make_round(spec)
    codes = issue_codes(round_, "staff", 5)
    assert submit(f"/b/{codes[0]}", {"a:B01:service": "satisfied"}).status_code == 200
    assert submit(f"/b/{codes[1]}", {"a:B02:conduct": "basic"}).status_code == 200
    assert submit("/r/r2012/students", {"a:B01:service": "unknown"}).status_code == 200

    result = runner.invoke(args=["rounds", "status", "r2012"])

    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "2012年基层党组织群众评议 [r2012] — open"
    assert re.search(r"^ballot box: server \(服务器保管\), key fingerprint [0-9A-F]{4}(-[0-9A-F]{4}){3}$",
                     result.output, re.M)
    assert turnout_table(result.output) == {
        "staff": {"group": "staff", "access": "codes", "expected": "10", "codes": "5", "unused": "3",
                  "ballots": "2", "particip.": "20.0%"},
        "students": {"group": "students", "access": "open", "expected": "200", "codes": "0", "unused": "0",
                     "ballots": "1", "particip.": "0.5%"},
    }


def test_status_of_an_unknown_round_is_refused(runner) -> None:  # noqa: ANN001
    result = runner.invoke(args=["rounds", "status", "nosuch"])

    assert result.exit_code != 0
    assert "no round 'nosuch'" in error_line(result)


def test_close_destroys_the_rounds_ballot_codes_and_keeps_its_ballots(
    runner, make_round, spec, issue_codes, submit  # noqa: ANN001
) -> None:
    round_ = make_round(spec)
    other = dict(spec, slug="other")
    other_round = make_round(other)
    codes = issue_codes(round_, "staff", 3)
    issue_codes(other_round, "staff", 2)
    assert submit(f"/b/{codes[0]}", {"a:B01:service": "satisfied"}).status_code == 200

    result = runner.invoke(args=["rounds", "close", "r2012"])

    assert result.exit_code == 0, result.output
    assert "开箱计票 1 张选票，销毁未使用的评议码 2 个" in result.output  # the two unused ones
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(BallotCode).where(BallotCode.round_id == round_.id)) == 0
    assert db.session.scalar(
        select(func.count()).select_from(BallotCode).where(BallotCode.round_id == other_round.id)
    ) == 2
    assert count(Ballot) == 1
    assert runner.invoke(args=["rounds", "status", "r2012"]).output.count("closed") == 1


def test_a_closed_rounds_unused_code_no_longer_opens_a_questionnaire(
    runner, client, make_round, spec, issue_codes  # noqa: ANN001
) -> None:
    round_ = make_round(spec)
    (code,) = issue_codes(round_, "staff", 1)
    assert client.get(f"/b/{code}").status_code == 200

    assert runner.invoke(args=["rounds", "close", "r2012"]).exit_code == 0

    page = client.get(f"/b/{code}")
    assert page.status_code == 404
    assert "csrf_token" not in page_tokens(page.get_data(as_text=True))


def test_a_database_behind_the_schema_gets_one_line_saying_to_upgrade(app, runner, make_round) -> None:  # noqa: ANN001
    """A database not migrated since an update: one line naming the fix, not a traceback."""
    import sqlalchemy as sa

    from survey.extensions import db

    make_round()
    with db.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE ballots RENAME TO ballots_before_update"))
    result = runner.invoke(args=["rounds", "status", "r2012"])
    assert result.exit_code != 0
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("Error: ") and last.endswith("flask --app survey db upgrade")
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
