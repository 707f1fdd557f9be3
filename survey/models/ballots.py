"""Ballot codes, sealed ballots, ballots, answers, comments and receipts: stored so that none
can be joined to another.

A code is kept only as a keyed hash; using it deletes its row. While a round is open a ballot
is one ``SealedBallot``: its content encrypted to the round's ballot box key, with a random id,
its group and the day. Closing opens the box and writes ``Ballot``, ``Answer`` and ``Comment``
rows in random order under fresh ids (``survey.ballotbox.opening``). A ballot has the day it was
cast, nothing finer; its answers hang off the ballot id. Comments and receipts carry no ballot
id at all. On SQLite these tables are WITHOUT ROWID, so their physical order is the order of
their random keys, not the order of arrival.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
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

    #: random (``random_code_id``), and rows are inserted shuffled: neither the id nor the
    #: storage order follows the order of the slips or the CSV
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"))
    #: HMAC-SHA256 of the normalized code under the service's code key, hex
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)

    __table_args__ = (Index("ix_ballot_codes_round_group", "round_id", "group_id"),)


class SealedBallot(Base):
    """One ballot of an open round, as its sealed box: nobody without the round's private key
    can read what it says. Turnout is a count of these rows; close opens and removes them."""

    __tablename__ = "sealed_ballots"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"))
    #: the day only, as for a ballot
    cast_on: Mapped[date] = mapped_column(Date)
    #: ``survey.ballotbox.seal``: padded content sealed to the round's public key
    box: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        Index("ix_sealed_ballots_round_group", "round_id", "group_id"),
        {"sqlite_with_rowid": False},
    )


class Ballot(Base):
    """An opened ballot of a closed round, under an id it was given at close."""

    __tablename__ = "ballots"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"))
    #: the day only: a finer time could be matched against when a code was used
    cast_on: Mapped[date] = mapped_column(Date)

    answers: Mapped[list[Answer]] = relationship(cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
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

    #: no index on (subject_id, item_id): every query reaches answers through its ballots
    #: (``ballot_id``, the key's first column), and each ballot would write ~40 scattered pages
    __table_args__ = ({"sqlite_with_rowid": False},)


class Comment(Base):
    """A free-text comment on a subject, stored apart from any ballot."""

    __tablename__ = "comments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("round_subjects.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(ForeignKey("round_groups.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)

    __table_args__ = ({"sqlite_with_rowid": False},)


class Receipt(Base):
    """A receipt code shown to a respondent, listed after publication.

    Kept apart from the ballot it was handed out with: nothing in this table names a ballot, so
    whoever is shown a person's receipt learns nothing of their answers from the database.
    """

    __tablename__ = "receipts"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    #: ``K7QM-4XPA``: random, shown on the receipt page
    receipt: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        UniqueConstraint("round_id", "receipt"),
        {"sqlite_with_rowid": False},
    )


class KeyFingerprint(Base):
    """Which code key the stored codes were issued under, as a fingerprint (not the key).

    A service started with another key would find none of the printed codes: it refuses to
    start instead (``survey.codes.keys``).
    """

    __tablename__ = "key_fingerprints"

    #: what the key is for; only ``ballot-codes`` today
    purpose: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: HMAC-SHA256(key, "fingerprint"), first 16 hex digits
    fingerprint: Mapped[str] = mapped_column(String(64))


__all__ = ["Answer", "Ballot", "BallotCode", "Comment", "KeyFingerprint", "Receipt", "SealedBallot"]
