"""Turnout while a round runs: what organizers may see before results are unsealed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..models import Ballot, BallotCode, GroupAccess, Round, SealedBallot


@dataclass(frozen=True)
class GroupTurnout:
    key: str
    name: str
    access: GroupAccess
    expected: int | None
    codes_issued: int
    codes_unused: int  #: 0 once the round is closed: closing destroys the codes
    ballots: int
    paused: bool = False  #: an open link an organizer has paused

    @property
    def is_open(self) -> bool:
        return self.access is GroupAccess.open

    @property
    def participation(self) -> float | None:
        return self.ballots / self.expected if self.expected else None


def round_turnout(round_: Round) -> list[GroupTurnout]:
    """Ballots per group: the sealed ones while the round is open (their count is all anyone
    may know of them), plus the opened ones."""
    ballots: dict[int, int] = {}
    for table in (SealedBallot, Ballot):
        for group_id, count in db.session.execute(
            select(table.group_id, func.count()).where(table.round_id == round_.id).group_by(table.group_id)
        ).all():
            ballots[group_id] = ballots.get(group_id, 0) + count
    unused = dict(
        db.session.execute(
            select(BallotCode.group_id, func.count()).where(BallotCode.round_id == round_.id).group_by(BallotCode.group_id)
        ).all()
    )
    return [
        GroupTurnout(
            key=g.key, name=g.name, access=g.mode, expected=g.expected,
            codes_issued=g.codes_issued, codes_unused=unused.get(g.id, 0),
            ballots=ballots.get(g.id, 0), paused=g.paused,
        )
        for g in round_.groups
    ]


@dataclass(frozen=True)
class Arrivals:
    """Ballots arriving on one group, per minute, the minute in progress last; and the ballots
    its open link refused for their client's rate. Counted with no address (survey.counters)."""

    stored: list[int]
    refused: list[int]


def round_arrivals(round_: Round) -> dict[str, Arrivals]:
    """Arrivals per minute of every group of the round, by group key, the last few minutes."""
    from ..respond.limits import arrivals, refusals

    ids = [g.id for g in round_.groups]
    stored, refused = arrivals(ids), refusals(ids)
    return {g.key: Arrivals(stored[g.id], refused[g.id]) for g in round_.groups}
