"""Console page of the annual merge (年度考核): upload the roster, set the component weights
and grade bands, preview the merged table, download ``annual.xlsx`` (the workbook of
``python -m scoring annual``). Reviewers and administrators (the ``review`` right)."""

from __future__ import annotations

from flask import Response, render_template, request

from ..console import bp
from ..errors import ServiceError
from ..scorecard.console import results_round_with
from ..scorecard.services import round_results
from .services import (
    AnnualRefused,
    ComponentSetting,
    annual_xlsx,
    keep_roster,
    kept_roster,
    merge,
    preview,
    weights_from_settings,
    weights_json,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SOURCES = {"": "名册", "composite": "综合得分", "public_score": "公众评分", "org_score": "组织评分"}
ROWS = 5
#: what a school's annual assessment usually weighs: the year's 日常考核 and 述职评议 from the
#: roster, and this round's 群众评议 (its composite)
DEFAULTS = {
    "components": [("日常考核", "0.4", ""), ("述职评议", "0.3", ""), ("群众评议", "0.3", "composite")],
    "grades": "优秀 90\n合格 70\n基本合格 60\n不合格 0",
    "cap": "",
}


def _settings(form) -> tuple[list[ComponentSetting], list[tuple[str, float]], float | None]:  # noqa: ANN001
    components = []
    for k in range(ROWS):
        name = (form.get(f"name{k}") or "").strip()
        if not name:
            continue
        try:
            weight = float(form.get(f"weight{k}") or "")
        except ValueError:
            raise AnnualRefused(f"第{k + 1}个组成部分“{name}”的权重应为数字") from None
        source = form.get(f"source{k}") or None
        if source is not None and source not in SOURCES:
            raise AnnualRefused(f"未知的评分来源：{source}")
        components.append(ComponentSetting(name, weight, source))
    grades = []
    for line in (form.get("grades") or "").splitlines():
        if not line.strip():
            continue
        parts = line.split()
        try:
            grades.append((" ".join(parts[:-1]), float(parts[-1])))
        except (ValueError, IndexError):
            raise AnnualRefused(f"等次分数线“{line.strip()}”应写作：等次 最低分，例如 优秀 90") from None
    cap_text = (form.get("cap") or "").strip().rstrip("%")
    try:
        cap = float(cap_text) / 100 if cap_text else None
    except ValueError:
        raise AnnualRefused("优秀比例上限应为百分数") from None
    return components, grades, cap


def _form_values(form) -> dict:  # noqa: ANN001
    if not form:
        return {"components": DEFAULTS["components"] + [("", "", "")] * (ROWS - len(DEFAULTS["components"])),
                "grades": DEFAULTS["grades"], "cap": DEFAULTS["cap"]}
    return {"components": [(form.get(f"name{k}", ""), form.get(f"weight{k}", ""), form.get(f"source{k}", ""))
                           for k in range(ROWS)],
            "grades": form.get("grades", ""), "cap": form.get("cap", "")}


@bp.route("/rounds/<slug>/annual", methods=["GET", "POST"])
def annual(slug: str):  # noqa: ANN201
    round_ = results_round_with(slug, "review")
    values = _form_values(request.form if request.method == "POST" else None)
    context = {"round": round_, "values": values, "sources": SOURCES, "rows": ROWS}
    if request.method == "GET":
        return render_template("annual/merge.html", **context)
    upload = request.files.get("roster")
    try:
        if upload is not None and upload.filename:
            roster, filename = upload.read(), upload.filename
        elif request.form.get("roster_kept"):
            roster, filename = kept_roster(request.form["roster_kept"]), request.form.get("roster_name") or "roster.csv"
        else:
            raise AnnualRefused("请上传名册（CSV 或 xlsx）")
        components, grades, cap = _settings(request.form)
        weights = weights_from_settings(components, grades, top_share_cap=cap)
        result = merge(round_results(round_), roster, filename, weights)
    except ServiceError as exc:
        return render_template("annual/merge.html", error=str(exc), **context), 422
    if request.form.get("download"):
        return Response(annual_xlsx(result), mimetype=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{slug}-annual.xlsx"'})
    rows = preview(result)
    return render_template("annual/merge.html", preview=rows, columns=list(rows[0]) if rows else [],
                           numeric=[c.name for c in result.weights.components] + ["年度得分", "名次"],
                           not_on_roster=result.not_on_roster, weights_text=weights_json(weights),
                           roster_kept=keep_roster(roster), roster_name=filename, **context)
