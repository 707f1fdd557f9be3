"""Cronbach's alpha of the questionnaire's items: do the items measure one thing?

Definition used here: one row per (counted ballot, subject) pair that gives a level answer to
*every* item of the spec (pairs with a 不了解 or a skipped item are left out, listwise); one
column per item; values are the answers' points. With k items, item variances σ²_i and the
variance σ²_T of the row totals (all sample variances, ddof = 1):

    α = k/(k − 1) · (1 − Σ σ²_i / σ²_T)

Item weights play no part. This is what ``pingouin.cronbach_alpha`` computes on the same table.
Rows are taken from answer patterns with counts (:mod:`scoring.patterns`), so the cost does not
grow with the number of ballots.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .patterns import Patterns, ballot_patterns
from .spec import RoundSpec


def cronbach_alpha(values: np.ndarray, counts: np.ndarray | None = None) -> float:
    """α of a rows × items matrix, each row repeated ``counts[r]`` times (default once).

    NaN when there are fewer than 2 items, fewer than 2 rows, or the totals do not vary.

    >>> round(cronbach_alpha(np.array([[1, 2], [2, 3], [3, 3], [4, 5]], dtype=float)), 4)
    0.96
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.ones(len(values)) if counts is None else np.asarray(counts, dtype=np.float64)
    n = weights.sum()
    k = values.shape[1] if values.ndim == 2 else 0
    if k < 2 or n < 2:
        return math.nan

    def variance(x: np.ndarray) -> np.ndarray:
        mean = (weights[:, None] * x).sum(axis=0) / n if x.ndim == 2 else (weights * x).sum() / n
        dev = x - mean
        return ((weights[:, None] if x.ndim == 2 else weights) * dev * dev).sum(axis=0) / (n - 1)

    totals = values.sum(axis=1)
    total_var = float(variance(totals))
    scale = max(1.0, float(np.abs(totals).max()) ** 2)
    if total_var <= 1e-12 * scale:  # totals do not vary (beyond floating-point noise)
        return math.nan
    return float(k / (k - 1) * (1.0 - variance(values).sum() / total_var))


def complete_rows(spec: RoundSpec, patterns: Patterns) -> tuple[np.ndarray, np.ndarray]:
    """(points matrix, counts) of the patterns that answer every item with a level."""
    full = (patterns.answers > 0).all(axis=1)
    points = np.array([lv.points for lv in spec.scale.levels], dtype=np.float64)
    return points[patterns.answers[full] - 1], patterns.count[full]


def item_alpha(spec: RoundSpec, ballots: pd.DataFrame | Patterns) -> tuple[float, int]:
    """Cronbach's α of the round's items and the number of (ballot, subject) rows it used
    (from ballot-level rows, or from their patterns)."""
    patterns = ballots if isinstance(ballots, Patterns) else ballot_patterns(spec, ballots)
    values, counts = complete_rows(spec, patterns)
    return cronbach_alpha(values, counts), int(counts.sum())


def item_table(spec: RoundSpec, ballots: pd.DataFrame) -> pd.DataFrame:
    """The rows × items table α is computed on, expanded one row per (ballot, subject) pair
    (for checking against other implementations; the order of rows is arbitrary)."""
    values, counts = complete_rows(spec, ballot_patterns(spec, ballots))
    return pd.DataFrame(np.repeat(values, counts, axis=0), columns=list(spec.item_keys))
