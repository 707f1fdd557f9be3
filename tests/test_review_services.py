"""领导点评, 整改 (with before and after across two years), feedback links and the annual merge,
as services. Figures from ``review_fixtures``: B02 is rated by staff alone, each of its two
items with one 不满意 in four answers (negative share 0.25, mean 65)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from .review_fixtures import BALLOTS, D, S, closed_round, spec_for


@pytest.fixture
def round_2025(make_round):  # noqa: ANN001, ANN201
    return closed_round(make_round)


def test_remark_saved_edited_and_deleted(round_2025) -> None:  # noqa: ANN001
    from survey.database import unit_of_work
    from survey.scorecard.remarks import RemarkRefused, remarks_by_subject, remarks_frame, save_remark

    with unit_of_work():
        _, change = save_remark(round_2025, "B01", text="抓好落实", reviewer_name="王书记", author="wang",
                                on=date(2025, 12, 20))
    assert change == {"round": "y2025", "subject": "B01", "before": None,
                      "after": {"text": "抓好落实", "reviewer_name": "王书记"}}
    with unit_of_work():
        _, change = save_remark(round_2025, "B01", text="抓好整改落实", reviewer_name="王书记", author="wang")
        save_remark(round_2025, "B01", text="同意", reviewer_name="李校长", author="li", on=date(2025, 12, 21))
    assert change["before"]["text"] == "抓好落实"
    remarks = remarks_by_subject(round_2025)["B01"]
    assert sorted(r.text for r in remarks) == ["同意", "抓好整改落实"]
    assert list(remarks_frame(round_2025).columns) == ["subject", "name", "reviewer", "date", "remark"]
    with unit_of_work():
        save_remark(round_2025, "B01", text="", reviewer_name="", author="li")
    assert [r.text for r in remarks_by_subject(round_2025)["B01"]] == ["抓好整改落实"]
    with pytest.raises(RemarkRefused):
        save_remark(round_2025, "B01", text="没有署名", reviewer_name=" ", author="x")


def test_remarks_wait_for_the_round_to_close(make_round) -> None:  # noqa: ANN001
    from survey.scorecard.remarks import save_remark
    from survey.rounds.lifecycle import ResultsSealed

    with pytest.raises(ResultsSealed):
        save_remark(make_round(spec_for("open1", 2025)), "B01", text="x", reviewer_name="y", author="z")


def test_rectification_list_is_drawn_from_the_figures(round_2025) -> None:  # noqa: ANN001
    from survey.database import unit_of_work
    from survey.rectify.services import RectificationRefused, Triggers, draw_up, entries_of
    from survey.scorecard.services import round_results

    results = round_results(round_2025)
    with unit_of_work():
        added = draw_up(results, Triggers(grade_at_or_below="一般", negative_share_above=0.2))
    got = [(e.subject_code, e.item_key, e.reason) for e in entries_of(round_2025)]
    assert got == [("B02", None, "grade"), ("B02", None, "review"),
                   ("B02", "service", "negative_share"), ("B02", "conduct", "negative_share")]
    assert len(added) == 4
    service = entries_of(round_2025)[2]
    assert service.figure == pytest.approx(0.25)
    assert service.problem == "「服务师生」「不满意」比例25.0%（超过20%），平均分65.00"
    with unit_of_work():
        assert draw_up(results, Triggers(grade_at_or_below="一般", negative_share_above=0.2)) == []
    with pytest.raises(RectificationRefused):
        draw_up(results, Triggers(grade_at_or_below="不存在"))


def test_two_years_show_before_and_after(make_round, round_2025) -> None:  # noqa: ANN001
    """2025: 整改 entries for B02; 2026 rates B02 again with one 不满意 in four on service and none
    on conduct; the ledger shows each entry's figure before and after."""
    from survey.database import unit_of_work
    from survey.rectify.services import Triggers, draw_up, effects, entries_of, ledger_frame, ledger_xlsx, update_entry
    from survey.scorecard.services import round_results

    with unit_of_work():
        draw_up(round_results(round_2025), Triggers(negative_share_above=0.2, review=False))
        update_entry(entries_of(round_2025)[0], measure="开设一站式服务窗口", responsible="张处长",
                     due_on=date(2026, 6, 30), status="done", note="已完成")
    better = [(g, {k: (S if k == ("B02", "conduct") and v == D else v) for k, v in a.items()}) for g, a in BALLOTS]
    closed_round(make_round, spec_for("y2026", 2026), ballots=better, comments=[])
    found = {e.entry.item_key: e for e in effects(round_2025)}
    assert found["service"].before == pytest.approx(0.25) and found["service"].after == pytest.approx(0.25)
    assert found["conduct"].before == pytest.approx(0.25) and found["conduct"].after == pytest.approx(0.0)
    assert found["conduct"].after_mean == pytest.approx(90.0) and found["conduct"].before_mean == pytest.approx(65.0)
    assert found["conduct"].later_round == "y2026" and found["conduct"].change == pytest.approx(-0.25)
    frame = ledger_frame(round_2025, effects(round_2025))
    book = load_workbook(io.BytesIO(ledger_xlsx(frame)))
    header, *rows = list(book["整改台账"].iter_rows(values_only=True))
    service = dict(zip(header, next(r for r in rows if r[2] == "服务师生")))
    assert service["状态"] == "已完成" and service["整改措施"] == "开设一站式服务窗口"
    assert service["对照评议"] == "y2026"
    assert service["整改前负面比例"] == 0.25 and service["整改后负面比例"] == 0.25
    assert service["整改前均分"] == 65.0 and service["整改后均分"] == 65.0
    conduct = dict(zip(header, next(r for r in rows if r[2] == "工作作风")))
    assert conduct["整改后负面比例"] == 0.0 and conduct["整改后均分"] == 90.0
    assert conduct["整改前综合得分"] is None


