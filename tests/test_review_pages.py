"""The reviewer pages under /console: the scorecard page (every number against ``flask score``),
its downloads, subject pages, 领导点评, 整改, feedback links and the annual merge; the fixed
access answers; blanked figures absent from HTML, CSV and xlsx (the PDF: test_report_pdf.py)."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest
from openpyxl import load_workbook

from .console_helpers import console_token, make_user, sign_in
from .review_fixtures import BALLOTS, D, S, closed_round, spec_for

PAGES = ["/console/rounds/{slug}/scorecard", "/console/rounds/{slug}/scorecard.csv",
         "/console/rounds/{slug}/scorecard.xlsx", "/console/rounds/{slug}/scorecard.pdf",
         "/console/rounds/{slug}/subjects/B01", "/console/rounds/{slug}/rectify",
         "/console/rounds/{slug}/rectify.xlsx"]
FEEDBACK = "/console/rounds/{slug}/feedback"
ANNUAL = "/console/rounds/{slug}/annual"


@pytest.fixture
def rounds(make_round):  # noqa: ANN001, ANN201
    """y2025 closed (from review_fixtures), 'sealed' still open; accounts of every role."""
    closed = closed_round(make_round)
    make_round(spec_for("sealed", 2026), status="open")
    make_user("root", "admin")
    make_user("org", "organizer")
    make_user("rev", "reviewer", ["y2025", "sealed"])
    make_user("rev2", "reviewer", ["sealed"])
    return closed


def fmt(urls: list[str], slug: str = "y2025") -> list[str]:
    return [u.format(slug=slug) for u in urls]


@pytest.mark.usefixtures("rounds")
def test_without_a_session_every_address_redirects_to_login(client) -> None:  # noqa: ANN001
    for url in fmt(PAGES + [FEEDBACK, ANNUAL]):
        answer = client.get(url)
        assert answer.status_code in (302, 303) and answer.headers["Location"].startswith("/login"), url


@pytest.mark.usefixtures("rounds")
@pytest.mark.parametrize(("who", "pages", "feedback", "annual"), [
    ("root", 200, 200, 200),
    ("org", 200, 200, 403),
    ("rev", 200, 403, 200),
    ("rev2", 404, 404, 404),
])
def test_access_matrix(client, who, pages, feedback, annual) -> None:  # noqa: ANN001
    assert sign_in(client, who).status_code == 303
    for url in fmt(PAGES):
        assert client.get(url).status_code == pages, (who, url)
    assert client.get(fmt([FEEDBACK])[0]).status_code == feedback
    assert client.get(fmt([ANNUAL])[0]).status_code == annual
    # a round still open: its results stay sealed for everyone (a reviewer not assigned: 404)
    for url in fmt(PAGES, "sealed"):
        assert client.get(url).status_code in (403, 404), (who, url)
    assert client.get("/console/rounds/y2025/subjects/NOPE").status_code == 404


def cells(page: str) -> dict[str, dict[str, str]]:
    """subject → {data-col: text} from the scorecard table."""
    out: dict[str, dict[str, str]] = {}
    for row in re.finditer(r'<tr data-subject="([^"]+)">(.*?)</tr>', page, re.S):
        found = re.findall(r'data-col="([^"]+)">([^<]*)<', row.group(2))
        out[row.group(1)] = {k: html.unescape(v).strip() for k, v in found}
    return out


def test_every_number_on_the_scorecard_page_is_the_one_flask_score_writes(rounds, client, runner, tmp_path) -> None:  # noqa: ANN001
    out = tmp_path / "scorecard.csv"
    assert runner.invoke(args=["score", "y2025", "--out", str(out)]).exit_code == 0
    rows = {r["subject"]: r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig")))}
    sign_in(client, "rev")
    page = client.get("/console/rounds/y2025/scorecard").get_data(as_text=True)
    shown = cells(page)
    assert list(shown) == list(rows)  # rank order
    for code, row in rows.items():
        got = shown[code]
        for column in ("composite", "public_score", "org_score", "n", "rank", "grade", "org_raters"):
            assert got[column] == (row[column] or ("—" if column not in ("org_raters",) else "0")), (code, column)
        for column in ("positive_share", "negative_share"):
            assert f"{float(got[column].rstrip('%')) / 100:.4f}" == row[column], (code, column)
        assert got["interval"] == f"{row['ci_low']}–{row['ci_high']}"
        for key in ("staff", "students", "retirees"):
            if row[f"n_{key}"]:
                assert got[f"n_{key}"] == row[f"n_{key}"]
            if row[f"score_{key}"]:
                assert got[f"score_{key}"] == row[f"score_{key}"]
                assert f"{float(got[f'positive_share_{key}'].rstrip('%')) / 100:.4f}" == row[f"positive_share_{key}"]
            else:
                assert f"score_{key}" not in got and f"positive_share_{key}" not in got
    # flags in words, not codes
    assert "需复核：第1条规则（「不满意」比例高于20%时，等次最高为「一般」）触发" in page
    assert "review:1" not in page and "suppressed:" not in page
    assert "<svg" in page and "http" not in re.sub(r'xmlns="http://www.w3.org/2000/svg"', "", page).split("<main>")[1]


def test_blanked_group_figures_appear_nowhere(rounds, client) -> None:  # noqa: ANN001
    """Students rate B01 with 2 ballots (display_min 3): their group score 70.00 and positive
    share 83.33% must not be readable on any page or in any download."""
    sign_in(client, "rev")
    for url in ("/console/rounds/y2025/scorecard", "/console/rounds/y2025/subjects/B01"):
        page = client.get(url).get_data(as_text=True)
        assert "70.00" not in page and "83.33" not in page, url
        assert "不予显示" in page
    data = client.get("/console/rounds/y2025/scorecard.csv").get_data(as_text=True)
    b01 = next(r for r in csv.DictReader(io.StringIO(data.lstrip("\ufeff"))) if r["subject"] == "B01")
    assert b01["n_students"] == "2" and b01["score_students"] == "" and b01["positive_share_students"] == ""
    book = load_workbook(io.BytesIO(client.get("/console/rounds/y2025/scorecard.xlsx").get_data()))
    for sheet in book.worksheets:
        values = [v for row in sheet.iter_rows(values_only=True) for v in row]
        assert 70.0 not in values and 0.8333 not in values, sheet.title


def test_sorting_by_column_without_javascript(rounds, client) -> None:  # noqa: ANN001
    sign_in(client, "rev")
    ascending = cells(client.get("/console/rounds/y2025/scorecard?sort=composite&order=asc").get_data(as_text=True))
    assert list(ascending) == ["B02", "B01"]
    page = client.get("/console/rounds/y2025/scorecard?sort=composite&order=desc").get_data(as_text=True)
    assert list(cells(page)) == ["B01", "B02"]
    assert 'href="/console/rounds/y2025/scorecard?sort=composite&amp;order=asc"' in page


def test_downloads(rounds, client, runner, tmp_path) -> None:  # noqa: ANN001
    assert runner.invoke(args=["score", "y2025", "--out", str(tmp_path / "s.csv")]).exit_code == 0
    sign_in(client, "rev")
    answer = client.get("/console/rounds/y2025/scorecard.csv")
    assert answer.get_data() == (tmp_path / "s.csv").read_bytes()
    assert "attachment" in answer.headers["Content-Disposition"]
    pdf = client.get("/console/rounds/y2025/scorecard.pdf")
    assert pdf.mimetype == "application/pdf" and pdf.get_data().startswith(b"%PDF-")


def test_remark_is_written_shown_downloaded_and_audited(rounds, client) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from survey.extensions import db
    from survey.models import AuditEntry

    sign_in(client, "rev")
    token = console_token(client, "/console/rounds/y2025/subjects/B01")
    answer = client.post("/console/rounds/y2025/subjects/B01/remark",
                         data={"csrf_token": token, "text": "作风建设要常抓不懈", "reviewer_name": "王书记"})
    assert answer.status_code == 303
    page = client.get("/console/rounds/y2025/subjects/B01").get_data(as_text=True)
    assert "作风建设要常抓不懈" in page and "王书记" in page
    book = load_workbook(io.BytesIO(client.get("/console/rounds/y2025/scorecard.xlsx").get_data()))
    assert [r[4] for r in book["领导点评"].iter_rows(values_only=True)] == ["领导点评", "作风建设要常抓不懈"]
    db.session.rollback()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "remark.save")).one()
    assert entry.actor == "rev" and entry.round_slug == "y2025" and "作风建设要常抓不懈" in entry.detail
    # an organizer may read it but has no right to write one
    client.post("/logout", data={"csrf_token": console_token(client)})
    sign_in(client, "org")
    token = console_token(client, "/console/rounds/y2025/subjects/B01")
    assert client.post("/console/rounds/y2025/subjects/B01/remark",
                       data={"csrf_token": token, "text": "x", "reviewer_name": "y"}).status_code == 403
    assert client.post("/console/rounds/y2025/subjects/B01/remark",
                       data={"text": "x", "reviewer_name": "y"}).status_code == 400


def test_feedback_link_shows_only_its_subject_and_is_audited(rounds, client) -> None:  # noqa: ANN001
    from sqlalchemy import select

    from survey.extensions import db
    from survey.models import AuditEntry

    sign_in(client, "org")
    token = console_token(client, "/console/rounds/y2025/feedback")
    assert client.post("/console/rounds/y2025/feedback",
                       data={"csrf_token": token, "subject": "B02", "days": "7"}).status_code == 303
    page = client.get("/console/rounds/y2025/feedback").get_data(as_text=True)
    url = re.search(r'value="(https?://[^"]*/feedback/[^"]+)"', page).group(1)
    path = url.split("://", 1)[1].split("/", 1)[1]
    stranger = client.application.test_client()
    shown = stranger.get("/" + path)
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert "机关党委" in text and "计算机学院党总支" not in text and "办事效率有提高" in text
    assert "希望多开展师生座谈" not in text
    assert shown.headers["Cache-Control"] == "no-store"
    db.session.rollback()
    assert db.session.scalars(select(AuditEntry).where(AuditEntry.action == "feedback.open")).all()
    assert stranger.get("/" + path[:-3] + "abc").status_code == 404
    link_id = re.search(r'/feedback/([0-9a-f]{32})/revoke', page).group(1)
    token = console_token(client, "/console/rounds/y2025/feedback")
    client.post(f"/console/rounds/y2025/feedback/{link_id}/revoke", data={"csrf_token": token})
    assert stranger.get("/" + path).status_code == 404


def test_two_years_subject_page_and_ledger_show_before_and_after(rounds, make_round, client) -> None:  # noqa: ANN001
    sign_in(client, "root")
    token = console_token(client, "/console/rounds/y2025/rectify")
    answer = client.post("/console/rounds/y2025/rectify",
                         data={"csrf_token": token, "grade": "", "negative_share": "20"})
    assert answer.status_code == 303
    page = client.get("/console/rounds/y2025/rectify").get_data(as_text=True)
    entry_id = re.search(r'id="entry-(\d+)"', page).group(1)
    client.post(f"/console/rounds/y2025/rectify/{entry_id}",
                data={"csrf_token": token, "problem": "「服务师生」不满意较多", "measure": "设立服务窗口",
                      "responsible": "张处长", "due_on": "2026-06-30", "status": "done", "note": ""})
    better = [(g, {k: (S if k == ("B02", "conduct") and v == D else v) for k, v in a.items()}) for g, a in BALLOTS]
    closed_round(make_round, spec_for("y2026", 2026), ballots=better, comments=[])
    page = client.get("/console/rounds/y2026/subjects/B02").get_data(as_text=True)
    assert "以往评议提出的整改及成效" in page and "设立服务窗口" in page
    row = re.search(r'<tr data-entry="\d+" data-item="conduct">.*?</tr>', page, re.S).group(0)
    assert "25.0%" in row and "0.0%" in row and "-25.0" in row and "y2026" in row
    assert "历年对比" in page and "2025年基层党组织群众评议" in page
    book = load_workbook(io.BytesIO(client.get("/console/rounds/y2025/rectify.xlsx").get_data()))
    header, *rows = list(book["整改台账"].iter_rows(values_only=True))
    conduct = dict(zip(header, next(r for r in rows if r[2] == "工作作风")))
    assert conduct["整改前负面比例"] == 0.25 and conduct["对照评议"] == "y2026"
    assert conduct["整改后负面比例"] == 0.0 and conduct["整改后均分"] == 90.0


def _command_workbook(runner, tmp_path, roster_name: str, roster: bytes, weights: dict):  # noqa: ANN001, ANN202
    """annual.xlsx as ``python -m scoring annual`` writes it from ``flask score``'s scorecard."""
    import json

    from scoring.cli import main as scoring_main

    (tmp_path / roster_name).write_bytes(roster)
    (tmp_path / "annual.json").write_text(json.dumps(weights, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(args=["score", "y2025", "--out", str(tmp_path / "s.csv")]).exit_code == 0
    assert scoring_main(["annual", "--roster", str(tmp_path / roster_name), "--scorecard", str(tmp_path / "s.csv"),
                         "--weights", str(tmp_path / "annual.json"), "--out", str(tmp_path / "annual.xlsx")]) == 0
    return load_workbook(tmp_path / "annual.xlsx")


def _same_workbook(mine, theirs) -> None:  # noqa: ANN001
    assert mine.sheetnames == theirs.sheetnames
    for name in theirs.sheetnames:
        assert list(mine[name].iter_rows(values_only=True)) == list(theirs[name].iter_rows(values_only=True)), name


def test_annual_merge_preview_and_download(rounds, client, runner, tmp_path) -> None:  # noqa: ANN001
    from .test_review_services import ANNUAL_WEIGHTS, ROSTER

    sign_in(client, "rev")
    token = console_token(client, "/console/rounds/y2025/annual")
    form = {"csrf_token": token, "name0": "daily", "weight0": "0.4", "source0": "",
            "name1": "mass_evaluation", "weight1": "0.6", "source1": "composite",
            "grades": "优秀 85\n合格 60\n不合格 0", "cap": ""}
    answer = client.post("/console/rounds/y2025/annual", content_type="multipart/form-data",
                         data={**form, "roster": (io.BytesIO(ROSTER.encode()), "roster.csv")})
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert f'data-col="年度得分">{0.4 * 90 + 0.6 * 70.56:.2f}<' in page
    assert "<th>代码</th><th>名称</th>" in page and "annual_score" not in page.split("annual.json")[0]
    kept = re.search(r'name="roster_kept" value="([^"]*)"', page).group(1)
    download = client.post("/console/rounds/y2025/annual",
                           data={**form, "roster_kept": kept, "roster_name": "roster.csv", "download": "1"})
    assert download.status_code == 200 and "annual.xlsx" in download.headers["Content-Disposition"]
    _same_workbook(load_workbook(io.BytesIO(download.get_data())),
                   _command_workbook(runner, tmp_path, "roster.csv", ROSTER.encode(), ANNUAL_WEIGHTS))
    bad = client.post("/console/rounds/y2025/annual", content_type="multipart/form-data",
                      data={**form, "roster": (io.BytesIO(b"subject,name,daily\nB01,x,abc\n"), "r.csv")})
    assert bad.status_code == 422 and "r.csv 第2行：「daily」“abc”不是数字" in bad.get_data(as_text=True)


CHINESE_WEIGHTS = {
    "components": {"日常考核": 0.4, "述职评议": 0.3, "群众评议": {"from": "composite", "weight": 0.3}},
    "grades": [{"grade": "优秀", "min": 90}, {"grade": "合格", "min": 70}, {"grade": "基本合格", "min": 60},
               {"grade": "不合格", "min": 0}],
    "rules": [],
}
#: a roster as a school keeps it: headed in Chinese, the components the console offers by default
CHINESE_ROSTER = "代码,名称,日常考核,述职评议\nB01,计算机学院党总支,92,88\nB02,机关党委,85,\n"


def _xlsx(text: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for line in text.strip().splitlines():
        book.active.append([int(v) if v.isdigit() else (v or None) for v in line.split(",")])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(("name", "encode"), [
    ("名册.xlsx", _xlsx), ("名册.csv", lambda t: t.encode("gb18030")), ("名册.csv", lambda t: t.encode("utf-8-sig"))])
def test_annual_merge_takes_chinese_rosters_with_the_default_settings(rounds, client, runner, tmp_path, name,
                                                                      encode) -> None:  # noqa: ANN001
    """The page's own defaults (日常考核, 述职评议, 群众评议) and a roster headed 代码,名称 as Excel
    saves it (xlsx, or CSV in GB18030 or UTF-8): preview, then download from the kept copy; the
    workbook is the command's on the same files."""
    sign_in(client, "rev")
    empty = client.get("/console/rounds/y2025/annual").get_data(as_text=True)
    assert 'value="日常考核"' in empty and 'value="述职评议"' in empty and 'value="群众评议"' in empty
    form = {"csrf_token": console_token(client, "/console/rounds/y2025/annual"),
            **{f: v for f, v in re.findall(r'name="((?:name|weight)\d)" value="([^"]*)"', empty)},
            "source2": "composite", "grades": "优秀 90\n合格 70\n基本合格 60\n不合格 0", "cap": ""}
    data = encode(CHINESE_ROSTER)
    answer = client.post("/console/rounds/y2025/annual", content_type="multipart/form-data",
                         data={**form, "roster": (io.BytesIO(data), name)})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200, page
    # B01: 0.4·92 + 0.3·88 + 0.3·70.56 = 84.368
    assert 'data-col="年度得分">84.37<' in page and 'data-col="等次">合格<' in page
    assert "缺少「述职评议」得分，无年度得分、等次和名次" in page
    kept = re.search(r'name="roster_kept" value="([^"]*)"', page).group(1)
    download = client.post("/console/rounds/y2025/annual",
                           data={**form, "roster_kept": kept, "roster_name": name, "download": "1"})
    assert download.status_code == 200, download.get_data(as_text=True)
    mine = load_workbook(io.BytesIO(download.get_data()))
    _same_workbook(mine, _command_workbook(runner, tmp_path, name, data, CHINESE_WEIGHTS))
    header, first, *_ = mine["年度考核"].iter_rows(values_only=True)
    assert header == ("代码", "名称", "日常考核", "述职评议", "群众评议", "年度得分", "等次", "名次", "说明")
    assert first[:5] == ("B01", "计算机学院党总支", 92, 88, 70.56) and first[5] == 84.37


def test_round_overview_links_to_the_results_once_closed(rounds, client) -> None:  # noqa: ANN001
    sign_in(client, "org")
    closed = client.get("/console/rounds/y2025").get_data(as_text=True)
    assert 'href="/console/rounds/y2025/scorecard"' in closed and 'href="/console/rounds/y2025/rectify"' in closed
    sealed = client.get("/console/rounds/sealed").get_data(as_text=True)
    assert "/console/rounds/sealed/scorecard" not in sealed


def test_party_round_pages_speak_of_party_members(make_round, client) -> None:  # noqa: ANN001
    """党员民主评议: people as subjects, party4; the one-third rule in words; 党员, not 单位."""
    from survey.rounds.builtin import example_spec

    spec = example_spec("members")
    del spec["opens_at"], spec["closes_at"]
    items = [i["key"] for i in spec["items"]]
    ballots = [(g, {**{("P0001", i): ("unqualified" if k < 2 else "excellent") for i in items},
                    **{("P0002", i): "qualified" for i in items}})
               for g in ("members", "masses") for k in range(5)]
    closed_round(make_round, spec, ballots=ballots, comments=[])
    make_user("branch", "reviewer", [spec["slug"]])
    sign_in(client, "branch")
    page = client.get(f"/console/rounds/{spec['slug']}/scorecard").get_data(as_text=True)
    assert "共 2 个党员" in page and "单位" not in page
    assert "张明" in page and "不合格" in page
    assert "需复核：第1条规则（「不合格」比例高于三分之一时，等次定为「不合格」）触发" in page
    subject = client.get(f"/console/rounds/{spec['slug']}/subjects/P0001").get_data(as_text=True)
    assert "带头开展师生志愿服务" in subject and "政治合格" in subject


@pytest.fixture
def beijing_early_morning(monkeypatch):  # noqa: ANN001, ANN201
    """The clock at 02:38 on 4 December 2026 in Beijing: still 3 December in UTC."""
    from datetime import datetime, timezone

    import survey.timefmt

    moment = datetime(2026, 12, 3, 18, 38, tzinfo=timezone.utc)

    class Clock(datetime):
        @classmethod
        def now(cls, tz=None):  # noqa: ANN001, ANN206
            return moment.astimezone(tz) if tz else moment.replace(tzinfo=None)

    monkeypatch.setattr(survey.timefmt, "datetime", Clock)
    return moment


def test_dates_are_beijing_dates_on_the_page_the_workbook_and_the_pdf(rounds, client, beijing_early_morning,
                                                                       tmp_path) -> None:  # noqa: ANN001
    from .test_report_pdf import pdftotext

    sign_in(client, "rev")
    token = console_token(client, "/console/rounds/y2025/subjects/B01")
    client.post("/console/rounds/y2025/subjects/B01/remark",
                data={"csrf_token": token, "text": "作风建设要常抓不懈", "reviewer_name": "王书记"})
    page = client.get("/console/rounds/y2025/subjects/B01").get_data(as_text=True)
    assert "王书记，2026-12-04" in page and "2026-12-03" not in page
    book = load_workbook(io.BytesIO(client.get("/console/rounds/y2025/scorecard.xlsx").get_data()))
    assert [r[3] for r in book["领导点评"].iter_rows(values_only=True)] == ["日期", "2026-12-04"]
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(client.get("/console/rounds/y2025/scorecard.pdf").get_data())
    text = pdftotext(pdf)
    assert "生成于 2026-12-04" in text and "王书记，2026-12-04" in text and "2026-12-03" not in text


def test_feedback_links_carry_the_stored_public_address(rounds, client) -> None:  # noqa: ANN001
    """The organizer's browser reaches the console at its own address (the test client's
    "localhost"); the link handed to the rated carries the installation's public address."""
    from survey.database import unit_of_work
    from survey.settings import set_base_url

    with unit_of_work():
        set_base_url("https://pingyi.example.edu.cn")
    sign_in(client, "org")
    token = console_token(client, "/console/rounds/y2025/feedback")
    client.post("/console/rounds/y2025/feedback", data={"csrf_token": token, "subject": "B01", "days": "7"})
    page = client.get("/console/rounds/y2025/feedback").get_data(as_text=True)
    urls = re.findall(r'value="([^"]*/feedback/[^"]+)"', page)
    assert len(urls) == 1 and urls[0].startswith("https://pingyi.example.edu.cn/feedback/")
    assert "localhost" not in page
    assert client.get(urls[0].removeprefix("https://pingyi.example.edu.cn")).status_code == 200


def test_one_note_per_fact_on_the_scorecard_page_and_in_the_report(make_round, client, tmp_path) -> None:  # noqa: ANN001
    """Students (2 ballots) fall below min_group_responses 3 and display_min 3: one note says
    both, none says they still count; the three groups' low turnout is one note, not three."""
    from .review_fixtures import SPEC
    from .test_report_pdf import pdftotext

    spec = spec_for("y2025", 2025)
    spec["scheme"] = dict(SPEC["scheme"], min_group_responses=3, min_participation=0.6)
    closed_round(make_round, spec)
    make_user("rev", "reviewer", ["y2025"])
    sign_in(client, "rev")
    page = client.get("/console/rounds/y2025/scorecard").get_data(as_text=True)
    notes = re.findall(r"<li>([^<]*)</li>", page.split('data-subject="B01"')[1].split("</tr>")[0])
    assert notes == ["未计入学生：该群体有效票少于3张，其权重按比例分给其余群体；其分项数据也不予显示",
                     "教职工、学生、离退休同志参与率低于60%"]
    assert "仍计入公众评分" not in page and page.count("参与率低于60%") == 4  # B01 and B02, page and narrow copies
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(client.get("/console/rounds/y2025/scorecard.pdf").get_data())
    first = pdftotext(pdf).split("\f")[0]
    assert first.count("未计入学生") == 1 and first.count("教职工、学生、离退休同志参与率低于60%") == 1
    assert not any(line.strip().startswith(("，", "；")) for line in first.splitlines())


def test_audit_page_says_every_entry_in_words(rounds, client) -> None:  # noqa: ANN001
    """Entries are stored under their action names (part of the signed chain); the page says
    them in Chinese: no "feedback.open", no "rectify.update changed {…}"."""
    sign_in(client, "root")
    token = console_token(client, "/console/rounds/y2025/feedback")
    client.post("/console/rounds/y2025/feedback", data={"csrf_token": token, "subject": "B02", "days": "7"})
    page = client.get("/console/rounds/y2025/feedback").get_data(as_text=True)
    url = re.search(r'value="(https?://[^"]*/feedback/[^"]+)"', page).group(1)
    client.application.test_client().get("/feedback/" + url.rsplit("/feedback/", 1)[1])
    client.post("/console/rounds/y2025/rectify", data={"csrf_token": token, "grade": "一般", "review": "1"})
    rectify = client.get("/console/rounds/y2025/rectify").get_data(as_text=True)
    entry = re.search(r'action="/console/rounds/y2025/rectify/(\d+)"', rectify).group(1)
    client.post(f"/console/rounds/y2025/rectify/{entry}",
                data={"csrf_token": token, "problem": "作风不实", "measure": "", "responsible": "", "status": "done"})
    client.post("/console/rounds/y2025/subjects/B01/remark",
                data={"csrf_token": token, "text": "抓落实", "reviewer_name": "王书记"})
    log = client.get("/console/audit").get_data(as_text=True)
    for words in ("生成反馈链接", "反馈链接被打开", "生成整改清单", "修改整改事项", "保存领导点评",
                  "状态：未开始 → 已完成", "存在的问题：", "点评人：王书记", "有效期（天）</span> 7"):
        assert words in log, words
    table = log.split("<tbody>")[1]
    for code in ("feedback.", "rectify.", "remark.", "changed", "not_started", "reviewer_name", "其他操作"):
        assert code not in table, code


def test_console_refusals_are_in_words(rounds, client) -> None:  # noqa: ANN001
    """An administrator who names a round that does not exist reads 没有标识为…的评议, not
    "no round '…'"."""
    sign_in(client, "root")
    token = console_token(client, "/console/accounts/rev")
    answer = client.post("/console/accounts/rev", data={"csrf_token": token, "do": "assign", "slug": "y2099"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 404 and "没有标识为“y2099”的评议" in html
    created = client.post("/console/accounts", data={"csrf_token": token, "username": "rev3", "role": "reviewer",
                                                     "password": "correct horse battery", "confirm": "correct horse battery",
                                                     "rounds": "y2099"})
    assert "没有标识为“y2099”的评议" in created.get_data(as_text=True)
