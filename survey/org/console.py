"""Organizational ratings (组织评价) in the console: a table of subjects × raters, or the CSV
that ``flask --app survey org import`` takes; both go through the same reader and checks.

The table is sent as the CSV the reader takes, one line per filled cell, so a refusal names a
line; the page turns that line back into the cell it came from, marks that cell and says what
is wrong in words (分数 105 超出 0–100), never "网页表格:8: score 105 is outside 0–100".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..auth import audit
from ..auth.access import round_for
from ..console import bp
from ..database import unit_of_work
from ..errors import ServiceError
from ..export.services import csv_bytes
from ..extensions import db
from ..input_words import chinese, where
from ..models import OrgRating, Round, Subject
from .services import OrgRatingsRefused, import_org_csv

BLANK_RATERS = 3  #: empty rater columns offered beside the raters already entered
START_RATERS = 9  #: empty rater columns of a table with no rating yet (a 评议小组 is often 5–9)
TABLE_NAME = "网页表格"
PASTE_NAME = "粘贴的表格"


@dataclass
class RaterColumn:
    """One rater's column of the table: the name typed above it and a score per subject code."""

    rater: str
    scores: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BadCell:
    """The cell a refusal points at: a score (``subject`` set) or a rater's name (``subject``
    None) in column ``column``, and what is wrong with it."""

    column: int
    subject: str | None
    message: str


def _current(round_: Round) -> list[RaterColumn]:
    rows = db.session.execute(
        select(Subject.code, OrgRating.rater, OrgRating.score)
        .join(Subject, Subject.id == OrgRating.subject_id)
        .where(OrgRating.round_id == round_.id)
    ).all()
    columns = {r: RaterColumn(r) for r in sorted({r for _, r, _ in rows})}
    for code, rater, score in rows:
        columns[rater].scores[code] = f"{score:g}"
    return list(columns.values())


def _typed(round_: Round) -> list[RaterColumn]:
    """The table as typed, in its column order; columns left wholly empty are dropped."""
    indexes = sorted(int(k[6:]) for k in request.form if k.startswith("rater:") and k[6:].isdigit())
    columns = []
    for index in indexes:
        column = RaterColumn(request.form.get(f"rater:{index}", "").strip())
        for subject in round_.subjects:
            cell = request.form.get(f"score:{subject.code}:{index}", "").strip()
            if cell:
                column.scores[subject.code] = cell
        if column.rater or column.scores:
            columns.append(column)
    return columns


def _pasted(round_: Round, text: str) -> list[RaterColumn]:
    """Columns from cells copied out of Excel (tab-separated lines): a first row of rater
    names, then a row per subject that starts with its code or name (or both, in two cells),
    then its scores in the raters' order. Raises ``ServiceError`` naming the line it cannot
    place."""
    lines = [line.rstrip("\r").split("\t") for line in text.replace("\r\n", "\n").split("\n")]
    lines = [cells for cells in lines if any(c.strip() for c in cells)]
    if len(lines) < 2:
        raise ServiceError("粘贴的内容应至少两行：第一行是评价人姓名，以下每行一个评议对象（对象代码或名称，再是各人分数），"
                           "各格之间用制表符分隔（从 Excel 复制即是）。")
    by_key = {}
    for subject in round_.subjects:
        by_key[subject.code.casefold()] = subject
        by_key[subject.name.strip()] = subject
    header, rows = lines[0], lines[1:]
    columns: list[RaterColumn] | None = None
    for number, cells in enumerate(rows, start=2):
        subject = by_key.get(cells[0].strip()) or by_key.get(cells[0].strip().casefold())
        if subject is None:
            raise ServiceError(f"粘贴的第 {number} 行：“{cells[0].strip()}”不是本轮的评议对象（应为对象代码或名称）。")
        second = cells[1].strip() if len(cells) > 1 else ""
        offset = 2 if second and by_key.get(second) is subject else 1
        if columns is None:
            columns = [RaterColumn(name.strip()) for name in header[offset:]]
            while columns and not columns[-1].rater:
                columns.pop()
        for k, cell in enumerate(cells[offset:]):
            if not cell.strip():
                continue
            if k >= len(columns):
                raise ServiceError(f"粘贴的第 {number} 行的分数比第一行的评价人多：请连同评价人姓名一起复制。")
            columns[k].scores[subject.code] = cell.strip()
    return columns or []