def test_feedback_link_opens_until_it_expires_or_is_withdrawn(round_2025) -> None:  # noqa: ANN001
    from survey.database import unit_of_work
    from survey.scorecard.feedback import LinkInvalid, create_link, open_link, revoke, token_for

    now = datetime(2025, 12, 20, tzinfo=timezone.utc)
    with unit_of_work():
        link = create_link(round_2025, "B02", days=7, created_by="org", now=now)
    token = token_for(link)
    assert open_link(token, now=now + timedelta(days=6)).subject.code == "B02"
    with pytest.raises(LinkInvalid):
        open_link(token, now=now + timedelta(days=7, seconds=1))
    with pytest.raises(LinkInvalid):
        open_link(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1], now=now)
    with unit_of_work():
        revoke(link)
    with pytest.raises(LinkInvalid):
        open_link(token, now=now)


ANNUAL_WEIGHTS = {
    "components": {"daily": 0.4, "mass_evaluation": {"from": "composite", "weight": 0.6}},
    "grades": [{"grade": "优秀", "min": 85}, {"grade": "合格", "min": 60}, {"grade": "不合格", "min": 0}],
    "rules": [],
}
ROSTER = "subject,name,daily\nB01,计算机学院党总支,90\nB02,机关党委,80\n"


def test_annual_merge_is_the_library_workbook(round_2025, runner, tmp_path) -> None:  # noqa: ANN001
    import json

    from openpyxl import Workbook

    from scoring.cli import main as scoring_main
    from survey.annual.services import ComponentSetting, annual_xlsx, merge, preview, weights_from_settings
    from survey.scorecard.services import round_results

    weights = weights_from_settings([ComponentSetting("daily", 0.4), ComponentSetting("mass_evaluation", 0.6, "composite")],
                                    [("优秀", 85), ("合格", 60), ("不合格", 0)])
    results = round_results(round_2025)
    book = Workbook()
    for row in [line.split(",") for line in ROSTER.strip().splitlines()]:
        book.active.append([float(v) if v.isdigit() else v for v in row])
    upload = io.BytesIO()
    book.save(upload)
    ours = merge(results, upload.getvalue(), "名册.xlsx", weights)
    # B01: 0.4·90 + 0.6·70.56 (composite to 2 decimals, as the CSV carries it)
    assert preview(ours)[0]["代码"] == "B01" and preview(ours)[0]["年度得分"] == f"{0.4 * 90 + 0.6 * 70.56:.2f}"

    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "annual.json").write_text(json.dumps(ANNUAL_WEIGHTS), encoding="utf-8")
    assert runner.invoke(args=["score", "y2025", "--out", str(tmp_path / "scorecard.csv")]).exit_code == 0
    assert scoring_main(["annual", "--roster", str(tmp_path / "roster.csv"), "--scorecard", str(tmp_path / "scorecard.csv"),
                         "--weights", str(tmp_path / "annual.json"), "--out", str(tmp_path / "annual.xlsx")]) == 0
    theirs = load_workbook(tmp_path / "annual.xlsx")
    mine = load_workbook(io.BytesIO(annual_xlsx(ours)))
    assert mine.sheetnames == theirs.sheetnames
    for name in theirs.sheetnames:
        assert [list(r) for r in mine[name].iter_rows(values_only=True)] == \
               [list(r) for r in theirs[name].iter_rows(values_only=True)]


