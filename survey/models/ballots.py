"""Ballot codes, ballots, answers and comments: stored so that none can be joined to another.

A code is kept only as a keyed hash with a used flag. A ballot has a random id, a random receipt
and the day it was cast, nothing finer; its answers hang off the ballot id. Comments carry no
ballot id at all. On SQLite the ballot-side tables are WITHOUT ROWID, so their physical order is
the order of their random keys, not the order of arrival.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, random_id


class BallotCode(Base):
    """A single-use ballot code that has not been used yet, by its keyed hash.

    Using a code deletes its row (in the ballot's transaction) instead of setting a flag: on
    PostgreSQL an updated row is a new row version whose ``xmin`` is the ballot's transaction
    id and whose position follows the order of use, and either would join it to the ballot.
    A deleted row leaves nothing for a query to read. It records no time and no ballot.
    """

    __tablename__ = "ballot_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"))
    #: HMAC-SHA256 of the normalized code under the service's code key, hex
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (Index("ix_ballot_codes_round_group", "round_id", "group_id"),)


class Ballot(Base):
    __tablename__ = "ballots"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"))
    #: random code shown to the respondent and listed after publication
    receipt: Mapped[str] = mapped_column(String(16))
    #: the day only: a finer time could be matched against when a code was used
    cast_on: Mapped[date] = mapped_column(Date)

    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
        UniqueConstraint("round_id", "receipt"),
        Index("ix_ballots_round_group", "round_id", "group_id"),
        {"sqlite_with_rowid": False},
    )


class Answer(Base):
    """One answered item: a level key of the round's scale, or ``unknown`` (不了解)."""

    __tablename__ = "answers"

    ballot_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("ballots.id", ondelete="CASCADE"), primary_key=True
    )
    subject_id: Mapped[int] = mapped_column(ForeignKey("round_subjects.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("round_items.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_answers_subject_item", "subject_id", "item_id"),
        {"sqlite_with_rowid": False},
    )


class Comment(Base):
    """A free-text comment on a subject, stored apart from any ballot."""

    __tablename__ = "comments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("round_subjects.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = ({"sqlite_with_rowid": False},)


__all__ = ["Answer", "Ballot", "BallotCode", "Comment"]
