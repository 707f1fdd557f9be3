"""``python -m scoring annual``: the round's scorecard merged into the annual assessment, by hand."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import openpyxl
import pytest

SCORECARD = (
    "subject,name,n,public_score,positive_share,top_share,negative_share,org_score,org_raters,"
    "composite,grade,rank,ci_low,ci_high,flags\n"
    "B01,一支部,40,90.00,0.9500,0.7000,0.0500,,0,90.00,优秀,1,88.00,92.00,\n"
    "B02,二支部,40,80.00,0.5500,0.4000,0.2000,,0,80.00,良好,2,78.00,82.00,\n"
    "B03,三支部,40,70.00,0.8000,0.3000,0.1000,,0,70.00,一般,3,68.00,72.00,\n"
    "B04,四支部,40,95.00,0.9800,0.9000,0.0100,,0,95.00,优秀,1,93.00,97.00,\n"
    "B09,九支部,0,,,,,,0,,,,,,no_public;incomplete\n"
)
ROSTER = (
    "subject,name,daily,org_review\n"
    "B01,一支部,95,90\n"
    "B02,二支部,100,100\n"
    "B03,三支部,60,\n"
    "B04,四支部,95,95\n"
    "B05,五支部,80,80\n"
)
WEIGHTS = {
    "components": {"daily": 0.4, "org_review": 0.3, "mass_evaluation": {"from": "composite", "weight": 0.3}},
    "grades": [{"grade": "优秀", "min": 90}, {"grade": "合格", "min": 70},
               {"grade": "基本合格", "min": 60}, {"grade": "不合格", "min": 0}],
    "rules": [{"metric": "positive_share", "below": 0.6, "at_most": "合格", "review": True}],
    "top_share_cap": 0.2,
}


@pytest.fixture
def annual_files(tmp_path: Path) -> dict[str, Path]:
    files = {"scorecard": tmp_path / "scorecard.csv", "roster": tmp_path / "roster.csv",
             "weights": tmp_path / "annual.json"}
    files["scorecard"].write_text(SCORECARD, encoding="utf-8-sig")
    files["roster"].write_text(ROSTER, encoding="utf-8")
    files["weights"].write_text(json.dumps(WEIGHTS, ensure_ascii=False), encoding="utf-8")
    return files


def run_annual(run_cli, files: dict[str, Path], out: Path) -> tuple[int, str]:
    status, _, err = run_cli("annual", "--roster", files["roster"], "--scorecard", files["scorecard"],
                             "--weights", files["weights"], "--out", out)
    return status, err


def test_annual_csv_by_hand(run_cli, annual_files, tmp_path: Path) -> None:
    out = tmp_path / "annual.csv"
    status, err = run_annual(run_cli, annual_files, out)
    assert status == 0, err
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header, rows = reader.fieldnames, {r["subject"]: r for r in reader}
    assert header == ["subject", "name", "daily", "org_review", "mass_evaluation", "annual_score",
                      "grade", "rank", "flags"]
    # B01: 0.4·95 + 0.3·90 + 0.3·90 = 92     B02: 0.4·100 + 0.3·100 + 0.3·80 = 94
    # B04: 0.4·95 + 0.3·95 + 0.3·95 = 95      B03: org_review missing; B05: not on the scorecard
    assert rows["B01"]["annual_score"] == "92.00" and rows["B02"]["annual_score"] == "94.00"
    assert rows["B04"]["annual_score"] == "95.00" and rows["B04"]["mass_evaluation"] == "95.00"
    assert rows["B03"]["annual_score"] == "" and rows["B03"]["flags"] == "missing:org_review"
    assert rows["B05"]["flags"] == "missing:mass_evaluation" and rows["B05"]["mass_evaluation"] == ""
    # B02 is 优秀 by score but its positive share 0.55 < 0.6: at most 合格, for review
    assert rows["B02"]["grade"] == "合格" and rows["B02"]["flags"] == "review:1"
    # two 优秀 left (B04, B01) of 3 graded subjects; floor(0.2·3) = 0 may keep it
    assert rows["B04"]["grade"] == "合格" and "capped" in rows["B04"]["flags"]
    assert rows["B01"]["grade"] == "合格" and "capped" in rows["B01"]["flags"]
    assert [r["rank"] for r in rows.values()] == ["1", "2", "3", "", ""]
    assert list(rows) == ["B04", "B02", "B01", "B03", "B05"]


def test_annual_workbook_sheets_and_warning(run_cli, annual_files, tmp_path: Path) -> None:
    out = tmp_path / "annual.xlsx"
    status, err = run_annual(run_cli, annual_files, out)
    assert status == 0, err
    assert "warning" in err and "B09" in err
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["annual", "scorecard", "rules", "not_on_roster"]
    first = book["annual"]
    assert [c.value for c in first[1]][-4:] == ["annual_score", "grade", "rank", "flags"]
    assert first["A2"].value == "B04" and first.freeze_panes is not None
    assert [c.value for c in book["not_on_roster"]["A"]] == ["subject", "B09"]
    assert any("positive_share below 0.6" in str(c.value) for c in book["rules"]["B"])


def test_annual_refuses_a_from_column_the_scorecard_lacks(run_cli, annual_files, tmp_path: Path) -> None:
    weights = dict(WEIGHTS, components={"daily": 1, "mass": {"from": "overall", "weight": 1}})
    annual_files["weights"].write_text(json.dumps(weights), encoding="utf-8")
    status, err = run_annual(run_cli, annual_files, tmp_path / "a.csv")
    assert status != 0 and "scorecard.csv:1:" in err and "'overall'" in err
    assert not (tmp_path / "a.csv").exists()


def test_annual_refuses_a_bad_roster_score(run_cli, annual_files, tmp_path: Path) -> None:
    annual_files["roster"].write_text(ROSTER.replace("B03,三支部,60,", "B03,三支部,160,"), encoding="utf-8")
    status, err = run_annual(run_cli, annual_files, tmp_path / "a.xlsx")
    assert status != 0 and "roster.csv:4:" in err and "outside 0–100" in err
    assert not (tmp_path / "a.xlsx").exists()


def test_annual_refuses_bad_weights(run_cli, annual_files, tmp_path: Path) -> None:
    annual_files["weights"].write_text(json.dumps(dict(WEIGHTS, rules=[{"metric": "x", "below": 1, "at_most": "合格"}])),
                                       encoding="utf-8")
    status, err = run_annual(run_cli, annual_files, tmp_path / "a.csv")
    assert status != 0 and "annual.json" in err and "'x'" in err
    annual_files["weights"].write_text(json.dumps(dict(WEIGHTS, components={"daily": -1})), encoding="utf-8")
    status, err = run_annual(run_cli, annual_files, tmp_path / "a.csv")
    assert status != 0 and "components.daily" in err
