"""The bootstrap interval of the public score P(s) (SCORING.md rule 10).

Percentile bootstrap: in each of B resamples (``scheme.interval_resamples``, at least 1,000),
every counted group g draws n(s,g) of its valid ballots for s with replacement, G*(s,g) and
P*(s) are computed from the draw exactly as G and P are (same item weights, same counted
groups, same renormalization), and the interval is the (1−level)/2 and (1+level)/2 quantiles
(numpy's default linear interpolation) of the B values of P*(s).

Drawing n ballots with replacement from ballots with distinct patterns p (counts c_p) is the
same as drawing multinomial(n, c_p/n) pattern counts, so each resample costs the number of
distinct patterns, never the number of ballots. Random numbers come from
``numpy.random.default_rng([seed, crc32(subject code)])``: the interval of a subject depends on
the seed, its own ballots and nothing else (not the order of ballots, not other subjects).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

from .patterns import Patterns
from .spec import RoundSpec


def subject_rng(seed: int, code: str) -> np.random.Generator:
    """The random stream of one subject's bootstrap."""
    return np.random.default_rng([seed, zlib.crc32(code.encode("utf-8"))])


def resampled_group_scores(answers: np.ndarray, count: np.ndarray, points: np.ndarray,
                           item_weights: np.ndarray, resamples: int,
                           rng: np.random.Generator) -> np.ndarray:
    """B bootstrap values of G(s,g) from one group's patterns.

    In resample b with pattern counts K[b, p] ~ multinomial(n, c/n):
    m*_i = Σ_p K[b,p]·x[p,i] / Σ_p K[b,p]·h[p,i] (x points, h 1 where item i has a level answer)
    and G* = Σ w_i·m*_i / Σ w_i over items with at least one answer (NaN when that sum is 0).
    """
    n = int(count.sum())
    has = (answers > 0).astype(np.float64)
    x = np.where(answers > 0, points[np.maximum(answers - 1, 0)], 0.0)
    draws = rng.multinomial(n, count / n, size=resamples).astype(np.float64)
    sums = draws @ x
    nums = draws @ has
    answered = nums > 0
    means = np.divide(sums, nums, out=np.zeros_like(sums), where=answered)
    w = np.where(answered, item_weights, 0.0)
    den = w.sum(axis=1)
    return np.divide((w * means).sum(axis=1), den, out=np.full(resamples, np.nan), where=den > 0)


def public_interval(spec: RoundSpec, patterns: Patterns, s: int, counted: Sequence[int]) -> tuple[float, float] | None:
    """The bootstrap interval (low, high) of P(s) over the counted group codes; None if none."""
    scheme = spec.scheme
    weights = np.array([spec.groups[g].weight for g in counted], dtype=np.float64)
    if not len(counted) or weights.sum() <= 0:
        return None
    points = np.array([lv.points for lv in spec.scale.levels], dtype=np.float64)
    item_weights = np.array([it.weight for it in spec.items], dtype=np.float64)
    rng = subject_rng(scheme.interval_seed, spec.subjects[s].code)
    num = np.zeros(scheme.interval_resamples)
    den = np.zeros(scheme.interval_resamples)
    for g, weight in zip(counted, weights):
        answers, count = patterns.select(s, g)
        if not count.sum():
            continue
        scores = resampled_group_scores(answers, count, points, item_weights,
                                        scheme.interval_resamples, rng)
        ok = ~np.isnan(scores)
        num[ok] += weight * scores[ok]
        den[ok] += weight
    values = np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)
    values = values[~np.isnan(values)]
    if not values.size:
        return None
    tail = (1.0 - scheme.interval_level) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)
