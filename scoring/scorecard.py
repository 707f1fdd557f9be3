"""The weighted scorecard of a round (docs/scoring.md, rules 2–12), built from :class:`Tallies` only.

Notation: s a subject, g a group with weight W_g, i an item with weight w_i, "answers" level
answers (never 不了解 ``unknown``).

* item mean m(s,g,i) = mean points of the answers to i;
* group score G(s,g) = Σ w_i·m(s,g,i) / Σ w_i over the items with at least one answer;
* group shares (positive / top / negative) per item, item-weighted the same way;
* public score P(s) = Σ W_g·G(s,g) / Σ W_g over the *counted* groups: those that rate s with
  n(s,g) ≥ ``min_group_responses`` (and a defined G); weights of the others are spread over the
  rest by this renormalization, never counted as zero;
* organizational score O(s) = mean of the raters' scores, the ``org_trim`` highest and lowest
  dropped when there are at least 2·org_trim+1 raters;
* composite C(s) = (a·O(s) + b·P(s)) / (a + b).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .intervals import public_intervals
from .rules import grade_all
from .spec import RoundSpec
from .tallies import Tallies, dense_counts

BASE_COLUMNS = ("subject", "name", "n", "public_score", "positive_share", "top_share",
                "negative_share", "org_score", "org_raters", "composite", "grade", "rank",
                "ci_low", "ci_high", "flags")
SCORE_COLUMNS = ("public_score", "org_score", "composite", "ci_low", "ci_high")
SHARE_COLUMNS = ("positive_share", "top_share", "negative_share")
INT_COLUMNS = ("n", "org_raters", "rank")

#: what each flag means, for the workbook's second sheet and the docs
FLAG_NOTES: dict[str, str] = {
    "excluded:<group>": "该群体有效票少于 min_group_responses，未计入公众评分，其权重按比例分给其余群体 "
                        "(group left out of the public score: too few valid ballots; its weight is spread over the others)",
    "no_public": "没有可计入的群体，公众评分为空 (no group could be counted: no public score)",
    "untrimmed": "组织评分人数不足 2×org_trim+1，未去掉最高分和最低分 (too few raters to trim: plain mean)",
    "incomplete": "综合得分所需的某项得分为空，无综合得分、等次和排名 (a weighted component is empty: no composite)",
    "review:<n>": "第 n 条规则触发，等次需评议委员会确认 (rule n fired: the grade needs a committee's confirmation)",
    "capped": "超出最高等次比例限制，降为第二等次 (over the top-grade cap: moved to the second grade)",
    "low_participation:<group>": "该群体参与率低于 min_participation (the group's participation is below the minimum)",
    "over_participation:<group>": "该群体收到的票数超过应参与人数 (the group returned more ballots than its expected size)",
    "suppressed:<group>": "为保护匿名，该群体的分项得分不予显示，但仍计入公众评分 "
                          "(per-group figures hidden for anonymity; they still count in the public score)",
}


@dataclass(frozen=True)
class Scorecard:
    """A round's scorecard.

    ``table`` has the columns of ``scorecard.csv`` in order (docs/scoring.md), one row per subject in
    rank order (unranked last) then subject code; numbers are unrounded floats, NaN where
    empty; per-group figures are already blanked for anonymity; ``rank`` and ``n_<k>`` are
    nullable integers, ``grade`` is ``None`` when there is none and ``flags`` a ``;``-joined string.
    """

    spec: RoundSpec
    table: pd.DataFrame

    @property
    def group_keys(self) -> tuple[str, ...]:
        return self.spec.group_keys

    def flags_of(self, subject: str) -> list[str]:
        """The flags of one subject, as a list."""
        text = self.table.loc[self.table["subject"] == subject, "flags"].iloc[0]
        return [f for f in str(text).split(";") if f]

    def row(self, subject: str) -> dict[str, Any]:
        """One subject's row as a dict (NaN for empty numbers)."""
        return self.table.loc[self.table["subject"] == subject].iloc[0].to_dict()

    def formatted(self) -> pd.DataFrame:
        """The table as ``scorecard.csv`` writes it: all text, scores with 2 decimals, shares 4,
        empty cells for empty values."""
        return format_table(self.table)

    def records(self) -> list[dict[str, Any]]:
        """Rows as JSON-ready dicts: numbers rounded as in the CSV, ``None`` where empty."""
        out: list[dict[str, Any]] = []
        for row in self.table.to_dict("records"):
            rec: dict[str, Any] = {}
            for column, value in row.items():
                rec[column] = json_value(column, value)
            out.append(rec)
        return out


def _decimals(column: str) -> int | None:
    if column in SCORE_COLUMNS or column.startswith("score_"):
        return 2
    if column in SHARE_COLUMNS or column.startswith("positive_share_"):
        return 4
    return None


def _is_empty(value: object) -> bool:
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def json_value(column: str, value: object) -> Any:
    """A cell as a JSON value: rounded like the CSV, ``None`` when empty."""
    if _is_empty(value):
        return None
    places = _decimals(column)
    if places is not None:
        return round(float(value), places)  # type: ignore[arg-type]
    if column in INT_COLUMNS or column.startswith("n_"):
        return int(value)  # type: ignore[call-overload]
    return value


