"""Casting a ballot: one short transaction that spends the code (if any) and stores the answers.

The code is spent by deleting its row, conditionally (``DELETE ... WHERE id = :id``): of two
phones sending one code at the same moment, exactly one sees a row go, the other none
(see ``BallotCode`` for why a spent code is deleted rather than flagged). The ballot gets a random id and
only the day it was cast. Its receipt and its comments go to tables of their own with no ballot id.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select

from ..codes.services import ALPHABET
from ..errors import ServiceError
from ..extensions import db
from ..models import Answer, Ballot, BallotCode, Comment, Group, Receipt, Round, random_id
from ..timefmt import BEIJING


USED_MESSAGE = "此评议码已经使用过，或者无效。每个评议码只能提交一次；请核对评议条上的评议码。"


class CodeAlreadyUsed(ServiceError):
    """The code was spent by an earlier ballot."""


class GroupFull(ServiceError):
    """An open link has taken as many ballots as its cap (``expected`` × ``cap_factor``)."""


FULL_MESSAGE = "本群体收到的评议票数已达到上限（超过应参与人数），不再接收新的评议。如您尚未参加评议，请联系组织者。"


@dataclass(frozen=True)
class Cast:
    receipt: str
    repeated: bool  #: True when this was a retry of a ballot already stored


def new_receipt() -> str:
    """A receipt like ``K7QM-4XPA``: random, so it tells nothing about when or who."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def receipt_exists(round_: Round, receipt: str) -> bool:
    return db.session.scalar(
        select(Receipt.id).where(Receipt.round_id == round_.id, Receipt.receipt == receipt)
    ) is not None


def cast_ballot(
    round_: Round,
    group: Group,
    *,
    answers: dict[tuple[str, str], str],
    comments: dict[str, str],
    receipt: str,
    code: BallotCode | None = None,
    cap: int | None = None,
) -> Cast:
    """Store one ballot (flushes; the caller's unit of work commits).

    ``answers`` maps (subject code, item key) to a level key or ``unknown``; the form has
    already checked them against the round. The caller has already looked for ``receipt``
    (a page sent twice shows its receipt before the once-per-browser check); a copy of the
    page racing this one is stopped by the spent code, or by the unique receipt at commit.
    ``cap``: the most ballots the group takes (open links); one more raises ``GroupFull``.
    Simultaneous ballots each count only the others already committed, so the cap can be passed
    by as many ballots as arrive at the same instant.
    """
    if code is not None:
        spent = db.session.execute(
            delete(BallotCode).where(BallotCode.id == code.id).execution_options(synchronize_session=False)
        )
        if spent.rowcount != 1:
            if receipt_exists(round_, receipt):
                return Cast(receipt, repeated=True)
            raise CodeAlreadyUsed(USED_MESSAGE)
    subject_ids = {s.code: s.id for s in round_.subjects}
    item_ids = {i.key: i.id for i in round_.items}
    ballot_id = random_id()
    db.session.execute(
        insert(Ballot).values(
            id=ballot_id, round_id=round_.id, group_id=group.id, cast_on=datetime.now(BEIJING).date(),
        )
    )
    if cap is not None:
        taken = db.session.scalar(select(func.count()).select_from(Ballot).where(Ballot.group_id == group.id))
        if taken > cap:
            raise GroupFull(FULL_MESSAGE)
    db.session.execute(insert(Receipt).values(id=random_id(), round_id=round_.id, receipt=receipt))
    db.session.execute(
        insert(Answer),
        [
            {"ballot_id": ballot_id, "subject_id": subject_ids[s], "item_id": item_ids[i], "level": level}
            for (s, i), level in answers.items()
        ],
    )
    if comments:
        db.session.execute(
            insert(Comment),
            [
                {"id": random_id(), "round_id": round_.id, "subject_id": subject_ids[s],
                 "group_id": group.id, "text": text}
                for s, text in comments.items()
            ],
        )
    return Cast(receipt, repeated=False)
