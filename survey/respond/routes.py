"""Public pages: the questionnaire behind a ballot code or a group's open link, receipts.

A ballot takes the short way when nothing about it is unusual: the questionnaire page comes
from ``pages`` (rendered once per round, group and spec version), a submission is checked by
``Questionnaire.clean`` instead of the form, sealed to the round's ballot box key and stored
with one short transaction (``services``). Anything
unusual (a malformed or incomplete form, a retry, a spent code, a full group, a client near its
limit) goes the long way, through the form and the checks in their original order, which says
what is wrong exactly as before; the short way has stored nothing by then.

The limits (``limits``: a client's rate on an open link, failed code lookups, arrivals per
group) are counted once for the installation, each in a short transaction of its own: before a
ballot's transaction or after its commit, never inside it. An open link also refuses a ballot
posted sooner than a person could have read its page, and takes none while an organizer has
paused it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_wtf.csrf import generate_csrf
from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from ..codes.services import (
    KeyMismatch, check_code_key, device_mark_value, display_code, find_code_with_round,
)
from ..ballotbox.box import box_floor, public_key_of
from ..codes.pausing import PAUSED_MESSAGE
from ..database import end_read_without_transaction, read_without_transaction, write_unit_of_work
from ..extensions import db
from ..settings import serves_https
from ..models import BallotCode, Group, Receipt, Round
from ..rounds.lifecycle import accepting_state, aware
from ..models import round_spec
from ..scorecard.tallies import spoiled_ballots
from . import limits
from .forms import BACK_TO_FORM, CONFIRM_PARTIAL, Questionnaire, make_ticket, read_ticket, ticket_age
from .pages import pages
from .services import (
    USED_MESSAGE, CodeAlreadyUsed, GroupFull, RoundNotTaking, new_receipt, receipt_exists, seal_vote, store_vote,
)

bp = Blueprint("respond", __name__)

#: the query parameter of the 大字 (large type) pages; the form posts to the page's own
#: address, so the choice carries over to the unanswered-items page and the receipt
LARGE = "large"

TOO_MANY_CODES = "尝试的评议码错误次数过多，请核对评议条后，过十分钟再试。"
TOO_MANY_BALLOTS = "从您所在网络提交的评议过于频繁，请稍后再试。"
TOO_SOON = ("您提交得比阅读全部题目所需的时间还快。您的选择已保留，请再逐项核对一遍，"
            "约 {seconds} 秒后再点“提交评议”。")
#: a mark without an end date (no closes_at) lasts this long
DEVICE_MARK_DAYS = 60


@bp.before_request
def code_key_matches():  # noqa: ANN201
    """Serve no page under a code key other than the one the codes were issued under (checked
    once per process; gunicorn's ``on_starting`` refuses to start in that case already)."""
    state = current_app.extensions.setdefault("survey.code_key", {})
    if "problem" not in state:
        try:
            check_code_key()
            state["problem"] = None
        except KeyMismatch as exc:
            state["problem"] = str(exc)
            current_app.logger.error("ballot pages refused: %s", exc)
        finally:
            db.session.rollback()
    if state["problem"]:
        return message("系统维护中", "评议系统配置有误，暂停受理评议，请稍后再试。", 503)
    return None


@bp.before_request
def reads_only():  # noqa: ANN201
    """A GET here only reads: no transaction around its queries (PostgreSQL). After the code
    key check, whose rollback would hand the connection back."""
    if request.method == "GET":
        read_without_transaction()


@bp.teardown_request
def reads_done(error: BaseException | None = None) -> None:
    end_read_without_transaction()


def large_type() -> bool:
    """Whether this page is the 大字 version, chosen by its link (``?large=1``)."""
    return request.args.get(LARGE) == "1"


@bp.context_processor
def page_size() -> dict:
    return {"large": large_type()}


def device_mark_name(round_: Round, group: Group) -> str:
    return f"voted-{round_.id}-{group.id}"


def marked(round_: Round, group: Group) -> bool:
    return request.cookies.get(device_mark_name(round_, group)) == device_mark_value(round_.id, group.id)


def set_device_mark(response, round_: Round, group: Group):  # noqa: ANN001, ANN201
    """The once-per-device mark: the same opaque value in every browser that answered this
    group (no time in it, nothing of the person), sent only to the group's own link, gone when
    the round closes."""
    expires = aware(round_.closes_at) if round_.closes_at else None
    if expires is None:
        expires = datetime.now(timezone.utc) + timedelta(days=DEVICE_MARK_DAYS)
    response.set_cookie(
        device_mark_name(round_, group), device_mark_value(round_.id, group.id), expires=expires,
        path=url_for("respond.open_link", slug=round_.slug, group_key=group.key),
        secure=serves_https(), httponly=True, samesite="Lax",
    )
    return response


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
    if limits.code_lookups_blocked():
        return message("请稍后再试", TOO_MANY_CODES, 429)
    found = find_code_with_round(code)
    if found is None:
        if request.method == "POST":
            # a copy of this page may have spent the code a moment ago (a double tap)
            receipt = read_ticket(request.form.get("ticket", ""))
            earlier = db.session.scalar(select(Receipt).where(Receipt.receipt == receipt)) if receipt else None
            if earlier is not None:
                round_ = db.session.get(Round, earlier.round_id)
                return render_template("respond/receipt.html", round=round_, receipt=receipt, repeated=True)
            limits.failed_code_lookup()
            return message("提交未成功", USED_MESSAGE, 409)
        limits.failed_code_lookup()
        return render_template("respond/enter_code.html", error=USED_MESSAGE, typed=code), 404
    stored, round_, group = found
    return questionnaire(round_, group, code=stored)


#: a round and one of its groups by slug and key, in one query (built once); the stored spec is
#: read only when the questionnaire is built
_OPEN_LINK = (
    select(Round, Group).join(Group, Group.round_id == Round.id)
    .where(Round.slug == bindparam("slug"), Group.key == bindparam("group_key")).options(defer(Round.spec))
)


@bp.route("/r/<slug>/<group_key>", methods=["GET", "POST"])
def open_link(slug: str, group_key: str):
    found = db.session.execute(_OPEN_LINK, {"slug": slug, "group_key": group_key}).one_or_none()
    if found is None:
        return message("未找到问卷", "没有找到这个评议问卷，请核对二维码或链接。", 404)
    round_, group = found
    if not group.is_open:
        return message("需要评议码", "本群体凭评议码参加评议，请扫描您领到的评议条上的二维码。", 403)
    return questionnaire(round_, group, code=None)


def questionnaire(round_: Round, group: Group, *, code: BallotCode | None):  # noqa: ANN201
    """Show the questionnaire (GET) or take a ballot (POST) for a code or an open group."""
    accepting, why = accepting_state(round_)
    if not accepting:
        return message(round_.title, why, 403)
    known = questionnaire_of(round_, group)
    code_id = code.id if code is not None else None  # the code object is gone after a rollback
    once = code is None and group.once_per_device

    if code is None and group.paused:
        if request.method == "GET":
            return message(round_.title, PAUSED_MESSAGE, 403)
        return questionnaire_again(round_, group, known, PAUSED_MESSAGE, 403)

    if request.method == "GET":
        if once and marked(round_, group):
            return message(round_.title, "您已在本设备上提交过本次评议，感谢您的参与！", 200)
        return questionnaire_page(round_, group, known)
    if request.form.get(BACK_TO_FORM):
        return back_to_form(round_, group, known)

    if code is None:
        wait = reading_time_left(known)
        if wait > 0:
            page, status = questionnaire_again(round_, group, known, TOO_SOON.format(seconds=math.ceil(wait)), 429)
            return page, status, {"Retry-After": str(math.ceil(wait))}

    confirmed = request.form.get(CONFIRM_PARTIAL) == "1"
    if not (once and marked(round_, group)):
        cleaned = known.questionnaire.clean(request.form)
        if cleaned is not None and (confirmed or len(cleaned[0]) == known.questionnaire.question_count):
            response = cast_quickly(round_, group, known, *cleaned, code_id=code_id, once=once)
            if response is not None:
                return response
    return cast_through_form(round_, group, known, code_id=code_id, once=once)


def reading_time_left(known: Known) -> float:
    """Seconds still missing, on an open link, from the least time a person needs to read the
    page (``MIN_SECONDS_PER_QUESTION`` × its questions) since it was served; 0 when enough time
    has passed, the check is off, or the ticket does not say when (it is then refused, or
    recognised as a retry, by the checks that follow)."""
    least = current_app.config["MIN_SECONDS_PER_QUESTION"] * known.questionnaire.question_count
    if least <= 0:
        return 0.0
    age = ticket_age(request.form.get("ticket", ""))
    return 0.0 if age is None else max(0.0, least - age)


def questionnaire_again(round_: Round, group: Group, known: Known, why: str, status: int):  # noqa: ANN201
    """The questionnaire again with the respondent's choices and comments kept and ``why`` at
    its top: nothing was stored, nothing needs typing again. The ticket is the page's own, so
    the page keeps its time and its receipt."""
    form = known.questionnaire.form_class()
    page = render_template("respond/questionnaire.html", round=round_, group=group, q=known.questionnaire,
                           form=form, notice=why)
    return page, status


@dataclass(frozen=True)
class Known:
    """What a group's questionnaire needs that does not change while its round is open."""

    questionnaire: Questionnaire
    subject_ids: dict[str, int]
    item_ids: dict[str, int]
    cap: int | None  #: the most ballots an open link takes
    public_key: bytes  #: the round's ballot box key, ballots are sealed to
    floor: int  #: the size boxes are padded to


#: by (round id, group id, spec version); per process
_known: dict[tuple[int, int, str], Known] = {}


def questionnaire_of(round_: Round, group: Group) -> Known:
    key = (round_.id, group.id, round_.spec_version)
    known = _known.get(key)
    if known is None:
        spec = round_spec(round_)
        known = Known(
            questionnaire=Questionnaire.build(spec, spec.group(group.key)),
            subject_ids={s.code: s.id for s in round_.subjects},
            item_ids={i.key: i.id for i in round_.items},
            cap=open_cap(spec, group) if group.is_open else None,
            public_key=public_key_of(round_),
            floor=box_floor(round_),
        )
        if len(_known) > 512:
            _known.clear()
        _known[key] = known
    return known


def questionnaire_page(round_: Round, group: Group, known: Known) -> str:
    """The page with this request's CSRF token and a new ticket, from the page cache."""

    def render(csrf: str, ticket: str) -> str:
        form = known.questionnaire.form_class(formdata=None)
        form.ticket.data = ticket
        return render_template("respond/questionnaire.html", round=round_, group=group,
                               q=known.questionnaire, form=form, csrf_token=lambda: csrf)

    csrf, ticket = generate_csrf(), make_ticket(new_receipt())
    page = pages.get(("questionnaire", round_.id, group.id, round_.spec_version, large_type()), 2, render)
    return page.fill(csrf, ticket) if page is not None else render(csrf, ticket)


def receipt_page(round_: Round, receipt: str, *, repeated: bool) -> str:
    def render(mark: str) -> str:
        return render_template("respond/receipt.html", round=round_, receipt=mark, repeated=repeated)

    page = pages.get(("receipt", round_.id, round_.spec_version, repeated, large_type()), 1, render)
    return page.fill(receipt) if page is not None else render(receipt)


def cast_quickly(
    round_: Round,
    group: Group,
    known: Known,
    answers: dict[tuple[str, str], str],
    comments: dict[str, str],
    receipt: str,
    *,
    code_id: int | None,
    once: bool,
) -> Response | None:
    """Store a clean ballot in one short transaction; None, with nothing stored, when anything
    is unusual (a retry, a spent code, a full group): the form's way then says what."""
    db.session().expire_on_commit = False  # nothing read below needs reloading after the commit
    taken = None
    if code_id is None:
        taken = limits.take_open_ballot(group.id, group.per_address_per_minute)
        if taken is None:  # at its rate: the form's way says so, after the checks before it
            return None
    vote = _seal(round_, group, known, answers, comments, receipt, code_id)
    try:
        with write_unit_of_work():
            store_vote(vote, retry_is_error=True)
    except (CodeAlreadyUsed, GroupFull, RoundNotTaking, IntegrityError):
        limits.give_back(taken)
        return None
    if code_id is not None:
        limits.count_arrival(group.id)
    response = current_app.make_response(receipt_page(round_, receipt, repeated=False))
    if once:
        set_device_mark(response, round_, group)
    return response


def cast_through_form(round_: Round, group: Group, known: Known, *, code_id: int | None, once: bool):  # noqa: ANN201
    """The form's way: every check in its order, each answered with its own page."""
    db.session().expire_on_commit = False  # the receipt page needs nothing reloaded
    form = known.questionnaire.form_class()
    valid = form.validate()
    if form.malformed:
        return message("提交未成功", form.malformed, 400)
    receipt = form.receipt()
    if receipt and receipt_exists(round_, receipt):  # the same page sent again
        return render_template("respond/receipt.html", round=round_, receipt=receipt, repeated=True)
    if not valid:
        return render_template(
            "respond/questionnaire.html", round=round_, group=group, q=known.questionnaire, form=form
        ), 422
    if once and marked(round_, group):
        return message(round_.title, "您已在本设备上提交过本次评议，每台设备只能提交一次。", 409)
    missing = known.questionnaire.unanswered(form.answers())
    if missing and request.form.get(CONFIRM_PARTIAL) != "1":
        return render_template("respond/unanswered.html", round=round_, group=group, missing=missing,
                               total=known.questionnaire.question_count, kept=form.kept_fields(),
                               ticket=form.ticket.data)
    taken = None
    if code_id is None:
        taken = limits.take_open_ballot(group.id, group.per_address_per_minute)
        if taken is None:
            limits.count_refusal(group.id)
            return message(round_.title, TOO_MANY_BALLOTS, 429)
    vote = _seal(round_, group, known, form.answers(), form.comments(), receipt, code_id)
    try:
        with write_unit_of_work():
            cast = store_vote(vote)
    except (CodeAlreadyUsed, GroupFull) as exc:
        limits.give_back(taken)
        return message(round_.title, str(exc), 409)
    except RoundNotTaking as exc:
        limits.give_back(taken)
        return message(round_.title, str(exc), 403)
    except IntegrityError:  # a concurrent copy of this very page won the race
        limits.give_back(taken)
        if receipt_exists(round_, receipt):
            return receipt_page(round_, receipt, repeated=True)
        raise
    if cast.repeated:
        limits.give_back(taken)
    elif code_id is not None:
        limits.count_arrival(group.id)
    response = current_app.make_response(receipt_page(round_, cast.receipt, repeated=cast.repeated))
    if once:
        set_device_mark(response, round_, group)
    return response


def back_to_form(round_: Round, group: Group, known: Known):  # noqa: ANN201
    """返回修改 on the unanswered-items page: the questionnaire again with the answers and
    comments it carried, the unanswered items marked; nothing stored."""
    form = known.questionnaire.form_class()
    form.validate()
    if form.malformed:
        return message("提交未成功", form.malformed, 400)
    missing = {u.number for u in known.questionnaire.unanswered(form.answers())}
    return render_template("respond/questionnaire.html", round=round_, group=group, q=known.questionnaire,
                           form=form, missing=missing)


def _seal(round_: Round, group: Group, known: Known, answers: dict[tuple[str, str], str],  # noqa: PLR0913
          comments: dict[str, str], receipt: str, code_id: int | None):  # noqa: ANN202
    return seal_vote(
        round_, group, answers=answers, comments=comments, receipt=receipt, public_key=known.public_key,
        floor=known.floor, subject_ids=known.subject_ids, item_ids=known.item_ids, code_id=code_id,
        cap=known.cap if code_id is None else None,
    )


def open_cap(spec, group: Group) -> int | None:  # noqa: ANN001
    """How many ballots an open link takes: ``expected`` × ``cap_factor``, rounded down."""
    parsed = spec.group(group.key)
    if parsed.expected is None:
        return None
    return int(parsed.expected * parsed.cap_factor + 1e-9)


@bp.get("/r/<slug>/receipts")
def receipts(slug: str):  # noqa: ANN201
    """After publication, every ballot's receipt, sorted so that order tells nothing, and how
    many ballots were 废票: the count only, since receipts name no ballot."""
    round_ = db.session.scalar(select(Round).where(Round.slug == slug))
    if round_ is None:
        return message("未找到评议", "没有找到这次评议。", 404)
    if not round_.state.receipts_public:
        return message(round_.title, "评议结果公布后，可在此页核对回执码。", 404)
    listed = sorted(db.session.scalars(select(Receipt.receipt).where(Receipt.round_id == round_.id)))
    spoiled = None
    if round_spec(round_).scheme.uniform_ballots == "exclude":
        spoiled = db.session.scalar(select(func.count()).select_from(spoiled_ballots(round_).subquery()))
    return render_template("respond/receipts.html", round=round_, receipts=listed, spoiled=spoiled)