def format_table(table: pd.DataFrame) -> pd.DataFrame:
    """Every cell as the text the CSV carries (see :meth:`Scorecard.formatted`)."""
    out: dict[str, list[str]] = {}
    for column in table.columns:
        places = _decimals(column)
        cells: list[str] = []
        for value in table[column].tolist():
            if _is_empty(value):
                cells.append("")
            elif places is not None:
                cells.append(f"{float(value):.{places}f}")
            elif column in INT_COLUMNS or column.startswith("n_"):
                cells.append(str(int(value)))
            else:
                cells.append(str(value))
        out[column] = cells
    return pd.DataFrame(out, columns=list(table.columns), dtype=object)


def scorecard_columns(spec: RoundSpec) -> list[str]:
    """The columns of ``scorecard.csv`` for this spec, in order."""
    columns = list(BASE_COLUMNS)
    for key in spec.group_keys:
        columns += [f"n_{key}", f"score_{key}", f"positive_share_{key}"]
    return columns


def weighted_mean(values: np.ndarray, included: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Σ w·x / Σ w over the included entries of the last axis (NaN when that sum is 0).

    Used twice: over items (included = answered at least once), giving G(s,g) and the shares;
    and over groups (included = counted), giving P(s). Dividing by the included weights only is
    the renormalization: a left-out item or group is spread over the others, never counted as 0.
    """
    w = np.where(included, weights, 0.0)
    den = w.sum(axis=-1)
    num = (w * np.where(included, values, 0.0)).sum(axis=-1)
    return _within_inputs(np.divide(num, den, out=np.full(den.shape, np.nan), where=den > 0),
                          values, w > 0)


def _within_inputs(mean: np.ndarray, values: np.ndarray, used: np.ndarray) -> np.ndarray:
    """A weighted mean lies between the least and the greatest value it averages; clip the
    floating-point excess (e.g. 100.00000000000001) so that it does."""
    low = np.where(used, values, np.inf).min(axis=-1)
    high = np.where(used, values, -np.inf).max(axis=-1)
    return np.where(np.isnan(mean), mean, np.minimum(np.maximum(mean, low), high))


def org_score(scores: Sequence[float], trim: int) -> tuple[float, bool]:
    """O(s) and whether it is untrimmed (rule 5).

    With k ≥ 2·trim+1 scores, the ``trim`` highest and ``trim`` lowest are dropped and the
    rest averaged; with fewer, all are averaged (untrimmed). NaN for no scores.

    >>> org_score([70, 80, 90, 95, 100], 1)
    (88.33333333333333, False)
    """
    if not scores:
        return math.nan, False
    ordered = sorted(float(x) for x in scores)
    if trim and len(ordered) >= 2 * trim + 1:
        ordered = ordered[trim:len(ordered) - trim]
        return sum(ordered) / len(ordered), False
    return sum(ordered) / len(ordered), trim > 0


def composite(o: float, p: float, a: float, b: float) -> float:
    """C = (a·O + b·P)/(a + b); NaN when a component with a positive weight is empty."""
    if (a > 0 and math.isnan(o)) or (b > 0 and math.isnan(p)):
        return math.nan
    return ((a * o if a > 0 else 0.0) + (b * p if b > 0 else 0.0)) / (a + b)


def build_scorecard(spec: RoundSpec, tallies: Tallies, org: pd.DataFrame | None = None,
                    *, executor: Executor | None = None) -> Scorecard:
    """Apply the rules of docs/scoring.md to a round's tallies and organizational ratings.

    Parameters
    ----------
    spec
        the round spec (scale, items, groups and ``scheme``).
    tallies
        answer counts, valid ballots, received and 废票 per group, and optionally ballot-level
        rows for the interval (``Tallies.ballots``; without them ci_low/ci_high stay empty).
    org
        organizational ratings, columns ``subject, rater, score``; ``None`` for none.
    executor
        optional: the bootstrap's (subject, group) draws are submitted to it (the command line
        passes a thread pool with ``--jobs N``); the result is the same.
    """
    scheme = spec.scheme
    subjects, groups = spec.subjects, spec.groups
    n_s, n_g = len(subjects), len(groups)
    cube, n = dense_counts(spec, tallies)

    levels = spec.scale.levels
    points = np.array([lv.points for lv in levels], dtype=np.float64)
    top = spec.scale.top_points
    masks = {
        "positive": np.array([lv.polarity == "positive" for lv in levels], dtype=np.float64),
        "top": np.array([lv.points == top for lv in levels], dtype=np.float64),
        "negative": np.array([lv.polarity == "negative" for lv in levels], dtype=np.float64),
    }
    item_w = np.array([it.weight for it in spec.items], dtype=np.float64)
    group_w = np.array([g.weight for g in groups], dtype=np.float64)

    answers = cube.sum(axis=-1).astype(np.float64)  # [s, g, i]
    answered = answers > 0

    def per_item(mask: np.ndarray) -> np.ndarray:
        return np.divide(cube @ mask, answers, out=np.zeros_like(answers), where=answered)

    group_score = weighted_mean(per_item(points), answered, item_w)  # [s, g]
    group_share = {k: weighted_mean(per_item(m), answered, item_w) for k, m in masks.items()}

    rates = np.array([[g.rates(s.code) for g in groups] for s in subjects], dtype=bool)  # [s, g]
    counted = rates & (n >= scheme.min_group_responses) & ~np.isnan(group_score)
    public = weighted_mean(group_score, counted, group_w)
    share = {k: weighted_mean(v, counted, group_w) for k, v in group_share.items()}

    org_by_subject: dict[str, list[float]] = {}
    if org is not None and len(org):
        for code, score in zip(org["subject"].astype(str), org["score"].astype(float)):
            org_by_subject.setdefault(code, []).append(float(score))

    flags: list[list[str]] = [[] for _ in subjects]
    org_scores: list[float] = []
    composites: list[float] = []
    a, b = scheme.combine_organizational, scheme.combine_public
    for k, subject in enumerate(subjects):
        for j, group in enumerate(groups):
            if rates[k, j] and not counted[k, j] and group.weight > 0:
                flags[k].append(f"excluded:{group.key}")
        if math.isnan(public[k]):
            flags[k].append("no_public")
        o, untrimmed = org_score(org_by_subject.get(subject.code, []), scheme.org_trim)
        if untrimmed:
            flags[k].append("untrimmed")
        c = composite(o, float(public[k]), a, b)
        if math.isnan(c):
            flags[k].append("incomplete")
        org_scores.append(o)
        composites.append(c)

    metrics = [{"positive_share": float(share["positive"][k]), "top_share": float(share["top"][k]),
                "negative_share": float(share["negative"][k]), "public_score": float(public[k]),
                "org_score": org_scores[k]} for k in range(n_s)]
    graded = grade_all([s.code for s in subjects], composites, metrics, scheme.grades, scheme.rules,
                       scheme.top_share_cap, scheme.top_share_rounding,
                       [float(x) for x in share["positive"]])
    for k in range(n_s):
        flags[k].extend(graded.flags[k])

    intervals: list[tuple[float, float] | None] = [None] * n_s
    patterns = None if np.isnan(public).all() else tallies.ballot_patterns(spec)
    if patterns is not None:
        with_public = counted & ~np.isnan(public)[:, None]
        intervals = public_intervals(spec, patterns, with_public, executor=executor)

    for j, group in enumerate(groups):
        if group.expected is None:
            continue
        ratio = tallies.received.get(group.key, 0) / group.expected
        # independent conditions: with min_participation above 1 a group can be both
        group_flags = ([f"low_participation:{group.key}"] if ratio < scheme.min_participation else []) + (
            [f"over_participation:{group.key}"] if ratio > 1 else [])
        for k in range(n_s):
            if rates[k, j]:
                flags[k].extend(group_flags)

    blanked = rates & (n > 0) & (n < scheme.display_min)
    for k in range(n_s):
        hidden_counted = np.flatnonzero(blanked[k] & counted[k])
        if len(hidden_counted) == 1:
            visible = [j for j in np.flatnonzero(counted[k] & ~blanked[k])]
            if visible:
                blanked[k, min(visible, key=lambda j: (n[k, j], j))] = True
        flags[k].extend(f"suppressed:{groups[j].key}" for j in np.flatnonzero(blanked[k]))

    rows: list[dict[str, Any]] = []
    for k, subject in enumerate(subjects):
        ci = intervals[k]
        row: dict[str, Any] = {
            "subject": subject.code, "name": subject.name, "n": int(n[k].sum()),
            "public_score": float(public[k]), "positive_share": float(share["positive"][k]),
            "top_share": float(share["top"][k]), "negative_share": float(share["negative"][k]),
            "org_score": org_scores[k], "org_raters": len(org_by_subject.get(subject.code, [])),
            "composite": composites[k], "grade": graded.grades[k], "rank": graded.ranks[k],
            "ci_low": ci[0] if ci else math.nan, "ci_high": ci[1] if ci else math.nan,
            "flags": ";".join(flags[k]),
        }
        for j, group in enumerate(groups):
            hide = bool(blanked[k, j])
            row[f"n_{group.key}"] = int(n[k, j]) if rates[k, j] else None
            row[f"score_{group.key}"] = math.nan if hide else float(group_score[k, j])
            row[f"positive_share_{group.key}"] = math.nan if hide else float(group_share["positive"][k, j])
        rows.append(row)

    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["subject"]))
    table = pd.DataFrame(rows, columns=scorecard_columns(spec))
    table["rank"] = table["rank"].astype("Int64")
    for key in spec.group_keys:
        table[f"n_{key}"] = table[f"n_{key}"].astype("Int64")
    table["grade"] = table["grade"].astype(object).where(table["grade"].notna(), None)
    return Scorecard(spec=spec, table=table.reset_index(drop=True))
