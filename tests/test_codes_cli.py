"""`codes issue`, `codes sheet` and `qr`: what an organizer hands out so that people can answer."""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import BallotCode

BASE_URL = "https://survey.example.edu.cn"  # the app fixture's SURVEY_BASE_URL
CODE = re.compile(r"\b[2-9A-Z]{5}-[2-9A-Z]{5}\b")


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    """An empty folder for the files a command writes (``tmp_path`` also holds the instance)."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
def open_round(make_round, spec):  # noqa: ANN001, ANN201
    return make_round(spec, status="open")


def stored_codes() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(BallotCode))


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "a CSV for Excel must start with a UTF-8 byte order mark"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def database_text() -> str:
    """Every row of every table, as text: what the database's owner could read."""
    db.session.rollback()
    chunks = []
    for table in sa.inspect(db.engine).get_table_names():
        for row in db.session.execute(sa.text(f'SELECT * FROM "{table}"')):
            chunks.append(f"{table}: {tuple(row)!r}")
    return "\n".join(chunks)


def only_line(result) -> str:  # noqa: ANN001
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


# --- codes issue -------------------------------------------------------------------------


def test_issue_writes_a_csv_of_distinct_codes_and_their_links(runner, open_round, outdir) -> None:  # noqa: ANN001
    out = outdir / "codes.csv"

    result = runner.invoke(args=["codes", "issue", "r2012", "--group", "staff", "--count", "25", "--out", str(out)])

    assert result.exit_code == 0, result.output
    header, *rows = read_csv(out)
    assert header == ["code", "url"]
    assert len(rows) == 25
    codes = [code for code, _ in rows]
    assert len(set(codes)) == 25
    for code, url in rows:
        assert CODE.fullmatch(code), code
        assert url == f"{BASE_URL}/b/{code}"
    assert stored_codes() == 25


def test_every_issued_code_opens_its_groups_questionnaire(runner, client, open_round, outdir) -> None:  # noqa: ANN001
    out = outdir / "codes.csv"
    runner.invoke(args=["codes", "issue", "r2012", "--group", "staff", "--count", "3", "--out", str(out)])

    for _, url in read_csv(out)[1:]:
        page = client.get(url.removeprefix(BASE_URL))
        assert page.status_code == 200
        assert "教职工" in page.get_data(as_text=True)


def test_codes_are_stored_only_as_hashes(runner, open_round, submit, outdir) -> None:  # noqa: ANN001
    out = outdir / "codes.csv"
    runner.invoke(args=["codes", "issue", "r2012", "--group", "staff", "--count", "10", "--out", str(out)])
    codes = [code for code, _ in read_csv(out)[1:]]
    # one code used, so that the ballot side of the database has rows too
    assert submit(f"/b/{codes[0]}", {"a:B01:service": "satisfied"}).status_code == 200

    dump = database_text()

    assert "ballot_codes" in dump
    for code in codes:
        for form in (code, code.replace("-", ""), code.lower(), code.replace("-", "").lower()):
            assert form not in dump


