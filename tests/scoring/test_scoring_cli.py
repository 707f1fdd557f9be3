"""``python -m scoring score``: output files, and bad input refused by file and line with nothing written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest
from scoring_cases import spec_dict, write_round

from scoring.scorecard import BASE_COLUMNS

BALLOTS = [
    ("r1", "staff", {"B01": {"service": "satisfied", "conduct": "basic"}, "B02": {"service": "basic", "conduct": "basic"}}),
    ("r2", "staff", {"B01": {"service": "basic", "conduct": "unknown"}, "B02": {"service": "satisfied", "conduct": "basic"}}),
    ("r3", "staff", {"B01": {"service": "dissatisfied", "conduct": "satisfied"}}),
    ("s1", "students", {"B01": {"service": "satisfied", "conduct": "satisfied"}, "B02": {"service": "basic", "conduct": "dissatisfied"}}),
]


@pytest.fixture
def round_files(tmp_path: Path) -> dict[str, Path]:
    return write_round(tmp_path, spec_dict({"grades": [{"grade": "好", "min": 60}, {"grade": "差", "min": 0}],
                                            "combine": {"organizational": 0.5, "public": 0.5}}),
                       BALLOTS, org=[("B01", "甲", 90), ("B02", "甲", 70.5)])


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "CSV must start with a UTF-8 byte order mark"
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


def test_score_writes_the_scorecard_csv(run_cli, round_files, tmp_path: Path) -> None:
    out = tmp_path / "scorecard.csv"
    status, _, err = run_cli("score", "--spec", round_files["spec"], "--answers", round_files["answers"],
                             "--org", round_files["org"], "--out", out)
    assert status == 0, err
    header, rows = read_csv_rows(out)
    assert header == list(BASE_COLUMNS) + ["n_staff", "score_staff", "positive_share_staff",
                                           "n_students", "score_students", "positive_share_students"]
    b01 = next(r for r in rows if r["subject"] == "B01")
    # staff G = (2·53.333 + 80)/3 = 62.222; students G = 100; P = 0.6·62.222 + 0.4·100 = 77.33
    assert b01["public_score"] == "77.33" and b01["score_staff"] == "62.22"
    assert b01["positive_share"] == f"{0.6 * 7 / 9 + 0.4:.4f}"
    assert b01["org_score"] == "90.00" and b01["org_raters"] == "1"
    assert b01["composite"] == f"{(90 + 0.6 * (2 * 160 / 3 + 80) / 3 + 40) / 2:.2f}"
    assert b01["name"] == "计算机学院党总支" and b01["grade"] == "好"
    assert rows[0]["rank"] == "1" and [r["subject"] for r in rows] == ["B01", "B02"]


def test_score_xlsx_and_summary(run_cli, round_files, tmp_path: Path) -> None:
    out, summary = tmp_path / "scorecard.xlsx", tmp_path / "summary.json"
    status, _, err = run_cli("score", "--spec", round_files["spec"], "--answers", round_files["answers"],
                             "--out", out, "--summary", summary)
    assert status == 0, err
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["评议结果", "data", "标记说明"]
    sheet = book.worksheets[0]  # for people: Chinese headings, shares as percentages, flags in words
    assert sheet.freeze_panes is not None and sheet.freeze_panes != "A1"
    header = [c.value for c in sheet[1]]
    assert header[:6] == ["排名", "代码", "单位", "等次", "综合得分", "公众评分"] and header[-1] == "说明"
    assert "教职工有效票" in header and "学生正面评价比例" in header
    row = {h: c for h, c in zip(header, sheet[2])}
    assert row["公众评分"].number_format == "0.00" and row["正面评价比例"].number_format == "0.00%"
    assert row["代码"].value == "B01" and row["单位"].value == "计算机学院党总支"
    assert sheet.column_dimensions["C"].width >= 2 * len("计算机学院党总支")  # wide characters count twice
    data_sheet = book["data"]  # for programs: the scorecard.csv table
    assert [c.value for c in data_sheet[1]][: len(BASE_COLUMNS)] == list(BASE_COLUMNS)
    row = {h: c for h, c in zip([c.value for c in data_sheet[1]], data_sheet[2])}
    assert row["public_score"].number_format == "0.00" and row["positive_share"].number_format == "0.0000"
    data = json.loads(summary.read_text(encoding="utf-8"))
    staff = next(g for g in data["groups"] if g["group"] == "staff")
    assert staff["received"] == 3 and data["ballots_received"] == 4
    assert data["spoiled_excluded"] == 0 and "alpha" in data["cronbach_alpha"]


def test_cli_help_mentions_both_commands(run_cli, capsys) -> None:
    from scoring.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    assert "score" in text and "annual" in text


def bad_answers(tmp_path: Path, body: str) -> dict[str, Path]:
    files = write_round(tmp_path, spec_dict(), BALLOTS)
    files["answers"].write_text("response_id,group,subject,item,answer\n" + body, encoding="utf-8")
    return files


@pytest.mark.parametrize(("body", "line", "words"), [
    ("r1,staff,B01,service,satisfied\nr1,staff,B01,conduct,great\n", 3, "'great'"),
    ("r1,staff,B01,service,satisfied\nr2,teachers,B01,service,basic\n", 3, "'teachers'"),
    ("r1,staff,B09,service,satisfied\n", 2, "'B09'"),
    ("r1,staff,B01,speed,satisfied\n", 2, "'speed'"),
    ("r1,staff,B01,service,satisfied\nr1,staff,B01,service,basic\n", 3, "twice"),
    # the same item twice within one ballot's rows, after another item, and after the ballot's other rows
    ("r1,staff,B01,service,satisfied\nr1,staff,B01,conduct,basic\nr1,staff,B01,service,basic\n", 4, "twice"),
    ("r1,staff,B01,conduct,satisfied\nr1,staff,B01,service,basic\nr2,staff,B01,service,basic\n"
     "r1,staff,B01,conduct,basic\n", 5, "twice"),
    ("r1,staff,B01,service,satisfied\nr1,students,B02,service,basic\n", 3, "also appears in group"),
    ("r1,staff,B01,service,satisfied\nr2,staff,B01,service,basic,extra\n", 3, "malformed CSV"),
    ("r1,staff,B01,service,satisfied\n,staff,B01,conduct,basic\n", 3, "empty response_id"),
    ("r1,staff,B01,service,satisfied\nr2,staff,B01,service,\n", 3, "empty answer"),
    ("r1,staff,B01,service,1\n", 2, "'1'"),
])
def test_bad_answers_are_refused_by_line_and_nothing_is_written(run_cli, tmp_path: Path, body: str,
                                                               line: int, words: str) -> None:
    files = bad_answers(tmp_path, body)
    out = tmp_path / "scorecard.csv"
    status, _, err = run_cli("score", "--spec", files["spec"], "--answers", files["answers"], "--out", out)
    assert status != 0
    assert err.count("\n") == 1 and f"answers.csv:{line}:" in err and words in err
    assert not out.exists() and not list(tmp_path.glob(".scorecard*"))


def test_items_in_any_order_within_a_ballot_are_accepted(run_cli, tmp_path: Path) -> None:
    files = bad_answers(tmp_path, "r1,staff,B02,conduct,basic\nr1,staff,B01,conduct,satisfied\n"
                                  "r1,staff,B01,service,basic\nr1,staff,B02,service,satisfied\n")
    status, _, err = run_cli("score", "--spec", files["spec"], "--answers", files["answers"],
                             "--out", tmp_path / "scorecard.csv")
    assert status == 0, err


def test_subject_not_rated_by_group_is_refused(run_cli, tmp_path: Path) -> None:
    data = spec_dict()
    data["groups"][1]["subjects"] = ["B01"]
    files = write_round(tmp_path, data, [("s1", "students", {"B02": {"service": "basic"}})])
    status, _, err = run_cli("score", "--spec", files["spec"], "--answers", files["answers"],
                             "--out", tmp_path / "x.csv")
    assert status != 0 and "answers.csv:2:" in err and "does not rate subject 'B02'" in err


@pytest.mark.parametrize(("org", "line", "words"), [
    ("subject,rater,score\nB01,甲,90\nB01,乙,101\n", 3, "outside 0–100"),
    ("subject,rater,score\nB01,甲,-1\n", 2, "outside 0–100"),
    ("subject,rater,score\nB01,甲,good\n", 2, "not a number"),
    ("subject,rater,score\nB07,甲,80\n", 2, "'B07'"),
    ("subject,rater,score\nB01,甲,80\nB01,甲,85\n", 3, "twice"),
    ("subject,score\nB01,80\n", 1, "missing column"),
])
def test_bad_org_ratings_are_refused(run_cli, tmp_path: Path, org: str, line: int, words: str) -> None:
    files = write_round(tmp_path, spec_dict(), BALLOTS)
    (tmp_path / "org.csv").write_text(org, encoding="utf-8")
    out = tmp_path / "scorecard.csv"
    status, _, err = run_cli("score", "--spec", files["spec"], "--answers", files["answers"],
                             "--org", tmp_path / "org.csv", "--out", out, "--summary", tmp_path / "s.json")
    assert status != 0 and f"org.csv:{line}:" in err and words in err
    assert not out.exists() and not (tmp_path / "s.json").exists()


def test_malformed_spec_is_refused(run_cli, tmp_path: Path) -> None:
    files = write_round(tmp_path, spec_dict(), BALLOTS)
    files["spec"].write_text('{"subjects": [\n  {"code": "B01"\n', encoding="utf-8")
    status, _, err = run_cli("score", "--spec", files["spec"], "--answers", files["answers"],
                             "--out", tmp_path / "x.csv")
    assert status != 0 and "spec.json:3" in err and "not valid JSON" in err
    files["spec"].write_text(json.dumps(spec_dict(scale="satisfaction7")), encoding="utf-8")
    status, _, err = run_cli("score", "--spec", files["spec"], "--answers", files["answers"],
                             "--out", tmp_path / "x.csv")
    assert status != 0 and "spec.json" in err and "scale" in err and not (tmp_path / "x.csv").exists()


def test_answers_with_bom_and_header_only(run_cli, tmp_path: Path) -> None:
    files = write_round(tmp_path, spec_dict(), BALLOTS)
    files["answers"].write_bytes(b"\xef\xbb\xbf" + files["answers"].read_bytes())
    status, _, err = run_cli("score", "--spec", files["spec"], "--answers", files["answers"],
                             "--out", tmp_path / "a.csv")
    assert status == 0, err
    files["answers"].write_text("response_id,group,subject,item,answer\n", encoding="utf-8")
    status, _, err = run_cli("score", "--spec", files["spec"], "--answers", files["answers"],
                             "--out", tmp_path / "b.csv")
    assert status == 0, err
    _, rows = read_csv_rows(tmp_path / "b.csv")
    assert all(r["public_score"] == "" and "no_public" in r["flags"] for r in rows)


def test_inline_scale(run_cli, tmp_path: Path) -> None:
    scale = {"levels": [{"key": "yes", "label": "是", "points": 90, "polarity": "positive"},
                        {"key": "meh", "label": "一般", "points": 50, "polarity": "neutral"},
                        {"key": "no", "label": "否", "points": 10, "polarity": "negative"}]}
    files = write_round(tmp_path, spec_dict(scale=scale),
                        [("r1", "staff", {"B01": {"service": "yes", "conduct": "meh"}}),
                         ("r2", "staff", {"B01": {"service": "no", "conduct": "yes"}})])
    status, _, err = run_cli("score", "--spec", files["spec"], "--answers", files["answers"],
                             "--out", tmp_path / "a.csv")
    assert status == 0, err
    _, rows = read_csv_rows(tmp_path / "a.csv")
    b01 = next(r for r in rows if r["subject"] == "B01")
    # service (90+10)/2 = 50, conduct (50+90)/2 = 70 -> (100+70)/3 = 56.67
    # top share: service 1/2, conduct 1/2 -> 0.5; negative: service 1/2, conduct 0 -> 1/3
    assert b01["public_score"] == "56.67" and b01["top_share"] == "0.5000" and b01["negative_share"] == "0.3333"


def test_ballot_rows_in_any_order_give_the_same_scorecard(run_cli, tmp_path: Path) -> None:
    import numpy as np

    from scoring.io import number_ballots

    codes, ids = number_ballots(np.array(["a", "a", "b", "a"], dtype=object))  # 'a' in two runs
    assert codes.tolist() == [0, 0, 1, 0] and list(ids) == ["a", "b"]
    codes, ids = number_ballots(np.array(["x", "x", "y"], dtype=object))
    assert codes.tolist() == [0, 0, 1] and list(ids) == ["x", "y"]

    files = write_round(tmp_path, spec_dict({"uniform_ballots": "exclude"}), BALLOTS)
    status, _, err = run_cli("score", "--spec", files["spec"], "--answers", files["answers"],
                             "--out", tmp_path / "sorted.csv")
    assert status == 0, err
    lines = files["answers"].read_text(encoding="utf-8").splitlines()
    interleaved = sorted(lines[1:], key=lambda line: line.split(",")[3])  # by item: ballots split up
    files["answers"].write_text("\n".join([lines[0]] + interleaved) + "\n", encoding="utf-8")
    status, _, err = run_cli("score", "--spec", files["spec"], "--answers", files["answers"],
                             "--out", tmp_path / "interleaved.csv")
    assert status == 0, err
    assert (tmp_path / "sorted.csv").read_bytes() == (tmp_path / "interleaved.csv").read_bytes()


def test_jobs_draw_the_interval_in_threads_with_the_same_result(run_cli, round_files, tmp_path: Path,
                                                                 monkeypatch) -> None:
    """Threads only with --jobs N (N > 1), and the scorecard is the same byte for byte."""
    import threading

    from scoring import intervals

    monkeypatch.setattr(intervals, "PARALLEL_MIN_COST", 0)
    drawn_in: list[str] = []
    draw = intervals._group_draws

    def spy(*args, **kwargs):
        drawn_in.append(threading.current_thread().name)
        return draw(*args, **kwargs)

    monkeypatch.setattr(intervals, "_group_draws", spy)
    files = ("--spec", round_files["spec"], "--answers", round_files["answers"])
    assert run_cli("score", *files, "--out", tmp_path / "one.csv")[0] == 0
    assert drawn_in and set(drawn_in) == {threading.main_thread().name}
    drawn_in.clear()
    assert run_cli("score", *files, "--out", tmp_path / "two.csv", "--jobs", "2")[0] == 0
    assert drawn_in and threading.main_thread().name not in drawn_in
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    _, rows = read_csv_rows(tmp_path / "two.csv")
    assert all(r["ci_low"] for r in rows)
    with pytest.raises(SystemExit):
        run_cli("score", *files, "--out", tmp_path / "zero.csv", "--jobs", "0")
    assert not (tmp_path / "zero.csv").exists()
