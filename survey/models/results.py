"""A closed round's results, computed once and kept (``survey.scorecard.kept``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class KeptResults(Base):
    """The scored results of a closed round: its tallies, ballot patterns (for the interval),
    scorecard, summary and 不了解 counts, so that no page scores the round again.

    ``basis`` says what they were computed from that can still change (the organizational
    ratings, by content, until publication); results whose basis is no longer the round's are
    computed again.
    """

    __tablename__ = "kept_results"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    #: sha256 of the format and of the round's organizational ratings when these were computed
    basis: Mapped[str] = mapped_column(String(64))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: zlib-compressed JSON (no pickle: the database never holds code to run)
    data: Mapped[bytes] = mapped_column(LargeBinary)


__all__ = ["KeptResults"]
