"""The scorecard services the console and ``flask score`` share: results, bytes, subject detail
(blanked as rule 12 says), and a subject across rounds. Expectations computed by hand from
``review_fixtures``."""

from __future__ import annotations

import io
import random

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from .review_fixtures import SPEC, closed_round, spec_for


@pytest.fixture
def round_2025(make_round):  # noqa: ANN001, ANN201
    return closed_round(make_round)


def test_csv_bytes_are_the_file_flask_score_writes(round_2025, runner, tmp_path) -> None:  # noqa: ANN001
    from survey.scorecard.services import round_results, scorecard_csv

    out = tmp_path / "scorecard.csv"
    assert runner.invoke(args=["score", "y2025", "--out", str(out)]).exit_code == 0
    data = scorecard_csv(round_results(round_2025).scorecard)
    assert data == out.read_bytes()
    assert data.startswith("\ufeffsubject,name,n,".encode())


def test_hand_computed_scores(round_2025) -> None:  # noqa: ANN001
    from survey.scorecard.services import round_results

    results = round_results(round_2025)
    b01, b02 = results.scorecard.row("B01"), results.scorecard.row("B02")
    # P = 0.5·64.444 + 0.3·70 + 0.2·86.667
    assert b01["public_score"] == pytest.approx(0.5 * 580 / 9 + 0.3 * 70 + 0.2 * 260 / 3)
    assert b01["grade"] == "良好"
    assert results.suppressed("B01") == {"students", "retirees"}
    assert b02["public_score"] == pytest.approx(65.0) and b02["grade"] == "一般"
    assert "review:1" in results.scorecard.flags_of("B02")


def test_xlsx_is_the_flask_score_workbook_with_remarks_added(round_2025, runner, tmp_path) -> None:  # noqa: ANN001
    import pandas as pd

    from survey.scorecard.services import REMARKS_SHEET, round_results, scorecard_xlsx

    out = tmp_path / "scorecard.xlsx"
    assert runner.invoke(args=["score", "y2025", "--out", str(out)]).exit_code == 0
    remarks = pd.DataFrame([{"subject": "B01", "name": "计算机学院党总支", "reviewer": "王书记",
                             "date": "2025-12-20", "remark": "整改要落实到人"}])
    ours = load_workbook(io.BytesIO(scorecard_xlsx(round_results(round_2025).scorecard, remarks)))
    theirs = load_workbook(out)
    assert ours.sheetnames == [*theirs.sheetnames, REMARKS_SHEET] == ["评议结果", "data", "标记说明", REMARKS_SHEET]
    for name in theirs.sheetnames:
        assert [list(r) for r in ours[name].iter_rows(values_only=True)] == \
               [list(r) for r in theirs[name].iter_rows(values_only=True)]
    rows = list(ours[REMARKS_SHEET].iter_rows(values_only=True))
    assert rows == [("代码", "评议对象", "点评人", "日期", "领导点评"),
                    ("B01", "计算机学院党总支", "王书记", "2025-12-20", "整改要落实到人")]


def test_xlsx_is_for_people_first_with_the_csv_table_on_its_data_sheet(round_2025, tmp_path) -> None:  # noqa: ANN001
    """The first sheet is headed in Chinese with the flags in words and blanked figures said
    as 不予显示; the sheet ``data`` holds the scorecard.csv table, cell for cell."""
    import pandas as pd

    from survey.scorecard.services import round_results, scorecard_csv, scorecard_xlsx

    results = round_results(round_2025)
    (tmp_path / "s.csv").write_bytes(scorecard_csv(results.scorecard))
    (tmp_path / "s.xlsx").write_bytes(scorecard_xlsx(results.scorecard))
    data = pd.read_excel(tmp_path / "s.xlsx", sheet_name="data")
    pd.testing.assert_frame_equal(data, pd.read_csv(tmp_path / "s.csv", encoding="utf-8-sig"), check_dtype=False)
    book = load_workbook(tmp_path / "s.xlsx")
    header, *rows = book["评议结果"].iter_rows(values_only=True)
    assert header[:5] == ("排名", "代码", "单位", "等次", "综合得分") and header[-1] == "说明"
    b01 = dict(zip(header, next(r for r in rows if r[1] == "B01")))
    assert b01["等次"] == "良好" and b01["学生得分"] == "不予显示" and b01["离退休同志正面评价比例"] == "不予显示"
    assert b01["教职工有效票"] == 4 and b01["教职工得分"] == 64.44
    assert b01["说明"].splitlines() == ["学生、离退休同志的分项数据不予显示（有效票少于3张，或为防止推算），仍计入公众评分"]
    assert not any(":" in str(v) for r in rows for v in r)  # no flag codes on the people's sheet
    flags = list(book["标记说明"].iter_rows(values_only=True))
    assert flags[0] == ("标记", "含义") and ("review:1", flags[1][1]) == flags[1] and flags[1][1].startswith("需复核")


