"""The round state machine, in one place: every status change goes through ``transition``."""

from __future__ import annotations

from datetime import datetime, timezone

from ..models import Round, RoundStatus
from ..errors import ServiceError

#: action → (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[RoundStatus], RoundStatus]] = {
    "open": (frozenset({RoundStatus.draft}), RoundStatus.open),
    "close": (frozenset({RoundStatus.open}), RoundStatus.closed),
    "publish": (frozenset({RoundStatus.closed}), RoundStatus.published),
}

PAST = {"open": "opened", "close": "closed", "publish": "published"}

STATUS_NAMES = {
    RoundStatus.draft: "草稿 (draft)",
    RoundStatus.open: "进行中 (open)",
    RoundStatus.closed: "已结束 (closed)",
    RoundStatus.published: "已公布 (published)",
}


class IllegalTransition(ServiceError):
    """A status change the state machine does not allow."""


def transition(round_: Round, action: str, *, now: datetime | None = None) -> RoundStatus:
    """Move ``round_`` by ``action`` (open, close, publish) or raise ``IllegalTransition``."""
    if action not in TRANSITIONS:
        raise IllegalTransition(f"unknown action {action!r}")
    sources, target = TRANSITIONS[action]
    current = RoundStatus(round_.status)
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


def accepting_state(round_: Round, now: datetime | None = None) -> tuple[bool, str]:
    """Whether the round takes ballots now, and if not, why, in words for a respondent."""
    now = now or datetime.now(timezone.utc)
    status = RoundStatus(round_.status)
    fmt = "%Y年%m月%d日 %H:%M"
    from ..timefmt import beijing

    if status is RoundStatus.draft:
        if round_.opens_at:
            return False, f"本次评议尚未开始，将于{beijing(round_.opens_at).strftime(fmt)}开始。"
        return False, "本次评议尚未开始。"
    if status in (RoundStatus.closed, RoundStatus.published):
        if round_.closes_at and now >= aware(round_.closes_at):
            return False, f"本次评议已于{beijing(round_.closes_at).strftime(fmt)}结束，感谢您的关注。"
        return False, "本次评议已经结束，感谢您的关注。"
    if round_.opens_at and now < aware(round_.opens_at):
        return False, f"本次评议尚未开始，将于{beijing(round_.opens_at).strftime(fmt)}开始。"
    if round_.closes_at and now >= aware(round_.closes_at):
        return False, f"本次评议已于{beijing(round_.closes_at).strftime(fmt)}结束，感谢您的关注。"
    return True, ""
