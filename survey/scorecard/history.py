"""A subject across rounds: subject codes are stable from year to year, so the rounds that rated
the same code show how its results moved (and whether 整改 worked)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from ..extensions import db
from ..models import Round, Subject
from .detail import item_scores
from .services import RoundResults, round_results


@dataclass(frozen=True)
class Past:
    """One round's results for the subject."""

    slug: str
    title: str
    year: int | None
    composite: float | None
    grade: str | None
    rank: int | None
    items: dict[str, float | None]  #: item key → combined item mean


@dataclass(frozen=True)
class History:
    """The earlier rounds (oldest first), this round, and the change since the last one."""

    earlier: list[Past]
    current: Past

    @property
    def last(self) -> Past | None:
        return self.earlier[-1] if self.earlier else None

    def change(self, item: str | None = None) -> float | None:
        """This round's figure minus the last earlier round's (composite, or an item's mean)."""
        if self.last is None:
            return None
        before = self.last.composite if item is None else self.last.items.get(item)
        after = self.current.composite if item is None else self.current.items.get(item)
        return None if before is None or after is None else after - before


def round_order(round_: Round) -> tuple[int, float, int]:
    """Rounds in time: by year, then by closing time, then by creation."""
    closes = round_.closes_at.timestamp() if round_.closes_at else 0.0
    return (round_.year or 0, closes, round_.id)


def past_of(results: RoundResults, code: str) -> Past:
    """A round's figures for subject ``code`` (its scorecard row and combined item means)."""
    row = next(r for r in results.scorecard.records() if r["subject"] == code)
    return Past(slug=results.round.slug, title=results.round.title, year=results.round.year,
                composite=row["composite"], grade=row["grade"], rank=row["rank"],
                items=item_scores(results, code))


def rounds_with_subject(code: str) -> list[Round]:
    """Every round, sealed or not, with a subject ``code``, in time order."""
    rounds = db.session.scalars(select(Round).join(Subject, Subject.round_id == Round.id)
                                .where(Subject.code == code)).all()
    return sorted(set(rounds), key=round_order)


def subject_history(results: RoundResults, code: str,
                    may_see: Callable[[Round], bool] = lambda r: True) -> History:
    """The subject in the closed rounds before this one that ``may_see`` allows (a reviewer
    sees only the rounds assigned to them)."""
    here = round_order(results.round)
    earlier = [
        past_of(round_results(r, with_interval=False), code)
        for r in rounds_with_subject(code)
        if round_order(r) < here and not r.state.results_sealed and may_see(r)
    ]
    return History(earlier=earlier, current=past_of(results, code))
