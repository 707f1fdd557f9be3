"""The round state machine, in one place: the states, what each allows, and ``transition``,
through which every status change goes.

Other modules ask a state what it allows (``round_.state.results_sealed``) instead of
comparing status strings, so a rule about states lives here and nowhere else.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Protocol

from ..errors import Conflict, Forbidden


class RoundStatus(str, enum.Enum):
    """A round's life: draft → open → closed → published.

    ``closing`` (计票中) lies between open and closed while the ballot box is being opened: no
    ballot is taken any more and results are still sealed. ``rounds close`` goes through it in
    one command; a close interrupted there is finished by closing again.
    """

    draft = "draft"
    open = "open"
    closing = "closing"
    closed = "closed"
    published = "published"

    @property
    def label(self) -> str:
        """The state in Chinese, as pages show it."""
        return {"draft": "草稿", "open": "进行中", "closing": "计票中", "closed": "已结束", "published": "已公布"}[self.value]

    @property
    def editable(self) -> bool:
        """The spec may still change (and the round may be deleted): only a draft."""
        return self is RoundStatus.draft

    @property
    def deletable(self) -> bool:
        """Nothing has been answered yet, so the round can go without trace."""
        return self is RoundStatus.draft

    @property
    def takes_ballots(self) -> bool:
        """Phones may submit (within the round's time window)."""
        return self is RoundStatus.open

    @property
    def takes_codes(self) -> bool:
        """Ballot codes may be issued: before and while it runs, never once it has closed."""
        return self in (RoundStatus.draft, RoundStatus.open)

    @property
    def results_sealed(self) -> bool:
        """No score, share, grade, answer or comment may be seen by anyone: turnout only."""
        return self in (RoundStatus.draft, RoundStatus.open, RoundStatus.closing)

    @property
    def box_sealed(self) -> bool:
        """Ballots may be lying sealed in the ballot box: open, or interrupted while closing."""
        return self in (RoundStatus.open, RoundStatus.closing)

    @property
    def org_ratings_editable(self) -> bool:
        """Organizational ratings may still be entered or replaced: until it is published."""
        return self is not RoundStatus.published

    @property
    def receipts_public(self) -> bool:
        """The receipts page lists every counted ballot."""
        return self is RoundStatus.published

class Round(Protocol):
    """What the state machine reads and writes of a round (``survey.models.Round`` is one): the
    model imports the states from here, so this module names only what it needs."""

    slug: str
    title: str
    status: str
    opens_at: datetime | None
    closes_at: datetime | None
    closed_at: datetime | None

    @property
    def state(self) -> RoundStatus: ...


class ResultsSealed(Forbidden):
    """Something that shows or keeps results, asked of a round whose results are sealed: 403 on
    a page (saying so, not "没有权限", which would send an administrator looking for a right
    nobody has), a refusal on the command line."""

    title = "结果封存"


def sealed_words(round_: Round) -> str:
    """Why nobody sees this round's results yet, in words."""
    now = {RoundStatus.draft: "评议尚未开始", RoundStatus.open: "评议进行中",
           RoundStatus.closing: "评议已结束，正在计票"}.get(round_.state, "评议进行中")
    return (f"{now}，结果封存：在评议结束、开箱计票之前，任何人（包括管理员）都只能看到参评人数，"
            "看不到得分、比例、等次和意见。")


def refuse_while_sealed(round_: Round) -> None:
    """The one gate of sealed results: every page, download, command and service that shows,
    keeps or writes beside results calls this first. Raises ``ResultsSealed`` while the round
    is draft, open or closing."""
    if round_.state.results_sealed:
        raise ResultsSealed(
            f"评议“{round_.title}”：{sealed_words(round_)} "
            f"(round {round_.slug!r} is {round_.status}: results stay sealed until it is closed: "
            f"flask --app survey rounds close {round_.slug})"
        )


#: action → (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[RoundStatus], RoundStatus]] = {
    "open": (frozenset({RoundStatus.draft}), RoundStatus.open),
    "close": (frozenset({RoundStatus.open}), RoundStatus.closing),
    "count": (frozenset({RoundStatus.closing}), RoundStatus.closed),
    "publish": (frozenset({RoundStatus.closed}), RoundStatus.published),
}

