"""The bootstrap interval of the public score P(s) (docs/scoring.md, rule 10).

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
from concurrent.futures import Executor

import numpy as np

from .patterns import Patterns
from .spec import RoundSpec


def group_rng(seed: int, subject: str, group: str) -> np.random.Generator:
    """The random stream of one subject's bootstrap within one group."""
    return np.random.default_rng([seed, zlib.crc32(subject.encode("utf-8")), zlib.crc32(group.encode("utf-8"))])


def resampled_group_scores(answers: np.ndarray, count: np.ndarray, points: np.ndarray,
                           item_weights: np.ndarray, resamples: int,
                           rng: np.random.Generator) -> np.ndarray:
    """B bootstrap values of G(s,g) from one group's patterns.

    In resample b with pattern counts K[b, p] ~ multinomial(n, c/n):
    m*_i = Σ_p K[b,p]·x[p,i] / Σ_p K[b,p]·h[p,i] (x points, h 1 where item i has a level answer)
    and G* = Σ w_i·m*_i / Σ w_i over items with at least one answer (NaN when that sum is 0).

    The sums are taken as whole numbers first: N[b,i,l] = Σ K[b,p] over the patterns p that
    answer item i with level l (exact integer sums; no floating-point matrix product, which numpy
    would hand to BLAS and its threads), then Σ_p K·x = Σ_l points[l]·N[b,i,l] and
    Σ_p K·h = Σ_l N[b,i,l].
    """
    n = int(count.sum())
    n_items = answers.shape[1]
    draws = np.ascontiguousarray(rng.multinomial(n, count / n, size=resamples).T)  # [p, b]
    sums = np.zeros((resamples, n_items))
    nums = np.zeros((resamples, n_items))
    for i in range(n_items):
        for level, value in enumerate(points):
            chosen = answers[:, i] == level + 1
            if chosen.any():
                drawn = draws[chosen].sum(axis=0)  # N[:, i, level]
                nums[:, i] += drawn
                sums[:, i] += value * drawn
    answered = nums > 0
    means = np.divide(sums, nums, out=np.zeros_like(sums), where=answered)
    w = np.where(answered, item_weights, 0.0)
    den = w.sum(axis=1)
    return np.divide((w * means).sum(axis=1), den, out=np.full(resamples, np.nan), where=den > 0)


def _group_draws(spec: RoundSpec, answers: np.ndarray, count: np.ndarray, s: int, g: int) -> np.ndarray:
    points = np.array([lv.points for lv in spec.scale.levels], dtype=np.float64)
    item_weights = np.array([it.weight for it in spec.items], dtype=np.float64)
    rng = group_rng(spec.scheme.interval_seed, spec.subjects[s].code, spec.groups[g].key)
    return resampled_group_scores(answers, count, points, item_weights, spec.scheme.interval_resamples, rng)


def combine_groups(spec: RoundSpec, draws: dict[int, np.ndarray]) -> tuple[float, float] | None:
    """The interval from each counted group's B resampled G*: P* = Σ W_g·G* / Σ W_g per resample."""
    num = np.zeros(spec.scheme.interval_resamples)
    den = np.zeros(spec.scheme.interval_resamples)
    for g, scores in draws.items():
        weight = spec.groups[g].weight
        ok = ~np.isnan(scores)
        num[ok] += weight * scores[ok]
        den[ok] += weight
    values = np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)
    values = values[~np.isnan(values)]
    points = [lv.points for lv in spec.scale.levels]
    values = np.clip(values, min(points), max(points))  # a mean of points; drop float excess
    if not values.size:
        return None
    tail = (1.0 - spec.scheme.interval_level) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


def public_intervals(spec: RoundSpec, patterns: Patterns, counted: np.ndarray,
                     executor: Executor | None = None) -> list[tuple[float, float] | None]:
    """The interval of every subject: ``counted[s, g]`` marks the groups counted in P(s).

    ``None`` for a subject without counted groups of positive total weight. With an
    ``executor`` (``python -m scoring score --jobs N`` passes a pool of N threads) and enough
    work, the (subject, group) draws are handed to it: the result is the same, since every
    (subject, group) has its own random stream.
    """
    n_s = len(spec.subjects)
    weights = np.array([g.weight for g in spec.groups], dtype=np.float64)
    units: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    for s in range(n_s):
        if (weights * counted[s]).sum() <= 0:
            continue
        for g in np.flatnonzero(counted[s]):
            answers, count = patterns.select(s, int(g))
            if count.sum():
                units.append((s, int(g), answers, count))
    cost = sum(len(u[3]) for u in units) * spec.scheme.interval_resamples
    if executor is not None and len(units) > 1 and cost > PARALLEL_MIN_COST:
        # the largest first, so that the threads finish at about the same time
        order = sorted(range(len(units)), key=lambda k: -len(units[k][3]))
        futures = {k: executor.submit(_group_draws, spec, units[k][2], units[k][3], units[k][0], units[k][1])
                   for k in order}
        results = [futures[k].result() for k in range(len(units))]
    else:
        results = [_group_draws(spec, answers, count, s, g) for s, g, answers, count in units]
    by_subject: dict[int, dict[int, np.ndarray]] = {}
    for (s, g, _, _), scores in zip(units, results):
        by_subject.setdefault(s, {})[g] = scores
    return [combine_groups(spec, by_subject[s]) if s in by_subject else None for s in range(n_s)]


def public_interval(spec: RoundSpec, patterns: Patterns, s: int, counted: Sequence[int]) -> tuple[float, float] | None:
    """The bootstrap interval (low, high) of P(s) over the counted group codes; None if none."""
    mask = np.zeros((len(spec.subjects), len(spec.groups)), dtype=bool)
    mask[s, list(counted)] = True
    return public_intervals(spec, patterns, mask)[s]


#: below this many pattern draws (patterns × resamples) handing work to an executor does not pay
PARALLEL_MIN_COST = 400_000
