"""One subject of a scored round in detail: per item and per group, the answer distribution,
item means and shares; its comments; blanked exactly as the scorecard blanks it.

Every figure comes from the same ``RoundResults`` the scorecard was built from (its SQL
tallies, and the 不了解 counts, which no score uses, from one more ``GROUP BY``).

Anonymity (docs/scoring.md, rule 12): the groups the scorecard flags ``suppressed:<g>`` for a subject
show their number of valid ballots and nothing else here either: no distribution, no 不了解
count, no mean, no share, and their comments carry no group name. The "all groups" figures of
an item combine the groups counted in the public score (weight > 0), exactly as P(s) does, so
that subtracting the visible groups from them can reveal no more than P(s) itself; with fewer
than ``display_min`` valid ballots among those groups they are left blank as well.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from scoring.spec import RoundSpec
from scoring.tallies import dense_counts

from ..extensions import db
from ..models import Comment, Group, Subject
from .services import RoundResults


@dataclass(frozen=True)
class Figures:
    """The answers to one item (or to all items) from one group or from several.

    ``counts`` per level key in scale order; ``unknown`` the 不了解 answers, which count in no
    denominator; ``mean`` the mean points, shares over the level answers (None without any).
    """

    counts: dict[str, int]
    unknown: int
    mean: float | None
    positive_share: float | None
    top_share: float | None
    negative_share: float | None

    @property
    def answers(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class GroupColumn:
    """A group as it rates this subject."""

    key: str
    name: str
    weight: float
    n: int  #: valid ballots n(s,g): shown even when the group is blanked
    blanked: bool  #: flagged suppressed: no other figure of this group is shown
    counted: bool  #: counted in the public score
    score: float | None  #: G(s,g), None when blanked
    positive_share: float | None


@dataclass(frozen=True)
class ItemRow:
    key: str
    text: str
    weight: float
    overall: Figures | None  #: counted groups combined (None when blanked, see the module doc)
    by_group: dict[str, Figures | None]  #: None for a blanked group or one without answers


@dataclass(frozen=True)
class SubjectDetail:
    code: str
    name: str
    commitment: str | None
    row: dict[str, Any]  #: the scorecard row, JSON-ready (numbers rounded like the CSV)
    flags: list[str]
    levels: list[tuple[str, str, str]]  #: (key, label, polarity) in scale order
    groups: list[GroupColumn]
    items: list[ItemRow]
    comments: list[tuple[str | None, str]] = field(default_factory=list)  #: (group name or None, text)


def subject_detail(results: RoundResults, code: str, *, rng: random.Random | None = None) -> SubjectDetail:
    """The detail of subject ``code``; ``KeyError`` when the round has no such subject."""
    spec = results.spec
    k = spec.subject_codes.index(code)
    subject = spec.subjects[k]
    cube, n = dense_counts(spec, results.tallies)
    cube, n = cube[k], n[k]  # [g, i, level], [g]
    unknown = results.unknown[k]  # [g, i]
    blanked = results.suppressed(code)
    record = next(r for r in results.scorecard.records() if r["subject"] == code)
    scheme = spec.scheme
    points = np.array([lv.points for lv in spec.scale.levels], dtype=float)

    groups: list[GroupColumn] = []
    counted_idx: list[int] = []
    for j, group in enumerate(spec.groups):
        if not group.rates(code):
            continue
        counted = bool(n[j] >= max(scheme.min_group_responses, 1))
        if counted and group.weight > 0:
            counted_idx.append(j)
        hide = group.key in blanked
        groups.append(GroupColumn(
            key=group.key, name=group.name, weight=group.weight, n=int(n[j]), blanked=hide, counted=counted,
            score=None if hide else record.get(f"score_{group.key}"),
            positive_share=None if hide else record.get(f"positive_share_{group.key}"),
        ))

    combined_n = int(sum(n[j] for j in counted_idx))
    items: list[ItemRow] = []
    for i, item in enumerate(spec.items):
        by_group: dict[str, Figures | None] = {}
        for column in groups:
            j = spec.group_keys.index(column.key)
            has_answers = cube[j, i].sum() + unknown[j, i] > 0
            by_group[column.key] = None if column.blanked or not has_answers else _figures(
                spec, cube[j, i], int(unknown[j, i]), points)
        overall = None
        if counted_idx and combined_n >= scheme.display_min:
            overall = _combined(spec, cube, unknown, i, counted_idx, points)
        items.append(ItemRow(key=item.key, text=item.text, weight=item.weight, overall=overall, by_group=by_group))

    return SubjectDetail(
        code=code, name=subject.name, commitment=subject.commitment, row=record,
        flags=results.scorecard.flags_of(code),
        levels=[(lv.key, lv.label, lv.polarity) for lv in spec.scale.levels],
        groups=groups, items=items,
        comments=subject_comments(results, code, rng=rng),
    )


def item_scores(results: RoundResults, code: str) -> dict[str, float | None]:
    """Each item's combined mean for ``code`` (the ``overall`` figures), for comparisons across
    rounds; None where blanked or unanswered."""
    detail = subject_detail(results, code, rng=random.Random(0))
    return {row.key: (row.overall.mean if row.overall else None) for row in detail.items}


def _figures(spec: RoundSpec, counts: np.ndarray, unknown: int, points: np.ndarray) -> Figures:
    total = int(counts.sum())
    levels = spec.scale.levels
    if total == 0:
        return Figures({lv.key: 0 for lv in levels}, unknown, None, None, None, None)
    top = spec.scale.top_points

    def share(test: Any) -> float:
        return float(sum(c for c, lv in zip(counts, levels) if test(lv))) / total

    return Figures(
        counts={lv.key: int(c) for lv, c in zip(levels, counts)},
        unknown=unknown,
        mean=float(counts @ points) / total,
        positive_share=share(lambda lv: lv.polarity == "positive"),
        top_share=share(lambda lv: lv.points == top),
        negative_share=share(lambda lv: lv.polarity == "negative"),
    )


def _combined(spec: RoundSpec, cube: np.ndarray, unknown: np.ndarray, i: int, groups: list[int],
              points: np.ndarray) -> Figures:
    """Counted groups combined like P(s): means and shares weighted by W_g over the groups that
    answered the item; the distribution is their summed counts."""
    parts = [(spec.groups[j].weight, _figures(spec, cube[j, i], int(unknown[j, i]), points)) for j in groups]
    answered = [(w, f) for w, f in parts if f.mean is not None]
    summed = cube[groups, i].sum(axis=0)
    counts = {lv.key: int(c) for lv, c in zip(spec.scale.levels, summed)}
    unknown_total = int(unknown[groups, i].sum())
    total_w = sum(w for w, _ in answered)
    if not answered or total_w <= 0:
        return Figures(counts, unknown_total, None, None, None, None)

    def weighted(attr: str) -> float:
        return sum(w * getattr(f, attr) for w, f in answered) / total_w

    return Figures(counts, unknown_total, weighted("mean"), weighted("positive_share"),
                   weighted("top_share"), weighted("negative_share"))


def subject_comments(results: RoundResults, code: str, *, rng: random.Random | None = None) -> list[tuple[str | None, str]]:
    """The comments about ``code`` as (group name, text), shuffled on every call; the group
    name is None for a group whose figures are blanked, so no comment points at a small group."""
    blanked = results.suppressed(code)
    rows = db.session.execute(
        select(Group.key, Group.name, Comment.text)
        .join(Group, Group.id == Comment.group_id)
        .join(Subject, Subject.id == Comment.subject_id)
        .where(Comment.round_id == results.round.id, Subject.code == code)
    ).all()
    comments = [(None if key in blanked else name, text) for key, name, text in rows]
    (rng or random.SystemRandom()).shuffle(comments)
    return comments


def figures_frame(detail: SubjectDetail) -> pd.DataFrame:
    """The detail as a flat table (one row per item and group column), for tests and exports."""
    rows = []
    for item in detail.items:
        for key, figures in [("*", item.overall), *item.by_group.items()]:
            if figures is None:
                continue
            rows.append({"item": item.key, "group": key, **figures.counts, "unknown": figures.unknown,
                         "mean": figures.mean, "positive_share": figures.positive_share,
                         "negative_share": figures.negative_share})
    return pd.DataFrame(rows)


def fmt_share(value: float | None) -> str:
    """A share as a percentage with one decimal, '—' when empty."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value * 100:.1f}%"


def fmt_score(value: float | None) -> str:
    """A score with 2 decimals, '—' when empty."""
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.2f}"
