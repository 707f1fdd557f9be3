"""A round's tallies computed by the database (GROUP BY subject, group, item, level), so that a
scorecard costs about the same for a hundred ballots or ten million. Only the bootstrap
interval and Cronbach's alpha read ballot-level rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Select, and_, func, select

from scoring.scales import UNKNOWN
from scoring.spec import RoundSpec
from scoring.tallies import UNIFORM_MIN_ANSWERS, Tallies

from ..extensions import db
from ..models import Answer, Ballot, Group, Item, OrgRating, Round, Subject


def spoiled_ballots(round_: Round) -> Select:
    """Ids of the round's 废票: at least ``UNIFORM_MIN_ANSWERS`` level answers, all one level (不了解 left out), the
    same test as ``scoring.tallies.uniform_ballots``. They count only when the scheme says
    ``uniform_ballots: "exclude"``."""
    return (
        select(Answer.ballot_id)
        .join(Ballot, Ballot.id == Answer.ballot_id)
        .where(Ballot.round_id == round_.id, Answer.level != UNKNOWN)
        .group_by(Answer.ballot_id)
        .having(and_(func.count() >= UNIFORM_MIN_ANSWERS, func.count(func.distinct(Answer.level)) == 1))
    )


def _counted_level_answers(round_: Round, spec: RoundSpec, *columns):  # noqa: ANN001, ANN202
    query = (
        select(*columns)
        .select_from(Answer)
        .join(Ballot, Ballot.id == Answer.ballot_id)
        .join(Group, Group.id == Ballot.group_id)
        .join(Subject, Subject.id == Answer.subject_id)
        .join(Item, Item.id == Answer.item_id)
        .where(Ballot.round_id == round_.id, Answer.level != UNKNOWN)
    )
    if spec.scheme.uniform_ballots == "exclude":
        query = query.where(Answer.ballot_id.not_in(spoiled_ballots(round_)))
    return query


def tally_round(round_: Round, spec: RoundSpec, *, with_ballots: bool = True) -> Tallies:
    """The round's ``Tallies`` from SQL; ``with_ballots=False`` skips the ballot-level rows
    (no interval, no alpha)."""
    counts = pd.DataFrame(
        db.session.execute(
            _counted_level_answers(round_, spec, Subject.code, Group.key, Item.key, Answer.level, func.count())
            .group_by(Subject.code, Group.key, Item.key, Answer.level)
        ).all(),
        columns=["subject", "group", "item", "answer", "count"],
    )
    valid = pd.DataFrame(
        db.session.execute(
            _counted_level_answers(round_, spec, Subject.code, Group.key, func.count(func.distinct(Answer.ballot_id)))
            .group_by(Subject.code, Group.key)
        ).all(),
        columns=["subject", "group", "n"],
    )
    received = {key: 0 for key in spec.group_keys}
    received.update(
        db.session.execute(
            select(Group.key, func.count()).join(Ballot, Ballot.group_id == Group.id)
            .where(Ballot.round_id == round_.id).group_by(Group.key)
        ).all()
    )
    spoiled = {key: 0 for key in spec.group_keys}
    if spec.scheme.uniform_ballots == "exclude":
        spoiled.update(
            db.session.execute(
                select(Group.key, func.count()).join(Ballot, Ballot.group_id == Group.id)
                .where(Ballot.id.in_(spoiled_ballots(round_))).group_by(Group.key)
            ).all()
        )
    ballots = None
    if with_ballots:
        ballots = pd.DataFrame(
            db.session.execute(
                _counted_level_answers(round_, spec, Answer.ballot_id, Group.key, Subject.code, Item.key, Answer.level)
            ).all(),
            columns=["response_id", "group", "subject", "item", "answer"],
        )
    for frame, column in ((counts, "count"), (valid, "n")):
        frame[column] = frame[column].astype("int64")
    return Tallies(counts=counts, valid=valid, received=received, spoiled=spoiled, ballots=ballots)


def org_ratings(round_: Round) -> pd.DataFrame | None:
    """The round's organizational ratings as ``subject, rater, score``; None when there are none."""
    rows = db.session.execute(
        select(Subject.code, OrgRating.rater, OrgRating.score)
        .join(Subject, Subject.id == OrgRating.subject_id)
        .where(OrgRating.round_id == round_.id)
    ).all()
    if not rows:
        return None
    return pd.DataFrame(rows, columns=["subject", "rater", "score"])


def unknown_counts(round_: Round, spec: RoundSpec) -> np.ndarray:
    """不了解 answers per [subject, group, item] of counted ballots (废票 left out when the scheme
    excludes them, as for every other count). No score uses them; the subject pages show them
    beside each item's distribution."""
    query = (
        select(Subject.code, Group.key, Item.key, func.count())
        .select_from(Answer)
        .join(Ballot, Ballot.id == Answer.ballot_id)
        .join(Group, Group.id == Ballot.group_id)
        .join(Subject, Subject.id == Answer.subject_id)
        .join(Item, Item.id == Answer.item_id)
        .where(Ballot.round_id == round_.id, Answer.level == UNKNOWN)
        .group_by(Subject.code, Group.key, Item.key)
    )
    if spec.scheme.uniform_ballots == "exclude":
        query = query.where(Answer.ballot_id.not_in(spoiled_ballots(round_)))
    out = np.zeros((len(spec.subjects), len(spec.groups), len(spec.items)), dtype=np.int64)
    s_of = {c: k for k, c in enumerate(spec.subject_codes)}
    g_of = {c: k for k, c in enumerate(spec.group_keys)}
    i_of = {c: k for k, c in enumerate(spec.item_keys)}
    for subject, group, item, count in db.session.execute(query):
        out[s_of[subject], g_of[group], i_of[item]] = count
    return out
