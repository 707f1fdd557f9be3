"""Console pages of a closed round's results: the scorecard (sortable, with its chart), its
downloads (csv, xlsx, pdf), one subject in detail with its history, 领导点评, and the feedback
links that hand a subject its own results.

Access (``survey.auth.access``): ``results_round`` answers 404 to a reviewer not assigned to the
round and 403 while the round is draft or open, for everyone; writing a remark also needs the
``review`` right, managing feedback links ``manage_rounds``.
"""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.access import results_round, round_for
from ..auth.audit import record
from ..console import bp
from ..database import unit_of_work
from ..errors import ServiceError
from ..rectify.services import effects, entries_of
from ..rounds.lifecycle import aware
from ..timefmt import beijing_today
from .detail import subject_comments, subject_detail
from .feedback import create_link, link_url, links_of, revoke
from .history import round_order, rounds_with_subject, subject_history
from .remarks import remarks_by_subject, remarks_frame, save_remark
from .report import ReportInputs, render_report_pdf
from .services import RoundResults, round_results, scorecard_csv, scorecard_xlsx
from .views import SORTS, item_chart, score_rows, scorecard_chart, shared_notes
from .words import flag_notes, vocabulary

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def results_round_with(slug: str, right: str):  # noqa: ANN201
    """``results_round`` that also needs ``right``: 404 for a round the account may not see
    (whatever its rights), then 403 without the right or while the results are sealed."""
    round_ = round_for(slug, right)
    results_round(slug)
    return round_


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/rounds/<slug>/scorecard")
def scorecard(slug: str):  # noqa: ANN201
    round_ = results_round(slug)
    results = round_results(round_)
    sort = request.args.get("sort", "rank")
    sort = sort if sort in SORTS else "rank"
    descending = request.args.get("order") == "desc"
    common, rows = shared_notes(score_rows(results, sort, descending))
    return render_template(
        "scorecard/scorecard.html", round=round_, results=results, rows=rows, common_notes=common,
        sorts=SORTS, sort=sort, descending=descending, chart=scorecard_chart(results),
        wide_chart=scorecard_chart(results, width=900),
        words=vocabulary(results.spec), groups=results.spec.groups,
    )


@bp.get("/rounds/<slug>/scorecard.csv")
def scorecard_csv_download(slug: str) -> Response:
    round_ = results_round(slug)
    return _download(scorecard_csv(round_results(round_).scorecard), "text/csv; charset=utf-8",
                     f"{slug}-scorecard.csv")


@bp.get("/rounds/<slug>/scorecard.xlsx")
def scorecard_xlsx_download(slug: str) -> Response:
    round_ = results_round(slug)
    data = scorecard_xlsx(round_results(round_).scorecard, remarks_frame(round_))
    return _download(data, XLSX, f"{slug}-scorecard.xlsx")


def _entries_by_code(round_) -> dict:  # noqa: ANN001
    out: dict[str, list] = {}
    for entry in entries_of(round_):
        out.setdefault(entry.subject_code, []).append(entry)
    return out


@bp.get("/rounds/<slug>/scorecard.pdf")
def scorecard_pdf_download(slug: str) -> Response:
    round_ = results_round(slug)
    results = round_results(round_)
    data = render_report_pdf(results, ReportInputs(remarks_by_subject(round_), _entries_by_code(round_),
                                                   comments=report_comments(results)))
    return _download(data, "application/pdf", f"{slug}-report.pdf")


def report_comments(results: RoundResults) -> dict[str, list[tuple[str | None, str]]] | None:
    """The PDF's 意见建议 appendix: each subject's comments as its page shows them (a blanked
    group's without its name); None for a round that collected none."""
    if not results.spec.comments:
        return None
    return {code: subject_comments(results, code) for code in results.spec.subject_codes}


def _subject_or_404(results: RoundResults, code: str) -> None:
    if code not in results.spec.subject_codes:
        abort(404)


