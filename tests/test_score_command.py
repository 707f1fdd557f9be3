"""``flask score`` gives the same scorecard from SQL tallies as ``python -m scoring score`` gives
from the exported files."""

from __future__ import annotations

import copy
import csv
import io
import json

import pytest
from sqlalchemy import event

from scoring.cli import main as scoring_main

LEVELS = ("satisfied", "basic", "dissatisfied", "unknown")


def ballots_for_test() -> list[tuple[str, dict[str, str]]]:
    """(group, answers): a spread of ballots, three of them uniform (废票 when excluded)."""
    out = []
    for n in range(14):
        answers = {
            "a:B01:service": LEVELS[n % 4],
            "a:B01:conduct": LEVELS[(n // 2) % 3],
            "a:B02:service": LEVELS[(n + 1) % 3],
        }
        if n % 5 == 0:
            answers["a:B02:conduct"] = "dissatisfied"
        out.append(("staff", answers))
    out.append(("staff", {f"a:{s}:{i}": "satisfied" for s in ("B01", "B02") for i in ("service", "conduct")}))
    for n in range(9):
        out.append(("students", {"a:B01:service": LEVELS[n % 3], "a:B01:conduct": LEVELS[(n + 2) % 4]}))
    out.append(("students", {"a:B01:service": "basic", "a:B01:conduct": "basic"}))
    return out


@pytest.fixture
def scored_round(app, spec, make_round, issue_codes, runner, tmp_path):  # noqa: ANN001, ANN201
    spec = copy.deepcopy(spec)
    spec["scheme"].update(uniform_ballots="exclude", display_min=3, min_group_responses=2,
                          grades=[{"grade": "优秀", "min": 80}, {"grade": "良好", "min": 60}, {"grade": "一般", "min": 0}],
                          rules=[{"metric": "negative_share", "above": 0.25, "at_most": "良好", "review": True}])
    spec["groups"][1]["once_per_device"] = False
    round_ = make_round(spec)
    plan = ballots_for_test()
    codes = iter(issue_codes(round_, "staff", sum(1 for g, _ in plan if g == "staff")))
    from .conftest import page_tokens

    for group, answers in plan:
        phone = app.test_client()
        url = f"/b/{next(codes)}" if group == "staff" else f"/r/{round_.slug}/students"
        page = phone.get(url)
        assert phone.post(url, data={"confirm_partial": "1", **page_tokens(page.get_data(as_text=True)), **answers}).status_code == 200
    org = tmp_path / "org.csv"
    org.write_text("subject,rater,score\nB01,甲,90\nB01,乙,80\nB01,丙,70\nB02,甲,85\n", encoding="utf-8")
    assert runner.invoke(args=["org", "import", round_.slug, str(org)]).exit_code == 0
    assert runner.invoke(args=["rounds", "close", round_.slug]).exit_code == 0
    return round_


def test_flask_score_matches_python_m_scoring_on_the_export(scored_round, runner, tmp_path) -> None:  # noqa: ANN001
    slug = scored_round.slug
    result = runner.invoke(args=["score", slug, "--out", str(tmp_path / "db.csv"), "--summary", str(tmp_path / "db.json")])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["export", slug, "--out", str(tmp_path / "export")]).exit_code == 0
    export = tmp_path / "export"
    code = scoring_main(["score", "--spec", str(export / "spec.json"), "--answers", str(export / "answers.csv"),
                         "--org", str(export / "org.csv"), "--out", str(tmp_path / "files.csv"),
                         "--summary", str(tmp_path / "files.json")])
    assert code == 0
    assert (tmp_path / "db.csv").read_bytes() == (tmp_path / "files.csv").read_bytes()
    assert json.loads((tmp_path / "db.json").read_text()) == json.loads((tmp_path / "files.json").read_text())

    rows = list(csv.DictReader(io.StringIO((tmp_path / "db.csv").read_text(encoding="utf-8-sig"))))
    assert [r["subject"] for r in rows] and rows[0]["ci_low"] != ""
    summary = json.loads((tmp_path / "db.json").read_text())
    spoiled = {g["group"]: g["spoiled_excluded"] for g in summary["groups"]}
    # staff: ballot 9 (basic ×3), ballot 10 (dissatisfied ×4) and the all-satisfied one;
    # students rate only B01's two items, and a 废票 needs at least 3 level answers
    assert spoiled == {"staff": 3, "students": 0}
    received = {g["group"]: g["received"] for g in summary["groups"]}
    assert received == {"staff": 15, "students": 10}


def test_scoring_at_close_reads_grouped_tallies_not_every_answer(scored_round, runner, tmp_path, app) -> None:  # noqa: ANN001
    """Scoring a closed round (what the close keeps) reads the answer table grouped, besides the
    ballot-level rows for the interval; ``flask score`` then reads only what was kept."""
    from survey.extensions import db
    from survey.models import Round
    from survey.scorecard.services import keep_results

    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001, ANN202
        statements.append(" ".join(statement.split()))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        keep_results(db.session.get(Round, scored_round.id))
        db.session.rollback()
        scoring_at_close = list(statements)
        statements.clear()
        assert runner.invoke(args=["score", scored_round.slug, "--out", str(tmp_path / "s.csv")]).exit_code == 0
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    assert not [s for s in statements if "FROM answers" in s]
    statements = scoring_at_close
    on_answers = [s.replace('"', "") for s in statements if "FROM answers" in s]
    ballot_level = [s for s in on_answers if s.startswith("SELECT answers.ballot_id, round_groups.key")]
    grouped = [s for s in on_answers if s not in ballot_level]
    assert len(ballot_level) == 1  # the interval's rows, read once
    assert any(s.endswith("GROUP BY round_subjects.code, round_groups.key, round_items.key, answers.level")
               for s in grouped)
    assert all(s.split(")")[-1].find("GROUP BY") >= 0 for s in grouped), grouped


def test_scores_stay_sealed_while_the_round_is_open(app, make_round, runner, tmp_path) -> None:  # noqa: ANN001
    round_ = make_round()
    result = runner.invoke(args=["score", round_.slug, "--out", str(tmp_path / "s.csv")])
    assert result.exit_code != 0 and "sealed" in result.output
    assert not (tmp_path / "s.csv").exists()


def test_score_writes_a_workbook(scored_round, runner, tmp_path) -> None:  # noqa: ANN001
    from openpyxl import load_workbook

    out = tmp_path / "scorecard.xlsx"
    assert runner.invoke(args=["score", scored_round.slug, "--out", str(out)]).exit_code == 0
    book = load_workbook(out)
    assert book.worksheets[0]["A1"].value == "排名" and book["data"]["A1"].value == "subject"