def test_draft_rounds_may_get_codes_before_they_open(runner, make_round, spec, outdir) -> None:  # noqa: ANN001
    make_round(spec, status="draft")
    out = outdir / "codes.csv"

    result = runner.invoke(args=["codes", "issue", "r2012", "--group", "staff", "--count", "2", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert stored_codes() == 2


REFUSED_ISSUES = {
    "an open-access group": (["--group", "students", "--count", "5"], "takes open access"),
    "an unknown group": (["--group", "parents", "--count", "5"], "has no group 'parents'"),
    "a count of 0": (["--group", "staff", "--count", "0"], "--count must be from 1"),
    "a negative count": (["--group", "staff", "--count", "-3"], "--count must be from 1"),
}


@pytest.mark.parametrize("options, says", REFUSED_ISSUES.values(), ids=REFUSED_ISSUES.keys())
def test_issuing_is_refused_and_stores_and_writes_nothing(
    runner, open_round, outdir, options, says  # noqa: ANN001
) -> None:
    out = outdir / "codes.csv"

    result = runner.invoke(args=["codes", "issue", "r2012", *options, "--out", str(out)])

    assert result.exit_code != 0
    assert says in only_line(result)
    assert stored_codes() == 0
    assert list(outdir.iterdir()) == []


@pytest.mark.parametrize("status", ["closed", "published"])
def test_issuing_for_a_round_that_has_ended_is_refused(runner, make_round, spec, outdir, status) -> None:  # noqa: ANN001
    make_round(spec, status=status)
    out = outdir / "codes.csv"

    result = runner.invoke(args=["codes", "issue", "r2012", "--group", "staff", "--count", "5", "--out", str(out)])

    assert result.exit_code != 0
    assert f"round 'r2012' is {status}" in only_line(result)
    assert stored_codes() == 0
    assert not out.exists()


def test_issuing_for_an_unknown_round_is_refused(runner, outdir) -> None:  # noqa: ANN001
    out = outdir / "codes.csv"

    result = runner.invoke(args=["codes", "issue", "nosuch", "--group", "staff", "--count", "5", "--out", str(out)])

    assert result.exit_code != 0
    assert "no round 'nosuch'" in only_line(result)
    assert not out.exists()


# --- codes sheet -------------------------------------------------------------------------


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_sheet_writes_a_pdf_of_slips_and_stores_exactly_that_many_codes(
    runner, client, open_round, outdir  # noqa: ANN001
) -> None:
    out = outdir / "slips.pdf"

    result = runner.invoke(args=["codes", "sheet", "r2012", "--group", "staff", "--count", "12", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    assert stored_codes() == 12
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext is not installed (apt-get install poppler-utils): the slips' text is not checked")
    printed = set(CODE.findall(pdf_text(out)))
    assert len(printed) == 12
    for code in printed:  # the printed codes are the stored ones
        assert client.get(f"/b/{code}").status_code == 200


def test_sheet_for_an_open_access_group_is_refused(runner, open_round, outdir) -> None:  # noqa: ANN001
    out = outdir / "slips.pdf"

    result = runner.invoke(args=["codes", "sheet", "r2012", "--group", "students", "--count", "5", "--out", str(out)])

    assert result.exit_code != 0
    assert "takes open access" in only_line(result)
    assert stored_codes() == 0
    assert list(outdir.iterdir()) == []


def test_sheet_needs_a_pdf_file_name(runner, open_round, outdir) -> None:  # noqa: ANN001
    out = outdir / "slips.png"

    result = runner.invoke(args=["codes", "sheet", "r2012", "--group", "staff", "--count", "5", "--out", str(out)])

    assert result.exit_code != 0
    assert ".pdf" in only_line(result)
    assert stored_codes() == 0
    assert list(outdir.iterdir()) == []


# --- qr ----------------------------------------------------------------------------------


def zbar(path: Path) -> list[str]:
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(path)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_qr_png_of_an_open_group_holds_its_link(runner, open_round, outdir) -> None:  # noqa: ANN001
    out = outdir / "poster.png"

    result = runner.invoke(args=["qr", "r2012", "--group", "students", "--out", str(out)])

    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    if shutil.which("zbarimg") is None:
        pytest.skip("zbarimg is not installed (apt-get install zbar-tools): the PNG is not decoded")
    assert zbar(out) == [f"{BASE_URL}/r/r2012/students"]


def test_qr_svg_of_an_open_group(runner, open_round, outdir) -> None:  # noqa: ANN001
    out = outdir / "poster.svg"

    result = runner.invoke(args=["qr", "r2012", "--group", "students", "--out", str(out)])

    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "<svg" in text
    assert "</svg>" in text


REFUSED_QR = {
    "a codes group": (["--group", "staff", "--out", "poster.png"], "answers by single-use codes"),
    "an unknown group": (["--group", "parents", "--out", "poster.png"], "has no group 'parents'"),
    "a bad suffix": (["--group", "students", "--out", "poster.jpg"], ".png or .svg"),
    "no suffix": (["--group", "students", "--out", "poster"], ".png or .svg"),
}


@pytest.mark.parametrize("options, says", REFUSED_QR.values(), ids=REFUSED_QR.keys())
def test_qr_is_refused_and_writes_nothing(runner, open_round, outdir, options, says) -> None:  # noqa: ANN001
    *rest, out = options
    result = runner.invoke(args=["qr", "r2012", *rest, str(outdir / out)])

    assert result.exit_code != 0
    assert says in only_line(result)
    assert list(outdir.iterdir()) == []


OUT_IN_A_MISSING_FOLDER = {
    "codes issue": ["codes", "issue", "r2012", "--group", "staff", "--count", "3", "--out", "missing/codes.csv"],
    "codes sheet": ["codes", "sheet", "r2012", "--group", "staff", "--count", "3", "--out", "missing/slips.pdf"],
    "qr": ["qr", "r2012", "--group", "students", "--out", "missing/poster.png"],
}


@pytest.mark.parametrize("args", OUT_IN_A_MISSING_FOLDER.values(), ids=OUT_IN_A_MISSING_FOLDER.keys())
def test_an_output_file_that_cannot_be_written_is_a_one_line_refusal(runner, open_round, outdir, args) -> None:  # noqa: ANN001
    *rest, out = args

    result = runner.invoke(args=[*rest, str(outdir / out)])

    assert result.exit_code != 0
    assert str(outdir / "missing") in result.output.splitlines()[-1]
    assert "Traceback" not in result.output
    assert result.output.splitlines()[-1].startswith("Error: ")
    assert stored_codes() == 0
