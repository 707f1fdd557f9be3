"""Console pages of a round: its overview with live turnout, the projector view, and the
lifecycle moves (open, close, publish), each behind a page that says what it will do."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import flash, redirect, render_template, url_for

from ..auth import audit
from ..auth.access import round_for
from ..ballotbox.box import box_fingerprint, custody_of
from ..ballotbox.console import key_material, uploaded
from ..ballotbox.keyfile import read_public_key
from ..ballotbox.keys import Custody, WrongKey
from ..console import bp
from ..database import unit_of_work
from .lifecycle import TRANSITIONS, RoundStatus, accepting_state, aware, organizer_state
from .closing import SYNC_LIMIT, close_in_background, sealed_count
from .services import MOVE_EFFECTS, close_round, move_round, round_spec
from ..respond.limits import ARRIVAL_MINUTES
from .turnout import round_arrivals, round_turnout

MOVE_NAMES = {"open": "开始评议", "close": "结束评议", "publish": "公布结果"}
#: seconds between refreshes of the turnout pages while a round runs
REFRESH_SECONDS = 30
PROJECTOR_REFRESH_SECONDS = 15
#: while the ballot box is being opened in the background
CLOSING_REFRESH_SECONDS = 5


@bp.get("/rounds/<slug>")
def round_overview(slug: str):  # noqa: ANN201
    round_ = round_for(slug, "view_turnout")
    turnout = round_turnout(round_)
    moves = [a for a in MOVE_NAMES if _may(round_, a)]
    return render_template(
        "console/round.html", round=round_, turnout=turnout, now_words=organizer_state(round_), moves=moves,
        move_names=MOVE_NAMES,
        refresh=REFRESH_SECONDS if round_.state.takes_ballots else CLOSING_REFRESH_SECONDS if round_.state.box_sealed else None,
        totals=_totals(turnout), box=box_fingerprint(round_), custody=custody_of(round_),
        arrivals=round_arrivals(round_) if round_.state.takes_ballots else None, minutes=ARRIVAL_MINUTES,
        display_min=round_spec(round_).scheme.display_min,
    )


def _may(round_, action: str) -> bool:  # noqa: ANN001
    """Whether ``action`` can be asked of ``round_`` now; a round left closing by an
    interrupted close may be closed again, which finishes the work."""
    sources, _ = TRANSITIONS[action]
    return round_.state in sources or (action == "close" and round_.state is RoundStatus.closing)


@bp.get("/rounds/<slug>/projector")
def projector(slug: str):  # noqa: ANN201
    """Counts only, large, for the screen of an on-site session (现场测评)."""
    round_ = round_for(slug, "view_turnout")
    turnout = round_turnout(round_)
    accepting, _why = accepting_state(round_)
    links = []
    if accepting:
        from markupsafe import Markup

        from ..codes.services import open_url
        from ..qr import qr_svg_inline

        for group in round_.groups:
            if group.is_open:
                url = open_url(round_, group)
                links.append({"key": group.key, "name": group.name, "url": url,
                              "svg": Markup(qr_svg_inline(url, label=f"{group.name}参评二维码"))})
    return render_template(
        "console/projector.html", round=round_, turnout=turnout, totals=_totals(turnout), links=links,
        time_left=time_left(round_) if round_.state.takes_ballots else None,
        refresh=PROJECTOR_REFRESH_SECONDS if round_.state.takes_ballots else None,
    )


def time_left(round_, now: datetime | None = None) -> str | None:  # noqa: ANN001
    """How long the round still takes ballots, in words for a screen ("还剩 2 小时 05 分"):
    None without a planned end."""
    if round_.closes_at is None:
        return None
    now = now or datetime.now(timezone.utc)
    left = int((aware(round_.closes_at) - now).total_seconds())
    if left <= 0:
        return "已到结束时间"
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"还剩 {days} 天 {hours} 小时"
    if hours:
        return f"还剩 {hours} 小时 {minutes:02d} 分"
    return f"还剩 {max(minutes, 1)} 分钟"


def _totals(turnout) -> dict:  # noqa: ANN001
    ballots = sum(t.ballots for t in turnout)
    expected = sum(t.expected or 0 for t in turnout)
    return {"ballots": ballots, "expected": expected, "participation": ballots / expected if expected else None}


@bp.get("/rounds/<slug>/<any(open, close, publish):action>")
def confirm_move(slug: str, action: str, error: str | None = None):  # noqa: ANN201
    round_ = round_for(slug, "manage_rounds")
    return render_template(
        "console/confirm_move.html", round=round_, action=action, name=MOVE_NAMES[action],
        effects=MOVE_EFFECTS[action], allowed=_may(round_, action), teller=custody_of(round_) is Custody.teller,
        fingerprint=box_fingerprint(round_), error=error,
    ), (422 if error else 200)


@bp.post("/rounds/<slug>/<any(open, close, publish):action>")
def move(slug: str, action: str):  # noqa: ANN201
    """A lifecycle move. A round in 监票人保管 opens with the public key received or uploaded
    here, and closes with the key file, shares or words handed over on the close page: held
    in memory for this request, never stored or logged. A wrong key shows the page again,
    with nothing changed."""
    round_ = round_for(slug, "manage_rounds")
    try:
        if action == "close":
            key = key_material()
            if sealed_count(round_) > SYNC_LIMIT:
                close_in_background(round_, key)
                flash("结束评议：已开始开箱计票。选票较多，计票在后台进行，本页显示进度；完成后即可查看结果。", "ok")
                return redirect(url_for("console.round_overview", slug=slug), 303)
            said = close_round(round_, key).words(slug)
        else:
            public_key = None
            if action == "open" and (files := uploaded("public_key")):
                public_key = read_public_key(files[0][1], files[0][0])
            with unit_of_work():
                said = move_round(round_, action, public_key=public_key)
    except WrongKey as exc:
        return confirm_move(slug, action, error=str(exc))
    flash(f"{MOVE_NAMES[action]}：完成。{said}（审计日志末条：{audit.head()}，请记下以便日后核对）", "ok")
    return redirect(url_for("console.round_overview", slug=slug), 303)




@bp.get("/rounds/<slug>/export.zip")
def export(slug: str):  # noqa: ANN201
    """answers.csv, comments.csv, org.csv and spec.json in one zip, as ``flask export`` writes them.

    Administrators only (right ``export_ballots``; 403 for organizers and reviewers): the zip
    holds every ballot with its group, so the answers of a group that rule 12 blanks on every
    other page are in it whole. Each download is written to the audit log with who took it."""
    import io
    import zipfile

    from flask import Response, abort

    from ..export.services import export_files

    round_ = round_for(slug, "export_ballots")
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
