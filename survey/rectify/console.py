"""Console pages of 整改 (rectification): draw up the list from a closed round's results with
thresholds the organizer picks, edit the entries, download the ledger (台账) with each entry's
figure before and after. Organizers, administrators and the round's reviewers may edit."""

from __future__ import annotations

from datetime import date

from flask import Response, flash, redirect, render_template, request, url_for

from ..auth.access import results_round
from ..auth.audit import record
from ..console import bp
from ..database import unit_of_work
from ..errors import ServiceError
from ..models import RectificationStatus
from ..scorecard.services import round_results
from ..scorecard.words import vocabulary
from .services import (
    BY_HAND,
    REASON_WORDS,
    Triggers,
    add_entry,
    draw_up,
    effects,
    get_entry,
    ledger_frame,
    ledger_xlsx,
    update_entry,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.get("/rounds/<slug>/rectify")
def rectify(slug: str):  # noqa: ANN201
    round_ = results_round(slug)
    spec = round_results(round_, with_interval=False).spec
    return render_template(
        "rectify/list.html", round=round_, effects=effects(round_), grades=[b.grade for b in spec.scheme.grades],
        items={i.key: i.text for i in spec.items}, names={s.code: s.name for s in spec.subjects},
        statuses=list(RectificationStatus), reasons=REASON_WORDS, words=vocabulary(spec), by_hand=BY_HAND,
    )


@bp.post("/rounds/<slug>/rectify/add")
def add_rectify(slug: str):  # noqa: ANN201
    """An entry written by hand: from a comment, a 领导点评 or a meeting."""
    round_ = results_round(slug)
    form = request.form
    try:
        due = date.fromisoformat(form["due_on"]) if form.get("due_on") else None
    except ValueError:
        flash("完成时限应为日期", "error")
        return redirect(url_for("console.rectify", slug=slug) + "#add", 303)
    try:
        with unit_of_work():
            entry = add_entry(round_, subject_code=form.get("subject", ""), item_key=form.get("item") or None,
                              reason=form.get("reason", ""), problem=form.get("problem", ""),
                              measure=form.get("measure", ""), responsible=form.get("responsible", ""), due_on=due,
                              note=form.get("note", ""))
            record("rectify.add", round_slug=slug, subject=entry.subject_code, item=entry.item_key, reason=entry.reason)
    except ServiceError as exc:
        flash(str(exc), "error")
        return redirect(url_for("console.rectify", slug=slug) + "#add", 303)
    flash("已添加整改事项。", "ok")
    return redirect(url_for("console.rectify", slug=slug) + f"#entry-{entry.id}", 303)


@bp.post("/rounds/<slug>/rectify")
def draw_up_rectify(slug: str):  # noqa: ANN201
    round_ = results_round(slug)
    grade = request.form.get("grade") or None
    share_text = (request.form.get("negative_share") or "").strip().rstrip("%")
    try:
        share = float(share_text) / 100 if share_text else None
    except ValueError:
        flash("负面评价比例阈值应为百分数，例如 20", "error")
        return redirect(url_for("console.rectify", slug=slug), 303)
    triggers = Triggers(grade_at_or_below=grade, negative_share_above=share, review=bool(request.form.get("review")))
    try:
        with unit_of_work():
            added = draw_up(round_results(round_, with_interval=False), triggers)
            record("rectify.draw_up", round_slug=slug, grade=grade, negative_share=share, review=triggers.review,
                   added=len(added))
    except ServiceError as exc:
        flash(str(exc), "error")
    else:
        flash(f"新增 {len(added)} 条整改事项。" if added else "没有新的整改事项（已有的保持不变）。", "ok")
    return redirect(url_for("console.rectify", slug=slug), 303)


@bp.post("/rounds/<slug>/rectify/<int:entry_id>")
def update_rectify(slug: str, entry_id: int):  # noqa: ANN201
    round_ = results_round(slug)
    form = request.form
    try:
        due = date.fromisoformat(form["due_on"]) if form.get("due_on") else None
    except ValueError:
        flash("完成时限应为日期", "error")
        return redirect(url_for("console.rectify", slug=slug) + f"#entry-{entry_id}", 303)
    try:
        with unit_of_work():
            entry = get_entry(round_, entry_id)
            changed = update_entry(entry, problem=form.get("problem"), measure=form.get("measure", ""),
                                   responsible=form.get("responsible", ""), due_on=due,
                                   status=form.get("status", "not_started"), note=form.get("note", ""))
            if changed:
                record("rectify.update", round_slug=slug, entry=entry_id, subject=entry.subject_code, changed=changed)
    except ServiceError as exc:
        flash(str(exc), "error")
    else:
        flash("已保存。", "ok")
    return redirect(url_for("console.rectify", slug=slug) + f"#entry-{entry_id}", 303)


@bp.get("/rounds/<slug>/rectify.xlsx")
def rectify_ledger(slug: str) -> Response:
    round_ = results_round(slug)
    data = ledger_xlsx(ledger_frame(round_, effects(round_)))
    return Response(data, mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{slug}-rectify.xlsx"'})
