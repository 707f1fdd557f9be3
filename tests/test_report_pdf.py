"""The PDF report (scorecard.pdf): Chinese in an embedded font, a summary page then a page per
subject, and blanked figures absent (read back with pdftotext)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from .pdf_fonts_check import assert_chinese_font_embedded
from .review_fixtures import closed_round


def pdftotext(pdf: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext not installed (apt-get install poppler-utils); CI installs it")
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture
def report(make_round, tmp_path):  # noqa: ANN001, ANN201
    from survey.database import unit_of_work
    from survey.rectify.services import Triggers, draw_up, entries_of
    from survey.scorecard.remarks import remarks_by_subject, save_remark
    from survey.scorecard.report import ReportInputs, render_report_pdf
    from survey.scorecard.services import round_results

    round_ = closed_round(make_round)
    results = round_results(round_)
    with unit_of_work():
        save_remark(round_, "B01", text="作风建设要常抓不懈", reviewer_name="王书记", author="wang", on=date(2025, 12, 20))
        draw_up(results, Triggers(grade_at_or_below="一般", negative_share_above=0.2))
    by_code: dict[str, list] = {}
    for e in entries_of(round_):
        by_code.setdefault(e.subject_code, []).append(e)
    data = render_report_pdf(results, ReportInputs(remarks_by_subject(round_), by_code, made_on=date(2025, 12, 21)))
    pdf = tmp_path / "scorecard.pdf"
    pdf.write_bytes(data)
    return pdf, results


def test_report_pages_and_text(report) -> None:  # noqa: ANN001
    pdf, results = report
    text = pdftotext(pdf)
    pages = text.split("\f")
    assert len([p for p in pages if p.strip()]) == 3  # summary, B01, B02
    assert "2025年基层党组织群众评议" in pages[0] and "综合得分" in pages[0]
    assert "计算机学院党总支" in pages[1] and "为师生办实事不少于3件" in pages[1]
    assert "作风建设要常抓不懈" in pages[1] and "王书记" in pages[1]
    assert "需复核" in pages[2] and "整改事项" in pages[2] and "未开始" in pages[2]
    row = results.scorecard.row("B01")
    assert f"{row['composite']:.2f}" in pages[0] and f"{row['composite']:.2f}" in pages[1]


def test_blanked_group_figures_are_absent(report) -> None:  # noqa: ANN001
    pdf, results = report
    page = pdftotext(pdf).split("\f")[1]
    student_line = next(line for line in page.splitlines() if line.strip().startswith("学生"))
    assert "不予显示" in student_line
    # the students' own group score (70.00) and positive share (75.0%) appear nowhere
    assert "70.00" not in pdftotext(pdf)
    assert "75.0%" not in page


def test_chinese_font_is_embedded(report) -> None:  # noqa: ANN001
    pdf, _ = report
    assert_chinese_font_embedded(pdf)


def test_a_round_with_many_subjects_flows_over_pages(make_round, tmp_path) -> None:  # noqa: ANN001
    """The composite chart of 45 subjects is drawn in parts that each fit a page."""
    from survey.scorecard.report import ReportInputs, render_report_pdf
    from survey.scorecard.services import round_results

    from .review_fixtures import S, spec_for

    spec = spec_for("many", 2025)
    spec["subjects"] = [{"code": f"S{k:02d}", "name": f"第{k}党支部"} for k in range(45)]
    for group in spec["groups"]:
        group.pop("subjects", None)
    ballots = [("staff", {(f"S{k:02d}", "service"): S for k in range(45)})] * 3
    round_ = closed_round(make_round, spec, ballots=ballots, comments=[])
    pdf = tmp_path / "many.pdf"
    pdf.write_bytes(render_report_pdf(round_results(round_), ReportInputs({}, {})))
    text = pdftotext(pdf)
    assert "第44党支部" in text and "（续）" in text


def test_the_report_ends_with_the_comments_appendix_and_a_signature_block(make_round, tmp_path) -> None:  # noqa: ANN001
    """The appendix lists every comment under its subject; the students' comment on B01 is
    there without its group (the students are blanked), the staff's with theirs; the last
    page has room for 审核人, the date and the 单位 stamp."""
    from survey.scorecard.console import report_comments
    from survey.scorecard.report import ReportInputs, render_report_pdf
    from survey.scorecard.services import round_results

    results = round_results(closed_round(make_round))
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(render_report_pdf(results, ReportInputs({}, {}, comments=report_comments(results))))

    pages = [p for p in pdftotext(pdf).split("\f") if p.strip()]
    appendix = "".join(pages[-1].split())
    assert "附录：意见建议" in appendix
    assert "计算机学院党总支（B01）·2条" in appendix and "机关党委（B02）·1条" in appendix
    assert "希望多开展师生座谈（教职工）" in appendix
    assert "食堂饭菜太贵" in appendix and "食堂饭菜太贵（学生）" not in appendix, "a blanked group is not named"
    assert "办事效率有提高（教职工）" in appendix
    assert "审核人（签字）：____" in appendix and "审核日期：________年_____月_____日" in appendix and "单位（盖章）：" in appendix
    assert appendix.index("办事效率有提高") < appendix.index("审核人")