def test_subject_detail_shows_visible_groups_and_blanks_the_others(round_2025) -> None:  # noqa: ANN001
    from survey.scorecard.detail import subject_detail
    from survey.scorecard.services import round_results

    detail = subject_detail(round_results(round_2025), "B01", rng=random.Random(1))
    groups = {g.key: g for g in detail.groups}
    assert {k: (g.n, g.blanked) for k, g in groups.items()} == {
        "staff": (4, False), "students": (2, True), "retirees": (3, True)}
    assert groups["students"].score is None and groups["retirees"].positive_share is None
    assert groups["staff"].score == pytest.approx(64.44, abs=0.005)
    service, conduct = detail.items
    staff = service.by_group["staff"]
    assert staff.counts == {"satisfied": 2, "basic": 1, "dissatisfied": 0} and staff.unknown == 1
    assert staff.mean == pytest.approx(260 / 3) and staff.positive_share == 1.0
    assert conduct.by_group["staff"].negative_share == pytest.approx(1 / 3)
    assert service.by_group["students"] is None and service.by_group["retirees"] is None
    # all counted groups combined: summed counts, means weighted like P(s)
    assert service.overall.counts == {"satisfied": 5, "basic": 2, "dissatisfied": 1}
    assert service.overall.unknown == 1
    assert service.overall.mean == pytest.approx(0.5 * 260 / 3 + 0.3 * 50 + 0.2 * 260 / 3)
    assert detail.commitment == "为师生办实事不少于3件"
    assert sorted(detail.comments, key=lambda c: c[1]) == [("教职工", "希望多开展师生座谈"), (None, "食堂饭菜太贵")]


def test_combined_figures_are_blank_below_display_min(make_round) -> None:  # noqa: ANN001
    from survey.scorecard.detail import subject_detail
    from survey.scorecard.services import round_results
    from .review_fixtures import BALLOTS

    round_ = closed_round(make_round, ballots=[b for b in BALLOTS if b[0] == "students"], comments=[])
    detail = subject_detail(round_results(round_), "B01")
    assert all(item.overall is None for item in detail.items)
    assert all(f is None for item in detail.items for f in item.by_group.values())


def test_sealed_round_gives_no_results(make_round) -> None:  # noqa: ANN001
    from survey.rounds.lifecycle import ResultsSealed
    from survey.scorecard.services import round_results

    with pytest.raises(ResultsSealed):
        round_results(make_round(SPEC, status="open"))


def test_history_shows_earlier_rounds_and_the_change(make_round, round_2025) -> None:  # noqa: ANN001
    from survey.scorecard.history import subject_history
    from survey.scorecard.services import round_results
    from .review_fixtures import BALLOTS, S

    better = [(g, {k: (S if k[0] == "B01" else v) for k, v in a.items()}) for g, a in BALLOTS]
    round_2026 = closed_round(make_round, spec_for("y2026", 2026), ballots=better, comments=[])
    make_round(spec_for("y2027", 2027), status="open")  # sealed: never shown
    history = subject_history(round_results(round_2026), "B01")
    assert [p.slug for p in history.earlier] == ["y2025"]
    before = round_results(round_2025).scorecard.row("B01")["composite"]
    assert history.current.composite == 100.0
    assert history.change() == pytest.approx(100.0 - round(before, 2))
    assert history.last.items["service"] == pytest.approx(round(0.5 * 260 / 3 + 0.3 * 50 + 0.2 * 260 / 3, 10))
    assert history.change("service") == pytest.approx(100.0 - history.last.items["service"])
    assert subject_history(round_results(round_2025), "B01").earlier == []
    hidden = subject_history(round_results(round_2026), "B01", may_see=lambda r: r.slug != "y2025")
    assert hidden.earlier == []


