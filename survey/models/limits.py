"""Counters of the installation's limits: failed code lookups, open-link ballots and failed
sign-ins per client, and ballots arriving per group and minute.

Kept in the database, so that every worker, every app server and every restart sees one count.
Nothing here is a ballot or points at one: a client address appears only inside a keyed hash
(``survey.counters.client_key``), each row is deleted once its window has passed, and the rows
are written in transactions of their own, never in a ballot's.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class LimitCount(Base):
    """How many events of one kind one key had in one time bucket."""

    __tablename__ = "limit_counts"

    #: what is counted: ``code-failure``, ``open-ballot``, ``sign-in``... (survey.counters)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: a keyed hash of the client (and account or group) the count is for; ``g<id>`` for a
    #: group's arrivals, which carry no client at all
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: the bucket's start, in seconds since the epoch
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer)
    #: when the bucket stops counting for its window: the row is deleted from then on
    expires: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_limit_counts_expires", "expires"),)
