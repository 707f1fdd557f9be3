"""Organizational ratings (组织评价) in the console: a table of subjects × raters, or the CSV
that ``flask --app survey org import`` takes; both go through the same reader and checks."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import select

from ..auth import audit
from ..auth.access import round_for
from ..console import bp
from ..database import unit_of_work
from ..errors import ServiceError
from ..export.services import csv_bytes
from ..extensions import db
from ..models import OrgRating, Round, Subject
from .services import import_org_csv

BLANK_RATERS = 3  #: empty rater columns offered for new raters


def _current(round_: Round) -> tuple[list[str], dict[tuple[str, str], float]]:
    rows = db.session.execute(
        select(Subject.code, OrgRating.rater, OrgRating.score)
        .join(Subject, Subject.id == OrgRating.subject_id)
        .where(OrgRating.round_id == round_.id)
    ).all()
    raters = sorted({r for _, r, _ in rows})
    return raters, {(s, r): v for s, r, v in rows}


@bp.route("/rounds/<slug>/org", methods=["GET", "POST"])
def org_ratings(slug: str):  # noqa: ANN201
    round_ = round_for(slug, "org_ratings")
    raters, scores = _current(round_)
    error = None
    if request.method == "POST":
        if not round_.state.org_ratings_editable:
            raise ServiceError(f"评议“{round_.title}”已公布，组织评价不能再修改。")
        upload = request.files.get("file")
        try:
            if upload is not None and upload.filename:
                name = upload.filename
                data = upload.read()
                source = "upload"
            else:
                name = "网页表格"
                data = _table_csv(round_)
                source = "table"
            with unit_of_work():
                result = import_org_csv(round_, data, name)
                audit.record("org.ratings", round_slug=slug, count=result.count, source=source)
        except ServiceError as exc:
            error = str(exc)
        else:
            read_as = f"（按 {result.encoding} 读取）" if source == "upload" else ""
            flash(f"已保存 {result.count} 条组织评价{read_as}。", "ok")
            return redirect(url_for("console.org_ratings", slug=slug), 303)
        if source == "table":  # show what was typed, beside the error
            raters, scores = _typed(round_)
    return render_template(
        "console/org.html", round=round_, raters=raters + [""] * BLANK_RATERS, scores=scores, error=error,
    ), (422 if error else 200)


def _typed_columns() -> list[tuple[int, str]]:
    columns = []
    for key, value in request.form.items():
        if key.startswith("rater:") and key[6:].isdigit():
            columns.append((int(key[6:]), value.strip()))
    return sorted(columns)


def _table_csv(round_: Round) -> bytes:
    """The table as the CSV ``org import`` reads: one row per filled cell."""
    rows = []
    for index, rater in _typed_columns():
        for subject in round_.subjects:
            cell = request.form.get(f"score:{subject.code}:{index}", "").strip()
            if cell:
                rows.append((subject.code, rater, cell))
    return csv_bytes(("subject", "rater", "score"), rows)


def _typed(round_: Round) -> tuple[list[str], dict[tuple[str, str], str]]:
    raters, scores = [], {}
    for index, rater in _typed_columns():
        if not rater:
            continue
        raters.append(rater)
        for subject in round_.subjects:
            scores[(subject.code, rater)] = request.form.get(f"score:{subject.code}:{index}", "")
    return raters, scores