def _table_csv(columns: list[RaterColumn], round_: Round) -> tuple[bytes, list[tuple[int, str]]]:
    """The table as the CSV ``org import`` reads, and for each data line the (column, subject)
    of the cell it came from."""
    rows, cells = [], []
    for k, column in enumerate(columns):
        for subject in round_.subjects:
            if subject.code in column.scores:
                rows.append((subject.code, column.rater, column.scores[subject.code]))
                cells.append((k, subject.code))
    return csv_bytes(("subject", "rater", "score"), rows), cells


def _bad_cell(exc: OrgRatingsRefused, cells: list[tuple[int, str]], columns: list[RaterColumn],
              round_: Round) -> BadCell | None:
    """The cell of the table a refusal names, with its message in words."""
    if exc.line is None or not 2 <= exc.line < len(cells) + 2:
        return None
    k, code = cells[exc.line - 2]
    reason = exc.reason or ""
    if reason == "empty rater" or reason.startswith(("rater is longer", "rater contains")) or " rates subject " in reason:
        return BadCell(k, None, f"第 {k + 1} 列的评价人：{chinese(reason)}")
    name = next(s.name for s in round_.subjects if s.code == code)
    return BadCell(k, code, f"{name}（评价人“{columns[k].rater}”）：{chinese(reason)}")


@bp.route("/rounds/<slug>/org", methods=["GET", "POST"])
def org_ratings(slug: str):  # noqa: ANN201
    round_ = round_for(slug, "org_ratings")
    columns = _current(round_)
    error, bad = None, None
    if request.method == "POST":
        if not round_.state.org_ratings_editable:
            raise ServiceError(f"评议“{round_.title}”已公布，组织评价不能再修改。")
        upload = request.files.get("file")
        cells: list[tuple[int, str]] = []
        try:
            if upload is not None and upload.filename:
                name, data, source = upload.filename, upload.read(), "upload"
            elif request.form.get("paste", "").strip():
                name, source = PASTE_NAME, "table"
                columns = _pasted(round_, request.form["paste"])
                data, cells = _table_csv(columns, round_)
            else:
                columns = _typed(round_)
                name, source = TABLE_NAME, "table"
                data, cells = _table_csv(columns, round_)
            with unit_of_work():
                result = import_org_csv(round_, data, name)
                audit.record("org.ratings", round_slug=slug, count=result.count, source=source)
        except OrgRatingsRefused as exc:
            bad = _bad_cell(exc, cells, columns, round_) if source == "table" else None
            if bad is not None:
                error = f"表格有误：{bad.message}。请改正标出的格子后再保存。"
            elif exc.reason == "no ratings in the file":
                error = "表格中没有填写任何分数。" if source == "table" else f"{name}：文件中没有组织评价。"
            elif exc.reason != str(exc):  # the library's refusal of a line of the file
                error = f"{where(name, exc.line)}：{chinese(exc.reason)}"
            else:
                error = str(exc)
        except ServiceError as exc:
            error = str(exc)
        else:
            read_as = f"（按 {result.encoding} 读取）" if source == "upload" else ""
            flash(f"已保存 {result.count} 条组织评价{read_as}。", "ok")
            return redirect(url_for("console.org_ratings", slug=slug), 303)
    return render_template(
        "console/org.html", round=round_, columns=columns + [RaterColumn("")] * (BLANK_RATERS if columns else START_RATERS),
        error=error, bad=bad,
    ), (422 if error else 200)
