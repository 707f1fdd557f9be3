"""Grades, grade rules, the top-grade cap and competition ranking (docs/scoring.md, rules 7–9).

Shared by the round scorecard and the annual assessment: both grade a score column with the
same bands, rules, cap and rank.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from .spec import GradeBand, Rule

#: composites closer than this are equal for ranking and for the cap's order
RANK_TOLERANCE = 1e-9


def _empty(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def band_grade(score: float | None, grades: Sequence[GradeBand]) -> str | None:
    """The first band (best first) whose ``min`` ≤ score; ``None`` for no score or no band.

    A score within 1e-9 below a ``min`` reaches it: a mean such as (61.3 + 67.8 + 56.11 + 60)/4
    is 61.3025 exactly but 61.302499999999995 in floating point.

    >>> from scoring.spec import GradeBand
    >>> band_grade(85.0, [GradeBand("优秀", 90), GradeBand("良好", 80), GradeBand("一般", 0)])
    '良好'
    """
    if _empty(score):
        return None
    for band in grades:
        if band.min <= score + RANK_TOLERANCE:  # type: ignore[operator]
            return band.grade
    return None


def worse(a: str, b: str, grades: Sequence[GradeBand]) -> str:
    """The worse of two grades (the one listed later in ``grades``)."""
    order = [band.grade for band in grades]
    return a if order.index(a) >= order.index(b) else b


def apply_rules(grade: str | None, metrics: Mapping[str, float | None], rules: Sequence[Rule],
                grades: Sequence[GradeBand]) -> tuple[str | None, list[int]]:
    """Apply grade rules in order; return the grade and the places (from 1) of review rules that fired.

    A rule fires when its metric is strictly above/below its threshold (a value within 1e-9 of
    it counts as equal, as for ranks); an empty metric never fires. ``grade: G`` sets the grade
    to G when G is worse; ``at_most: G`` lowers a better grade to G; so both only ever move a
    grade down. Without a grade (no composite) no rule
    applies.
    """
    reviews: list[int] = []
    if grade is None:
        return None, reviews
    for place, rule in enumerate(rules, start=1):
        value = metrics.get(rule.metric)
        if _empty(value) or not rule.fires(float(value), RANK_TOLERANCE):  # type: ignore[arg-type]
            continue
        grade = worse(grade, rule.target, grades)
        if rule.review:
            reviews.append(place)
    return grade, reviews


def competition_rank(scores: Sequence[float | None], tolerance: float = RANK_TOLERANCE) -> list[int | None]:
    """Competition ranks ("1224"), highest first: rank = 1 + #{others more than ``tolerance`` higher}.

    >>> competition_rank([90.0, 85.0, 85.0 + 1e-12, None, 70.0])
    [1, 2, 2, None, 4]
    """
    present = sorted(float(v) for v in scores if not _empty(v))
    ranks: list[int | None] = []
    for value in scores:
        if _empty(value):
            ranks.append(None)
            continue
        higher = len(present) - bisect.bisect_right(present, float(value) + tolerance)  # type: ignore[arg-type]
        ranks.append(higher + 1)
    return ranks


def cap_size(share: float, n_graded: int, rounding: str) -> int:
    """How many subjects may keep the best grade: floor(q·N), or q·N rounded half up.

    Computed in decimal from the written share, so that 0.29 × 100 is 29, not 28.
    """
    exact = Decimal(repr(float(share))) * n_graded
    return int(exact.to_integral_value(rounding=ROUND_HALF_UP if rounding == "round" else ROUND_FLOOR))


@dataclass(frozen=True)
class Graded:
    """Result of :func:`grade_all`, one entry per subject in input order."""

    grades: list[str | None]
    ranks: list[int | None]
    flags: list[list[str]]


def grade_all(codes: Sequence[str], scores: Sequence[float | None],
              metrics: Sequence[Mapping[str, float | None]], grades: Sequence[GradeBand],
              rules: Sequence[Rule], cap: float | None, rounding: str,
              tiebreak: Sequence[float | None]) -> Graded:
    """Grade, apply rules, cap the best grade and rank (docs/scoring.md, rules 7–9).

    The cap keeps at most ``cap_size(cap, N)`` subjects with the best grade, N the number of
    graded subjects, in order of score (equal within 1e-9), then ``tiebreak`` (positive share,
    higher first, equal within 1e-9, empty last), then subject code; the others move to the
    second grade and are flagged ``capped``.
    """
    ranks = competition_rank(scores)
    flags: list[list[str]] = [[] for _ in codes]
    result: list[str | None] = []
    for k, score in enumerate(scores):
        grade, reviews = apply_rules(band_grade(score, grades), metrics[k], rules, grades)
        result.append(grade)
        flags[k].extend(f"review:{n}" for n in reviews)
    if cap is not None and len(grades) >= 2:
        best, second = grades[0].grade, grades[1].grade
        graded = sum(g is not None for g in result)
        keep = cap_size(cap, graded, rounding)
        top = [k for k, g in enumerate(result) if g == best]
        # positive shares within the tolerance are equal too, so that a rounding error never
        # decides between two equal ones (the code does)
        tie_ranks = dict(zip(top, competition_rank([tiebreak[k] for k in top]), strict=True))

        def order(k: int) -> tuple[int, float, str]:
            t = tie_ranks[k]
            return (ranks[k] or 0, t if t is not None else math.inf, codes[k])  # type: ignore[return-value]

        for k in sorted(top, key=order)[keep:]:
            result[k] = second
            flags[k].append("capped")
    return Graded(grades=result, ranks=ranks, flags=flags)
