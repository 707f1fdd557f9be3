"""The feedback page a rated subject opens from its link (向本人反馈): its own figures,
comments, 领导点评 and 整改 list, and nothing about any other subject. No sign-in: the signed
token is the key. Every opening is written to the audit log."""

from __future__ import annotations

from flask import Blueprint, Response, render_template

from ..auth.audit import record
from ..database import unit_of_work
from ..rectify.services import effects, entries_of
from .detail import subject_detail
from .feedback import LinkInvalid, open_link
from .remarks import remarks_by_subject
from .services import round_results
from .views import item_chart
from .words import flag_notes, vocabulary

bp = Blueprint("feedback", __name__)


@bp.after_request
def private(response: Response) -> Response:
    """A person's results: never cached, never sent on as a referrer, never framed."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.get("/feedback/<token>")
def page(token: str):  # noqa: ANN201
    try:
        link = open_link(token)
    except LinkInvalid:
        return render_template("scorecard/feedback_gone.html"), 404
    round_, code = link.round, link.subject.code
    with unit_of_work():
        record("feedback.open", round_slug=round_.slug, actor="feedback-link", subject=code, link=link.id[:8])
    results = round_results(round_)
    detail = subject_detail(results, code)
    entries = [e for e in entries_of(round_) if e.subject_code == code]
    return render_template(
        "scorecard/feedback.html", round=round_, detail=detail, link=link,
        remarks=remarks_by_subject(round_).get(code, []), effects=effects(round_, entries) if entries else [],
        flags=flag_notes(results.spec, detail.flags), words=vocabulary(results.spec), item_chart=item_chart,
    )
