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
    assert book.sheetnames == ["年度考核", "data", "评议结果", "规则", "不在名册"]
    people = [list(r) for r in book["年度考核"].iter_rows(values_only=True)]
    assert people[0] == ["代码", "名称", "daily", "org_review", "mass_evaluation", "年度得分", "等次", "名次", "说明"]
    assert people[1][:8] == ["B04", "四支部", 95, 95, 95, 95, "合格", 1]
    assert people[1][8] == "「优秀」名额已满（不超过20%），降为「合格」"
    assert people[4][0] == "B03" and people[4][8] == "缺少「org_review」得分，无年度得分、等次和名次"
    assert book["年度考核"].freeze_panes is not None
    data = [list(r) for r in book["data"].iter_rows(values_only=True)]
    assert data[0] == ["subject", "name", "daily", "org_review", "mass_evaluation", "annual_score", "grade", "rank",
                       "flags"]
    assert data[2][-1] == "review:1" and data[4][-1] == "missing:org_review"
    header, row = book["不在名册"].iter_rows(values_only=True)
    extra = dict(zip(header, row))
    assert extra["代码"] == "B09" and extra["名称"] == "九支部" and extra["排名"] is None
    assert extra["说明"] == "没有可计入的群体，无公众评分\n缺少组织评分或公众评分，无综合得分、等次和排名"
    rules = [list(r) for r in book["规则"].iter_rows(values_only=True)]
    assert ["规则1", "正面评价比例低于60%时，等次最高为「合格」", "触发时需考核委员会确认"] in rules
    assert rules[1][:2] == ["组成部分", "daily"] and "40.00%" in rules[1][2]


def test_annual_data_sheet_is_the_csv_table(run_cli, annual_files, tmp_path: Path) -> None:
    """The workbook's ``data`` sheet holds what ``--out annual.csv`` writes, cell for cell."""
    import pandas as pd

    assert run_annual(run_cli, annual_files, tmp_path / "annual.xlsx")[0] == 0
    assert run_annual(run_cli, annual_files, tmp_path / "annual.csv")[0] == 0
    sheet = pd.read_excel(tmp_path / "annual.xlsx", sheet_name="data")
    table = pd.read_csv(tmp_path / "annual.csv", encoding="utf-8-sig")
    pd.testing.assert_frame_equal(sheet, table, check_dtype=False)


CHINESE_ROSTER = ROSTER.replace("subject,name,", "代码,名称,")


@pytest.mark.parametrize("kind", ["utf-8", "utf-8-sig", "gb18030", "xlsx", "xlsx-chinese"])
def test_annual_reads_every_kind_of_roster(run_cli, annual_files, tmp_path: Path, kind: str) -> None:
    """A roster as Excel or a person saves it: CSV in UTF-8 (BOM or not) or GB18030, or a
    workbook; headed subject,name or 代码,名称. Every one merges to the same table."""
    assert run_annual(run_cli, annual_files, tmp_path / "plain.csv")[0] == 0
    text = ROSTER if kind in ("utf-8", "xlsx") else CHINESE_ROSTER
    if kind.startswith("xlsx"):
        roster = tmp_path / "roster.xlsx"
        book = openpyxl.Workbook()
        for line in text.strip().splitlines():
            book.active.append([float(v) if v.isdigit() else (v or None) for v in line.split(",")])
        book.save(roster)
    else:
        roster = tmp_path / f"roster-{kind}.csv"
        roster.write_bytes(text.encode(kind))
    status, err = run_annual(run_cli, dict(annual_files, roster=roster), tmp_path / "out.csv")
    assert status == 0, err
    assert (tmp_path / "out.csv").read_bytes() == (tmp_path / "plain.csv").read_bytes()
    assert ("GB18030" in err) == (kind == "gb18030")


def test_annual_refuses_a_roster_workbook_without_the_columns(run_cli, annual_files, tmp_path: Path) -> None:
    roster = tmp_path / "roster.xlsx"
    book = openpyxl.Workbook()
    book.active.append(["单位", "日常"])
    book.active.append(["B01", 90])
    book.save(roster)
    status, err = run_annual(run_cli, dict(annual_files, roster=roster), tmp_path / "out.csv")
    assert status == 2 and "roster.xlsx:1:" in err and "missing column(s) subject, name, daily, org_review" in err
    roster.write_bytes(b"not a workbook")
    status, err = run_annual(run_cli, dict(annual_files, roster=roster), tmp_path / "out.csv")
    assert status == 2 and "not a valid xlsx workbook" in err


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