PAST = {"open": "opened", "close": "closed", "count": "counted", "publish": "published"}

STATUS_NAMES = {s: f"{s.label} ({s.value})" for s in RoundStatus}


class IllegalTransition(Conflict):
    """A status change the state machine does not allow."""


def transition(round_: Round, action: str, *, now: datetime | None = None) -> RoundStatus:
    """Move ``round_`` by ``action`` (open, close, publish) or raise ``IllegalTransition``."""
    if action not in TRANSITIONS:
        raise IllegalTransition(f"unknown action {action!r}")
    sources, target = TRANSITIONS[action]
    current = round_.state
    if current not in sources:
        allowed = " or ".join(STATUS_NAMES[s] for s in sorted(sources, key=lambda s: s.value))
        raise IllegalTransition(
            f"cannot {action} round {round_.slug!r}: it is {STATUS_NAMES[current]}; "
            f"only a round that is {allowed} can be {PAST[action]}"
        )
    now = now or datetime.now(timezone.utc)
    if action == "open" and round_.closes_at is not None and aware(round_.closes_at) <= now:
        raise IllegalTransition(
            f"cannot open round {round_.slug!r}: its closes_at ({round_.closes_at.isoformat()}) has passed"
        )
    round_.status = target.value
    return target


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


FORMAT = "%Y年%m月%d日 %H:%M"


def _when(moment: datetime) -> str:
    from ..timefmt import beijing

    return beijing(moment).strftime(FORMAT)


def accepting_state(round_: Round, now: datetime | None = None) -> tuple[bool, str]:
    """Whether the round takes ballots now, and if not, why, in words for a respondent."""
    now = now or datetime.now(timezone.utc)
    status = round_.state
    if status is RoundStatus.draft:
        if round_.opens_at and now < aware(round_.opens_at):
            return False, f"本次评议尚未开始，将于{_when(round_.opens_at)}开始。"
        return False, "本次评议尚未开始。"  # a start already past says nothing of when
    if status in (RoundStatus.closing, RoundStatus.closed, RoundStatus.published):
        ended = round_.closed_at or (round_.closes_at if round_.closes_at and now >= aware(round_.closes_at) else None)
        if ended is not None:
            return False, f"本次评议已于{_when(ended)}结束，感谢您的关注。"
        return False, "本次评议已经结束，感谢您的关注。"
    if round_.opens_at and now < aware(round_.opens_at):
        return False, f"本次评议尚未开始，将于{_when(round_.opens_at)}开始。"
    if round_.closes_at and now >= aware(round_.closes_at):
        return False, f"本次评议已于{_when(round_.closes_at)}结束，感谢您的关注。"
    return True, ""


def organizer_state(round_: Round, now: datetime | None = None) -> str:
    """Whether the round takes ballots now, in words for the organizer on its console page:
    what to do next, not the respondent's courtesies."""
    now = now or datetime.now(timezone.utc)
    status = round_.state
    opens, closes = round_.opens_at, round_.closes_at
    if status is RoundStatus.draft:
        if opens and now < aware(opens):
            return f"草稿，不接受提交：开始评议后，于{_when(opens)}起接受提交。"
        if opens:
            return f"草稿，不接受提交：计划开始时间{_when(opens)}已过，点击“开始评议”后立即接受提交。"
        return "草稿，不接受提交：点击“开始评议”后接受提交。"
    if status is RoundStatus.open:
        if opens and now < aware(opens):
            return f"已开始评议，于{_when(opens)}起接受提交。"
        if closes and now >= aware(closes):
            return f"结束时间{_when(closes)}已过，不再接受提交：请点击“结束评议”开箱计票。"
        return "正在接受提交。" + (f"将于{_when(closes)}停止接受。" if closes else "点击“结束评议”后停止。")
    if status is RoundStatus.closing:
        return "已停止接受提交，正在开箱计票。"
    if round_.closed_at:
        return f"已于{_when(round_.closed_at)}结束评议，不再接受提交。"
    return "已结束评议，不再接受提交。"