def test_results_are_kept_until_org_ratings_change(round_2025, runner, tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """A closed round is scored once, at close; new organizational ratings score it again."""
    import survey.scorecard.services as services

    calls = []
    real = services.build_scorecard
    monkeypatch.setattr(services, "build_scorecard", lambda *a, **k: calls.append(1) or real(*a, **k))
    first = services.round_results(round_2025)
    again = services.round_results(round_2025)
    assert len(calls) <= 1 and again.scorecard is first.scorecard
    calls.clear()
    assert services.round_results(round_2025, with_interval=False).scorecard is first.scorecard
    org = tmp_path / "org.csv"
    org.write_text("subject,rater,score\nB01,甲,90\n", encoding="utf-8")
    assert runner.invoke(args=["org", "import", "y2025", str(org)]).exit_code == 0
    changed = services.round_results(round_2025)
    assert len(calls) == 1 and changed.scorecard.row("B01")["org_raters"] == 1


def test_kept_results_follow_org_ratings_even_when_two_scores_swap(round_2025) -> None:  # noqa: ANN001
    """Results are kept per process while a closed round's inputs stand still; correcting two
    swapped organizational ratings keeps their count and sum (and, on SQLite, their row ids)
    but must change the scorecard."""
    from survey.database import unit_of_work
    from survey.org.services import import_org_csv
    from survey.scorecard.services import round_results

    def rate(b01: int, b02: int) -> None:
        data = f"subject,rater,score\nB01,书记,{b01}\nB02,书记,{b02}\n".encode()
        with unit_of_work():
            import_org_csv(round_2025, data, "org.csv")

    rate(90, 60)
    first = round_results(round_2025).scorecard
    rate(60, 90)
    second = round_results(round_2025).scorecard
    assert first.row("B01")["org_score"] == 90 and second.row("B01")["org_score"] == 60
    assert second.row("B02")["org_score"] == 90


def _forget_recent() -> None:
    """As a fresh process would start: nothing read back yet."""
    import survey.scorecard.services as services

    services._RECENT.clear()


def _count_calls(monkeypatch, name: str) -> list[int]:  # noqa: ANN001
    import survey.scorecard.services as services

    calls: list[int] = []
    real = getattr(services, name)
    monkeypatch.setattr(services, name, lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def test_results_kept_at_close_are_read_back_without_scoring(round_2025, monkeypatch) -> None:  # noqa: ANN001
    """keep_results (what the close calls) scores once; every later read, in any process, reads
    the kept row: the same scorecard, the same CSV bytes, no tally, no scoring."""
    import pandas as pd

    from survey.database import unit_of_work
    from survey.extensions import db
    from survey.models import KeptResults
    from survey.scorecard.services import keep_results, round_results, scorecard_csv

    with unit_of_work():
        fresh = keep_results(round_2025)
    assert db.session.get(KeptResults, round_2025.id) is not None
    _forget_recent()
    tallies, scoring = _count_calls(monkeypatch, "tally_round"), _count_calls(monkeypatch, "build_scorecard")
    read = round_results(round_2025)
    assert tallies == [] and scoring == []
    pd.testing.assert_frame_equal(read.scorecard.table, fresh.scorecard.table)
    assert scorecard_csv(read.scorecard) == scorecard_csv(fresh.scorecard)
    assert read.summary == fresh.summary and (read.unknown == fresh.unknown).all()
    assert read.scorecard.row("B01")["ci_low"] == fresh.scorecard.row("B01")["ci_low"]


def test_new_org_ratings_rescore_the_kept_results_without_reading_ballots(round_2025, monkeypatch) -> None:  # noqa: ANN001
    from survey.database import unit_of_work
    from survey.org.services import import_org_csv
    from survey.scorecard.services import keep_results, round_results, scorecard_csv

    with unit_of_work():
        keep_results(round_2025)
    tallies = _count_calls(monkeypatch, "tally_round")
    with unit_of_work():
        import_org_csv(round_2025, "subject,rater,score\nB01,书记,90\nB02,书记,60\n".encode(), "org.csv")
    assert tallies == []  # scored again from the kept tallies and ballot patterns
    _forget_recent()
    read = round_results(round_2025)
    assert tallies == [] and read.scorecard.row("B01")["org_raters"] == 1
    monkeypatch.undo()
    with unit_of_work():  # the same as scoring everything from the ballots again
        full = keep_results(round_2025)
    assert scorecard_csv(read.scorecard) == scorecard_csv(full.scorecard) and read.summary == full.summary


def test_a_round_never_kept_is_scored_once_and_kept_for_the_next_reader(round_2025, monkeypatch) -> None:  # noqa: ANN001
    """A round closed before results were kept: the first reader scores it and keeps it in a
    transaction of its own (a page commits nothing of its own), the next process reads it."""
    from survey.extensions import db
    from survey.models import KeptResults
    from survey.scorecard.services import round_results

    db.session.execute(sa.delete(KeptResults).where(KeptResults.round_id == round_2025.id))  # closed before keeping
    db.session.commit()
    _forget_recent()
    tallies = _count_calls(monkeypatch, "tally_round")
    round_results(round_2025)
    db.session.rollback()  # the reader's own transaction is not what kept it
    assert db.session.get(KeptResults, round_2025.id) is not None and len(tallies) == 1
    _forget_recent()
    round_results(round_2025)
    assert len(tallies) == 1


def test_ratings_changed_behind_the_services_back_are_noticed(round_2025) -> None:  # noqa: ANN001
    """The basis is the ratings' content: a rating written straight into the table makes the
    kept results stale, and the next read scores them again."""
    from survey.database import unit_of_work
    from survey.extensions import db
    from survey.models import OrgRating
    from survey.scorecard.services import keep_results, round_results

    with unit_of_work():
        keep_results(round_2025)
    with unit_of_work():
        db.session.add(OrgRating(round_id=round_2025.id, subject_id=round_2025.subjects[0].id, rater="甲", score=80.0))
    assert round_results(round_2025).scorecard.row("B01")["org_score"] == 80.0