@bp.get("/rounds/<slug>/subjects/<code>")
def subject(slug: str, code: str):  # noqa: ANN201
    round_ = results_round(slug)
    results = round_results(round_)
    _subject_or_404(results, code)
    detail = subject_detail(results, code)
    history = subject_history(results, code, may_see=current_user.sees_round)
    remarks = remarks_by_subject(round_).get(code, [])
    mine = next((r for r in remarks if r.author == current_user.username), None)
    entries = [e for e in entries_of(round_) if e.subject_code == code]
    earlier = _earlier_entries(round_, code)
    return render_template(
        "scorecard/subject.html", round=round_, results=results, detail=detail, history=history,
        remarks=remarks, mine=mine, can_review=current_user.can("review"),
        effects=effects(round_, entries) if entries else [], earlier_effects=earlier,
        flags=flag_notes(results.spec, detail.flags), words=vocabulary(results.spec), item_chart=item_chart,
    )


def _earlier_entries(round_, code: str) -> list:  # noqa: ANN001
    """整改 entries raised for ``code`` by earlier rounds this account may see, with their
    before and after: the effect of 整改 shows on the later round's page."""
    out = []
    here = round_order(round_)
    for earlier in rounds_with_subject(code):
        if round_order(earlier) < here and not earlier.state.results_sealed and current_user.sees_round(earlier):
            entries = [e for e in entries_of(earlier) if e.subject_code == code]
            if entries:
                out.extend(effects(earlier, entries))
    return out


@bp.post("/rounds/<slug>/subjects/<code>/remark")
def save_subject_remark(slug: str, code: str):  # noqa: ANN201
    round_ = results_round_with(slug, "review")
    if code not in [s.code for s in round_.subjects]:
        abort(404)
    try:
        with unit_of_work():
            _, change = save_remark(round_, code, text=request.form.get("text", ""),
                                    reviewer_name=request.form.get("reviewer_name", ""),
                                    author=current_user.username, on=beijing_today())
            record("remark.save" if change["after"] else "remark.delete", round_slug=slug, subject=code,
                   before=change["before"], after=change["after"])
    except ServiceError as exc:
        flash(str(exc), "error")
    else:
        flash("领导点评已保存。" if change["after"] else "领导点评已删除。", "ok")
    return redirect(url_for("console.subject", slug=slug, code=code) + "#remarks", 303)


@bp.get("/rounds/<slug>/feedback")
def feedback_links(slug: str):  # noqa: ANN201
    round_ = results_round_with(slug, "manage_rounds")
    now = datetime.now(timezone.utc)
    links = [(link, link_url(link),
              "已收回" if link.revoked else "已过期" if aware(link.expires_at) <= now else "有效")
             for link in links_of(round_)]
    return render_template("scorecard/feedback_links.html", round=round_, links=links,
                           words=vocabulary(round_results(round_, with_interval=False).spec))


@bp.post("/rounds/<slug>/feedback")
def create_feedback_link(slug: str):  # noqa: ANN201
    round_ = results_round_with(slug, "manage_rounds")
    codes = request.form.getlist("subject")
    try:
        days = int(request.form.get("days", "14"))
        with unit_of_work():
            for code in codes:
                link = create_link(round_, code, days=days, created_by=current_user.username)
                record("feedback.create", round_slug=slug, subject=code, link=link.id[:8], days=days)
    except ValueError:
        flash("有效期应为天数", "error")
    except ServiceError as exc:
        flash(str(exc), "error")
    else:
        flash(f"已生成 {len(codes)} 个反馈链接。" if codes else "请选择要反馈的对象。", "ok" if codes else "error")
    return redirect(url_for("console.feedback_links", slug=slug), 303)


@bp.post("/rounds/<slug>/feedback/<link_id>/revoke")
def revoke_feedback_link(slug: str, link_id: str):  # noqa: ANN201
    round_ = results_round_with(slug, "manage_rounds")
    link = next((x for x in links_of(round_) if x.id == link_id), None)
    if link is None:
        abort(404)
    with unit_of_work():
        revoke(link)
        record("feedback.revoke", round_slug=slug, subject=link.subject.code, link=link.id[:8])
    flash("链接已作废。", "ok")
    return redirect(url_for("console.feedback_links", slug=slug), 303)