def test_annual_merge_names_the_uploaded_file_on_errors(round_2025) -> None:  # noqa: ANN001
    from survey.annual.services import AnnualRefused, ComponentSetting, merge, weights_from_settings
    from survey.scorecard.services import round_results

    weights = weights_from_settings([ComponentSetting("daily", 1)], [("合格", 0)])
    with pytest.raises(AnnualRefused, match=r"^roster.csv 第3行：「daily」“优”不是数字$"):
        merge(round_results(round_2025), "subject,name,daily\nB01,甲,90\nB02,乙,优\n".encode(), "roster.csv", weights)
    with pytest.raises(AnnualRefused, match="^设置有误：组成部分“daily”：权重应为不小于 0 的数$"):
        weights_from_settings([ComponentSetting("daily", -1)], [("合格", 0)])
    with pytest.raises(AnnualRefused, match="^名册.xlsx：不是有效的 xlsx 工作簿$"):
        merge(round_results(round_2025), b"PK not really", "名册.xlsx", weights)
    with pytest.raises(AnnualRefused, match=r"^r.csv 第1行：缺少列 「daily」（应有的列：代码、名称、「daily」"):
        merge(round_results(round_2025), "代码,名称,日常\nB01,甲,90\n".encode("gb18030"), "r.csv", weights)


def test_a_rectification_entry_added_by_hand_is_checked_and_stored_on_both_databases(round_2025) -> None:  # noqa: ANN001
    """From a 领导点评: no figure of its own; a subject the round does not have, an unknown
    source or an empty problem is refused with nothing stored."""
    from survey.database import unit_of_work
    from survey.rectify.services import RectificationRefused, add_entry, entries_of, ledger_frame, effects

    with unit_of_work():
        add_entry(round_2025, subject_code="B01", item_key="conduct", reason="remark",
                  problem="王书记点评：联系群众不够经常", responsible="党总支书记")
    for bad in ({"subject_code": "B09"}, {"reason": "rumour"}, {"problem": "  "}, {"item_key": "speed"}):
        values = {"subject_code": "B01", "item_key": None, "reason": "meeting", "problem": "会议要求", **bad}
        with pytest.raises(RectificationRefused), unit_of_work():
            add_entry(round_2025, **values)
    (entry,) = entries_of(round_2025)
    assert (entry.subject_code, entry.item_key, entry.reason, entry.figure) == ("B01", "conduct", "remark", None)
    ledger = ledger_frame(round_2025, effects(round_2025))
    assert ledger.loc[0, ["name", "item", "reason", "responsible"]].tolist() == ["计算机学院党总支", "工作作风", "领导点评",
                                                                                  "党总支书记"]
