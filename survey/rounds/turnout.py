"""Turnout while a round runs: what organizers may see before results are unsealed."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..models import Ballot, BallotCode, Round


@dataclass(frozen=True)
class GroupTurnout:
    key: str
    name: str
    access: str
    expected: int | None
    codes_issued: int
    codes_unused: int  #: 0 once the round is closed: closing destroys the codes
    ballots: int

    @property
    def participation(self) -> float | None:
        return self.ballots / self.expected if self.expected else None


def round_turnout(round_: Round) -> list[GroupTurnout]:
    ballots = dict(
        db.session.execute(
            select(Ballot.group_id, func.count()).where(Ballot.round_id == round_.id).group_by(Ballot.group_id)
        ).all()
    )
    unused = dict(
        db.session.execute(
            select(BallotCode.group_id, func.count()).where(BallotCode.round_id == round_.id).group_by(BallotCode.group_id)
        ).all()
    )
    return [
        GroupTurnout(
            key=g.key, name=g.name, access=g.access, expected=g.expected,
            codes_issued=g.codes_issued, codes_unused=unused.get(g.id, 0),
            ballots=ballots.get(g.id, 0),
        )
        for g in round_.groups
    ]
