"""Console pages for how respondents reach the questionnaire: ballot codes for a codes group
(issued as PDF slips or a CSV list, shown once), and the link and QR poster of an open group."""

from __future__ import annotations

import re
import secrets

from flask import Response, abort, flash, redirect, render_template, request, url_for

from ..auth import audit
from ..auth.access import round_for
from ..console import bp
from ..database import unit_of_work
from ..errors import ServiceError
from ..export.services import csv_bytes
from ..models import Group, GroupAccess, Round
from ..qr import qr_bytes
from ..models import round_spec
from ..settings import loopback_warning, public_base_url
from ..ballotbox.box import box_fingerprint
from .pausing import set_paused
from .poster import poster_pdf, window_words
from .services import MAX_CODES_PER_CALL, issue_ballot_codes, open_url, void_unused_codes
from .sheet import slips_pdf


def _group(round_: Round, key: str, access: GroupAccess) -> Group:
    group = round_.group(key)
    if group is None:
        abort(404)
    if group.mode is not access:
        raise ServiceError(
            f"群体“{group.name}”" + ("凭评议码参评，没有开放链接。" if access is GroupAccess.open else "使用开放链接参评，不发评议码。")
        )
    return group


def _download(data: bytes, name: str, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response


def _file_stem(round_: Round, group: Group) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", f"{round_.slug}-{group.key}")


@bp.route("/rounds/<slug>/groups/<key>/codes", methods=["GET", "POST"])
def issue_codes(slug: str, key: str):  # noqa: ANN201
    """Issue a batch: the file is the only place the codes ever appear."""
    round_ = round_for(slug, "issue_access")
    group = _group(round_, key, GroupAccess.codes)
    warning = loopback_warning()
    error = None
    again = False
    if request.method == "POST":
        count = request.form.get("count", type=int)
        kind = request.form.get("format", "pdf")
        if kind not in ("pdf", "csv"):
            kind = "pdf"
        if not count or not 1 <= count <= MAX_CODES_PER_CALL:
            error = f"数量须为 1 到 {MAX_CODES_PER_CALL} 之间的整数。"
        elif warning and request.form.get("loopback_ok") != "yes":
            error = "公共地址只有本机能打开：请先在“设置”中改正，或勾选确认框。"
        elif _issued_since_shown(group) and request.form.get("again") != "yes":
            again = True
            error = (f"打开本页之后，本群体已经发放过评议码（现共 {group.codes_issued} 个）。"
                     "如确需再发一批，请勾选下面的确认框后再点击“生成并下载”。")
        else:
            with unit_of_work():
                codes = issue_ballot_codes(round_, key, count)
                audit.record("codes.issue", round_slug=slug, group=key, count=len(codes), format=kind)
                if kind == "csv":
                    data = csv_bytes(("code", "url"), ((c.code, c.url) for c in codes))
                else:
                    data, _pages = slips_pdf(
                        title=round_.title, slips=[(c.code, c.url) for c in codes], group_name=group.name,
                        base_url=public_base_url(),
                    )
            name = f"{_file_stem(round_, group)}-codes-{len(codes)}.{kind}"
            flash(f"已生成 {len(codes)} 个评议码并下载（{name}），本群体现共发放 {group.codes_issued} 个。", "ok")
            response = _download(data, name, "application/pdf" if kind == "pdf" else "text/csv; charset=utf-8")
            _mark_downloaded(response, slug, key)
            return response
    return render_template(
        "console/codes.html", round=round_, group=group, warning=warning, error=error, again=again,
        max_count=MAX_CODES_PER_CALL, unused=_unused(round_, group), nonce=secrets.token_hex(8),
    ), (422 if error else 200)


def _issued_since_shown(group: Group) -> bool:
    """Whether codes were issued to ``group`` after the page that posts was shown (its
    ``issued_before`` field): the second click of someone who saw a stale count."""
    shown = request.form.get("issued_before", type=int)
    return shown is not None and shown != group.codes_issued


def _mark_downloaded(response: Response, slug: str, key: str) -> None:
    """A short-lived cookie named for the page's ``nonce`` field, on the page's own path:
    static/console.js sees it arrive with the file and reloads the page, whose counts are then
    the new ones (the file's response cannot also be the page). Without scripts the page's
    ``issued_before`` field stops a second batch issued by mistake."""
    nonce = request.form.get("nonce", "")
    if re.fullmatch(r"[0-9a-f]{16}", nonce):
        response.set_cookie(f"issued-{nonce}", "1", max_age=120, path=url_for("console.issue_codes", slug=slug, key=key),
                            samesite="Strict", secure=request.is_secure)


def _unused(round_: Round, group: Group) -> int:
    from ..rounds.turnout import round_turnout

    return next(t.codes_unused for t in round_turnout(round_) if t.key == group.key)


@bp.post("/rounds/<slug>/groups/<key>/codes/void")
def void_codes(slug: str, key: str):  # noqa: ANN201
    round_ = round_for(slug, "issue_access")
    _group(round_, key, GroupAccess.codes)
    if request.form.get("confirm") != "yes":
        raise ServiceError("请勾选确认框后再作废。")
    with unit_of_work():
        count = void_unused_codes(round_, key)
        audit.record("codes.void", round_slug=slug, group=key, count=count)
    flash(f"已作废 {count} 个未使用的评议码。", "ok")
    return redirect(url_for("console.issue_codes", slug=slug, key=key), 303)


@bp.get("/rounds/<slug>/groups/<key>/link")
def open_link(slug: str, key: str):  # noqa: ANN201
    round_ = round_for(slug, "issue_access")
    group = _group(round_, key, GroupAccess.open)
    return render_template(
        "console/open_link.html", round=round_, group=group, url=open_url(round_, group), warning=loopback_warning(),
        cap=round_spec(round_).group(key).cap,
    )


@bp.post("/rounds/<slug>/groups/<key>/<any(pause, resume):action>")
def pause_link(slug: str, key: str, action: str):  # noqa: ANN201
    """Pause or resume one open link (the round runs on)."""
    round_ = round_for(slug, "manage_rounds")
    _group(round_, key, GroupAccess.open)
    with unit_of_work():
        group = set_paused(round_, key, action == "pause")
    flash(f"开放链接“{group.name}”" + ("已暂停：扫码者将看到暂停说明，提交不被接收。" if group.paused else "已恢复接收提交。"), "ok")
    back = request.form.get("back")
    if back == "round":
        return redirect(url_for("console.round_overview", slug=slug), 303)
    return redirect(url_for("console.open_link", slug=slug, key=key), 303)


@bp.get("/rounds/<slug>/groups/<key>/<any('qr.png', 'qr.svg', 'poster.pdf'):name>")
def open_link_file(slug: str, key: str, name: str):  # noqa: ANN201
    """The QR as PNG or SVG, or the A4 poster; ``?download=1`` saves it as a file."""
    round_ = round_for(slug, "issue_access")
    group = _group(round_, key, GroupAccess.open)
    url = open_url(round_, group)
    if name == "poster.pdf":
        window = window_words(round_.opens_at, round_.closes_at)
        data, mimetype = poster_pdf(title=round_.title, group_name=group.name, url=url, window=window,
                                    fingerprint=box_fingerprint(round_)), "application/pdf"
    else:
        kind = name.rsplit(".", 1)[1]
        data, mimetype = qr_bytes(url, kind), "image/png" if kind == "png" else "image/svg+xml"
    response = Response(data, mimetype=mimetype)
    if request.args.get("download"):
        with unit_of_work():
            audit.record("qr.download", round_slug=slug, group=key, file=name)
        response.headers["Content-Disposition"] = f"attachment; filename={_file_stem(round_, group)}-{name}"
    return response
