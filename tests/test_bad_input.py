"""Bad input answers 4xx with a Chinese message (or a non-zero exit with a one-line reason) and
stores nothing: JSON nested too deep, an xlsx that unpacks to far more than it weighs, a public
address no URL can hold; and text typed by anyone never becomes a formula in the CSV files and
workbooks the project writes."""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import zipfile

import pytest
from openpyxl import Workbook, load_workbook

from scoring.cells import formula_like, inert_text, plain_text
from scoring.input_limits import InputTooLarge, check_xlsx, json_depth, load_json_text

from .console_helpers import console_token, make_user, sign_in
from .review_fixtures import BALLOTS, SPEC, closed_round

DEEP_JSON = "[" * 100_000 + "]" * 100_000


# --- JSON ------------------------------------------------------------------------------------


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth('{"a": [1, {"b": "[[[[{{{{"}]}') == 3
    assert json_depth('"\\"[" ') == 0
    assert json_depth("[]") == 1


def test_deep_json_is_refused_before_parsing() -> None:
    with pytest.raises(InputTooLarge, match=r"nested 100,?000 levels deep \(at most 32\)"):
        load_json_text(DEEP_JSON)
    assert load_json_text("[" * 32 + "]" * 32) is not None


def test_rounds_import_refuses_a_deep_spec_in_one_line(app, runner, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "spec.json"
    path.write_text(DEEP_JSON, encoding="utf-8")

    result = runner.invoke(args=["rounds", "import", str(path)])

    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {path}: refused: the JSON is nested 100000 levels deep (at most 32)"
    assert runner.invoke(args=["rounds", "list"]).output == ""


def test_the_builder_upload_refuses_a_deep_spec_with_a_chinese_message(app, client, make_round) -> None:  # noqa: ANN001
    make_round(status="draft")
    make_user("org", "organizer")
    sign_in(client, "org")
    token = console_token(client)
    before = client.get("/console/rounds/r2012/spec.json").get_data()

    answer = client.post("/console/rounds/r2012/spec.json", content_type="multipart/form-data", data={
        "csrf_token": token, "file": (io.BytesIO(DEEP_JSON.encode()), "deep.json")})

    assert 400 <= answer.status_code < 500
    assert "deep.json: 文件嵌套过深或过大，未导入" in answer.get_data(as_text=True)
    assert client.get("/console/rounds/r2012/spec.json").get_data() == before


def test_python_m_scoring_refuses_a_deep_spec(tmp_path, capsys) -> None:  # noqa: ANN001
    from scoring.cli import main

    (tmp_path / "spec.json").write_text(DEEP_JSON, encoding="utf-8")
    (tmp_path / "answers.csv").write_text("response_id,group,subject,item,answer\n", encoding="utf-8")

    code = main(["score", "--spec", str(tmp_path / "spec.json"), "--answers", str(tmp_path / "answers.csv"),
                 "--out", str(tmp_path / "scorecard.csv")])

    assert code != 0
    assert "nested 100000 levels deep" in capsys.readouterr().err
    assert not (tmp_path / "scorecard.csv").exists()


# --- xlsx ------------------------------------------------------------------------------------


def roster_workbook() -> bytes:
    book = Workbook()
    book.active.append(["subject", "name", "daily"])
    book.active.append(["B01", "计算机学院党总支", 90])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def swollen(data: bytes, member: str, size: int) -> bytes:
    """``data`` (an xlsx) with ``member`` replaced by ``size`` bytes that pack to almost nothing."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            if info.filename == member:
                body = body.replace(b"</worksheet>", b"") + b" " * size + b"</worksheet>"
            target.writestr(info.filename, body, compresslevel=9)
    return out.getvalue()


SHEET = "xl/worksheets/sheet1.xml"


def test_an_ordinary_workbook_passes_the_check() -> None:
    check_xlsx(roster_workbook())


def test_a_workbook_that_unpacks_to_too_much_is_refused_from_its_directory() -> None:
    bomb = swollen(roster_workbook(), SHEET, 60_000_000)
    assert len(bomb) < 200_000
    with pytest.raises(InputTooLarge, match=r"unpacks to 60 MB \(at most 10 MB\)"):
        check_xlsx(bomb)


def test_a_member_packed_far_tighter_than_a_sheet_is_refused() -> None:
    tight = swollen(roster_workbook(), SHEET, 5_000_000)
    with pytest.raises(InputTooLarge, match=r"xl/worksheets/sheet1.xml unpacks [\d,]+ times its packed size"):
        check_xlsx(tight)


def test_a_file_that_is_no_zip_is_not_a_workbook() -> None:
    with pytest.raises(ValueError, match="not an xlsx workbook"):
        check_xlsx(b"subject,name\n")


def test_the_annual_merge_refuses_a_zip_bomb_roster_before_openpyxl_reads_it(app, client, make_round,
                                                                            monkeypatch) -> None:  # noqa: ANN001
    import openpyxl

    closed_round(make_round)
    make_user("rev", "reviewer", ["y2025"])
    sign_in(client, "rev")

    def never(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("openpyxl read the bomb")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    token = console_token(client, "/console/rounds/y2025/annual")
    form = {"csrf_token": token, "name0": "daily", "weight0": "0.4", "source0": "",
            "name1": "mass_evaluation", "weight1": "0.6", "source1": "composite", "grades": "优秀 85\n合格 0", "cap": ""}
    bomb = swollen(roster_workbook(), SHEET, 60_000_000)

    answer = client.post("/console/rounds/y2025/annual", content_type="multipart/form-data",
                         data={**form, "roster": (io.BytesIO(bomb), "roster.xlsx")})

    assert answer.status_code == 422
    assert "roster.xlsx：工作簿解压后过大，未读取（unpacks to 60 MB (at most 10 MB)）" in answer.get_data(as_text=True)


# --- the public address ----------------------------------------------------------------------

BAD_ADDRESSES = {
    "NUL": "https://pingyi.example.edu.cn/\x00x",
    "ESC": "https://pingyi\x1b.example.edu.cn",
    "a bracket": "https://pingyi[.example.edu.cn",
    "a bracket in the path": "https://pingyi.example.edu.cn/a[1]",
    "a space": "https://pingyi example.edu.cn",
    "a password": "https://admin:secret@pingyi.example.edu.cn",
    "a bad port": "https://pingyi.example.edu.cn:99999",
}


@pytest.mark.parametrize("url", BAD_ADDRESSES.values(), ids=BAD_ADDRESSES.keys())
def test_the_settings_page_refuses_an_address_no_url_can_hold(app, client, url: str) -> None:  # noqa: ANN001
    from survey.settings import public_base_url

    make_user("root", "admin")
    sign_in(client, "root")
    token = console_token(client, "/console/settings")

    answer = client.post("/console/settings", data={"csrf_token": token, "base_url": url})

    assert answer.status_code == 422
    assert "公共地址须为 http:// 或 https:// 开头的有效网址" in answer.get_data(as_text=True)
    assert public_base_url() == "https://survey.example.edu.cn"


@pytest.mark.parametrize("url", BAD_ADDRESSES.values(), ids=BAD_ADDRESSES.keys())
def test_config_set_base_url_refuses_it_in_one_line(runner, url: str) -> None:  # noqa: ANN001
    result = runner.invoke(args=["config", "set-base-url", url])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1


@pytest.mark.parametrize("url", ["https://pingyi.example.edu.cn", "http://10.1.2.3:8080/survey",
                                 "http://[2001:db8::1]:8080", "https://评议.example.edu.cn"])
def test_real_addresses_are_stored(runner, url: str) -> None:  # noqa: ANN001
    result = runner.invoke(args=["config", "set-base-url", url])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"base_url\t{url}")


# --- formulas --------------------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"点此\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
            "\t=1+2", "\r=1+2"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_like_text_gets_an_apostrophe_in_csv_and_reads_back(text: str) -> None:
    assert formula_like(text)
    assert inert_text(text) == "'" + text
    assert plain_text(inert_text(text)) == text


@pytest.mark.parametrize("value", ["-2.50", "+3", "1e5", "合格", "B01", "", 7, None])
def test_numbers_and_plain_text_are_left_alone(value) -> None:  # noqa: ANN001
    assert inert_text(value) == value


def xlsx_text_cells(data: bytes) -> dict[str, list]:  # noqa: ANN201
    """Per sheet, every cell: (value, stored as, marked as text)."""
    book = load_workbook(io.BytesIO(data))
    return {sheet.title: [(c.value, c.data_type, c.quotePrefix) for row in sheet.iter_rows() for c in row]
            for sheet in book.worksheets}


def test_remarks_measures_names_and_comments_never_become_formulas(app, client, make_round, runner,
                                                                   tmp_path) -> None:  # noqa: ANN001
    spec = copy.deepcopy(SPEC)
    spec["subjects"][1]["name"] = FORMULAS[0]
    closed_round(make_round, spec, BALLOTS, [("B01", "staff", "=1+2"), ("B02", "staff", "-加强学习")])
    make_user("root", "admin")
    sign_in(client, "root")
    token = console_token(client, "/console/rounds/y2025/subjects/B01")
    assert client.post("/console/rounds/y2025/subjects/B01/remark",
                       data={"csrf_token": token, "text": "=cmd|' /C calc'!A0", "reviewer_name": "@王书记"}
                       ).status_code == 303
    assert client.post("/console/rounds/y2025/rectify",
                       data={"csrf_token": token, "grade": "", "negative_share": "20"}).status_code == 303
    entry_id = re.search(r'id="entry-(\d+)"', client.get("/console/rounds/y2025/rectify").get_data(as_text=True)).group(1)
    client.post(f"/console/rounds/y2025/rectify/{entry_id}",
                data={"csrf_token": token, "problem": "+不满意较多", "measure": "=HYPERLINK(\"http://x\")",
                      "responsible": "-张处长", "due_on": "2026-06-30", "status": "done", "note": "@备注"})

    workbooks = {
        "scorecard.xlsx": client.get("/console/rounds/y2025/scorecard.xlsx").get_data(),
        "rectify.xlsx": client.get("/console/rounds/y2025/rectify.xlsx").get_data(),
    }
    for name, data in workbooks.items():
        for sheet, cells in xlsx_text_cells(data).items():
            assert not any(kind == "f" for _, kind, _ in cells), (name, sheet)
            for value, kind, marked in cells:
                if formula_like(value):
                    assert kind == "s" and marked, (name, sheet, value)
    remarks = [v for v, _, _ in xlsx_text_cells(workbooks["scorecard.xlsx"])["领导点评"]]
    assert "=cmd|' /C calc'!A0" in remarks and "@王书记" in remarks
    ledger = [v for cells in xlsx_text_cells(workbooks["rectify.xlsx"]).values() for v, _, _ in cells]
    assert {"=HYPERLINK(\"http://x\")", "+不满意较多", "-张处长", "@备注"} <= set(ledger)

    scorecard_csv = client.get("/console/rounds/y2025/scorecard.csv").get_data().decode("utf-8-sig")
    names = [row["name"] for row in csv.DictReader(io.StringIO(scorecard_csv))]
    assert "'" + FORMULAS[0] in names
    assert runner.invoke(args=["export", "y2025", "--out", str(tmp_path / "export")]).exit_code == 0
    with open(tmp_path / "export" / "comments.csv", encoding="utf-8-sig", newline="") as fh:
        assert sorted(row["text"] for row in csv.DictReader(fh)) == ["'-加强学习", "'=1+2"]


def test_an_export_with_a_code_starting_with_a_dash_scores_as_it_did(app, make_round, runner, tmp_path) -> None:  # noqa: ANN001
    """Keys may start with "-": written behind an apostrophe, they read back as they were."""
    from scoring.cli import main as scoring_main

    spec = json.loads(json.dumps(SPEC).replace('"B02"', '"-B02"'))
    ballots = [(g, {(s.replace("B02", "-B02"), i): v for (s, i), v in a.items()}) for g, a in BALLOTS]
    closed_round(make_round, spec, ballots, [])
    assert runner.invoke(args=["score", "y2025", "--out", str(tmp_path / "service.csv")]).exit_code == 0
    assert runner.invoke(args=["export", "y2025", "--out", str(tmp_path / "export")]).exit_code == 0
    assert "'-B02" in (tmp_path / "export" / "answers.csv").read_text(encoding="utf-8-sig")

    assert scoring_main(["score", "--spec", str(tmp_path / "export" / "spec.json"),
                         "--answers", str(tmp_path / "export" / "answers.csv"),
                         "--out", str(tmp_path / "library.csv")]) == 0
    assert (tmp_path / "library.csv").read_bytes() == (tmp_path / "service.csv").read_bytes()
