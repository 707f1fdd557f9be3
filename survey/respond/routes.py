"""Public pages: the questionnaire behind a ballot code or a group's open link, receipts."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..codes.services import display_code, find_code
from ..database import unit_of_work
from ..extensions import db
from ..models import Ballot, BallotCode, Group, Round
from ..rounds.lifecycle import accepting_state
from ..rounds.services import round_spec
from ..scorecard.tallies import spoiled_ballots
from .forms import make_questionnaire_form, make_ticket, read_ticket
from .services import USED_MESSAGE, CodeAlreadyUsed, cast_ballot, new_receipt, receipt_exists

bp = Blueprint("respond", __name__)

CAST_KEY = "cast"  #: session entry: the "<round id>:<group id>" this browser has answered


def message(title: str, text: str, status: int):  # noqa: ANN201
    return render_template("respond/message.html", title=title, text=text), status


@bp.get("/b/")
def enter_code():
    """Where a person types the code printed on a slip."""
    typed = request.args.get("code", "")
    if typed.strip():
        return redirect(url_for("respond.ballot", code=display_code(typed)))
    return render_template("respond/enter_code.html")


@bp.route("/b/<code>", methods=["GET", "POST"])
def ballot(code: str):
    stored = find_code(code)
    if stored is None:
        if request.method == "POST":
            # a copy of this page may have spent the code a moment ago (a double tap)
            receipt = read_ticket(request.form.get("ticket", ""))
            earlier = db.session.scalar(select(Ballot).where(Ballot.receipt == receipt)) if receipt else None
            if earlier is not None:
                round_ = db.session.get(Round, earlier.round_id)
                return render_template("respond/receipt.html", round=round_, receipt=receipt, repeated=True)
            return message("提交未成功", USED_MESSAGE, 409)
        return render_template("respond/enter_code.html", error=USED_MESSAGE, typed=code), 404
    round_ = db.session.get(Round, stored.round_id)
    group = db.session.get(Group, stored.group_id)
    return questionnaire(round_, group, code=stored)


@bp.route("/r/<slug>/<group_key>", methods=["GET", "POST"])
def open_link(slug: str, group_key: str):
    round_ = db.session.scalar(select(Round).where(Round.slug == slug))
    group = round_.group(group_key) if round_ else None
    if round_ is None or group is None:
        return message("未找到问卷", "没有找到这个评议问卷，请核对二维码或链接。", 404)
    if group.access != "open":
        return message("需要评议码", "本群体凭评议码参加评议，请扫描您领到的评议条上的二维码。", 403)
    return questionnaire(round_, group, code=None)


def questionnaire(round_: Round, group: Group, *, code: BallotCode | None):  # noqa: ANN201
    """Show the questionnaire (GET) or take a ballot (POST) for a code or an open group."""
    accepting, why = accepting_state(round_)
    if not accepting:
        return message(round_.title, why, 403)
    spec = round_spec(round_)
    form_class, blocks = make_questionnaire_form(spec, spec.group(group.key))
    form = form_class()
    device_mark = f"{round_.id}:{group.id}"
    once = code is None and group.once_per_device

    if request.method == "GET":
        if once and device_mark in session.get(CAST_KEY, []):
            return message(round_.title, "您已在本设备上提交过本次评议，感谢您的参与！", 200)
        form.ticket.data = make_ticket(new_receipt())
        return render_template("respond/questionnaire.html", round=round_, group=group, blocks=blocks, form=form)

    valid = form.validate()
    if form.malformed:
        return message("提交未成功", form.malformed, 400)
    receipt = form.receipt()
    if receipt and receipt_exists(round_, receipt):  # the same page sent again
        return render_template("respond/receipt.html", round=round_, receipt=receipt, repeated=True)
    if not valid:
        return render_template(
            "respond/questionnaire.html", round=round_, group=group, blocks=blocks, form=form
        ), 422
    if once and device_mark in session.get(CAST_KEY, []):
        return message(round_.title, "您已在本设备上提交过本次评议，每台设备只能提交一次。", 409)
    try:
        with unit_of_work():
            cast = cast_ballot(
                round_, group, answers=form.answers(), comments=form.comments(), receipt=receipt, code=code
            )
    except CodeAlreadyUsed as exc:
        return message(round_.title, str(exc), 409)
    except IntegrityError:  # a concurrent copy of this very page won the race
        if receipt_exists(round_, receipt):
            return render_template("respond/receipt.html", round=round_, receipt=receipt, repeated=True)
        raise
    if once:
        session[CAST_KEY] = [*session.get(CAST_KEY, []), device_mark][-50:]
        session.permanent = True
    return render_template("respond/receipt.html", round=round_, receipt=cast.receipt, repeated=cast.repeated)


@bp.get("/r/<slug>/receipts")
def receipts(slug: str):  # noqa: ANN201
    """After publication, every counted ballot's receipt, sorted so that order tells nothing."""
    round_ = db.session.scalar(select(Round).where(Round.slug == slug))
    if round_ is None:
        return message("未找到评议", "没有找到这次评议。", 404)
    if not round_.state.receipts_public:
        return message(round_.title, "评议结果公布后，可在此页核对回执码。", 404)
    all_ballots = select(Ballot.receipt).where(Ballot.round_id == round_.id)
    spoiled: list[str] = []
    if round_spec(round_).scheme.uniform_ballots == "exclude":
        spoiled = sorted(db.session.scalars(all_ballots.where(Ballot.id.in_(spoiled_ballots(round_)))))
    counted = sorted(set(db.session.scalars(all_ballots)) - set(spoiled))
    return render_template("respond/receipts.html", round=round_, receipts=counted, spoiled=spoiled)
