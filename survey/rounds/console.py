"""Console pages of a round: its overview with live turnout, the projector view, and the
lifecycle moves (open, close, publish), each behind a page that says what it will do."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for

from ..auth import audit
from ..auth.access import round_for
from ..console import bp
from ..database import unit_of_work
from .lifecycle import TRANSITIONS, accepting_state
from .services import MOVE_EFFECTS, compact_storage, move_round
from .turnout import round_turnout

MOVE_NAMES = {"open": "开始评议", "close": "结束评议", "publish": "公布结果"}
#: seconds between refreshes of the turnout pages while a round runs
REFRESH_SECONDS = 30
PROJECTOR_REFRESH_SECONDS = 15


@bp.get("/rounds/<slug>")
def round_overview(slug: str):  # noqa: ANN201
    round_ = round_for(slug, "view_turnout")
    turnout = round_turnout(round_)
    accepting, why = accepting_state(round_)
    moves = [a for a, (sources, _) in TRANSITIONS.items() if round_.state in sources]
    return render_template(
        "console/round.html", round=round_, turnout=turnout, accepting=accepting, why=why, moves=moves,
        move_names=MOVE_NAMES, refresh=REFRESH_SECONDS if round_.state.takes_ballots else None,
        totals=_totals(turnout),
    )


@bp.get("/rounds/<slug>/projector")
def projector(slug: str):  # noqa: ANN201
    """Counts only, large, for the screen of an on-site session (现场测评)."""
    round_ = round_for(slug, "view_turnout")
    turnout = round_turnout(round_)
    return render_template(
        "console/projector.html", round=round_, turnout=turnout, totals=_totals(turnout),
        refresh=PROJECTOR_REFRESH_SECONDS if round_.state.takes_ballots else None,
    )


def _totals(turnout) -> dict:  # noqa: ANN001
    ballots = sum(t.ballots for t in turnout)
    expected = sum(t.expected or 0 for t in turnout)
    return {"ballots": ballots, "expected": expected, "participation": ballots / expected if expected else None}


@bp.get("/rounds/<slug>/<any(open, close, publish):action>")
def confirm_move(slug: str, action: str):  # noqa: ANN201
    round_ = round_for(slug, "manage_rounds")
    sources, _ = TRANSITIONS[action]
    return render_template(
        "console/confirm_move.html", round=round_, action=action, name=MOVE_NAMES[action],
        effects=MOVE_EFFECTS[action], allowed=round_.state in sources,
    )


@bp.post("/rounds/<slug>/<any(open, close, publish):action>")
def move(slug: str, action: str):  # noqa: ANN201
    round_ = round_for(slug, "manage_rounds")
    with unit_of_work():
        said = move_round(round_, action)
    if action == "close":
        compact_storage()
    flash(f"{MOVE_NAMES[action]}：完成。{said}（审计日志末条：{audit.head()}，请记下以便日后核对）", "ok")
    return redirect(url_for("console.round_overview", slug=slug), 303)




@bp.get("/rounds/<slug>/export.zip")
def export(slug: str):  # noqa: ANN201
    """answers.csv, comments.csv, org.csv and spec.json in one zip, as ``flask export`` writes them."""
    import io
    import zipfile

    from flask import Response, abort

    from ..export.services import export_files

    round_ = round_for(slug, "manage_rounds")
    if round_.state.results_sealed:
        abort(403)
    files = export_files(round_)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, file in files.items():
            archive.writestr(f"{slug}/{name}", file.data)
    with unit_of_work():
        audit.record("export", round_slug=slug, files={name: file.rows for name, file in files.items()})
    response = Response(buffer.getvalue(), mimetype="application/zip")
    response.headers["Content-Disposition"] = f"attachment; filename={slug}-export.zip"
    return response
