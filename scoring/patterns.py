"""Ballot answer patterns: identical ballots compressed into one row with a count.

For a subject s and group g, a ballot's *pattern* is the tuple of its answers to the items of s
(level code + 1, or 0 for no level answer). Ballots with the same pattern are interchangeable
for every statistic here, so the bootstrap and Cronbach's alpha work on (pattern, count) rows:
their cost grows with the number of distinct patterns, not with the number of ballots.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .codes import answer_keys, ballot_codes, to_codes
from .spec import RoundSpec


@dataclass(frozen=True)
class Patterns:
    """Distinct (subject, group, pattern) rows, sorted, with their counts.

    ``subject[k]``, ``group[k]`` are codes; ``answers[k, i]`` is 0 for no level answer to item i,
    else the level code + 1; ``count[k]`` the number of valid ballots with that pattern.
    """

    subject: np.ndarray
    group: np.ndarray
    answers: np.ndarray
    count: np.ndarray

    def select(self, s: int, g: int) -> tuple[np.ndarray, np.ndarray]:
        """(answers, count) of the patterns of subject code s in group code g."""
        rows = (self.subject == s) & (self.group == g)
        return self.answers[rows], self.count[rows]


def ballot_patterns(spec: RoundSpec, ballots: pd.DataFrame) -> Patterns:
    """Compress ballot-level level answers (``response_id, group, subject, item, answer``).

    Rows answering ``unknown`` are ignored; the order of ballots does not matter.
    """
    rid, _ = ballot_codes(ballots["response_id"])
    g = to_codes(ballots["group"], spec.group_keys, "group")
    s = to_codes(ballots["subject"], spec.subject_codes, "subject")
    i = to_codes(ballots["item"], spec.item_keys, "item")
    a = to_codes(ballots["answer"], answer_keys(spec), "answer")
    level = a < len(spec.scale.levels)
    if not level.all():
        rid, g, s, i, a = rid[level], g[level], s[level], i[level], a[level]
    return patterns_from_codes(spec, rid, g, s, i, a)


def pair_rows(rid: np.ndarray, s: np.ndarray, n_s: int) -> tuple[np.ndarray, np.ndarray]:
    """Number the (ballot, subject) pairs of answer rows.

    Returns ``row`` (per answer row, the number of its pair, in order of pair = ballot·S + s)
    and ``pairs`` (per number, the pair ballot·S + s).
    """
    pair = rid * n_s + s
    n_pairs = int(pair.max()) + 1 if pair.size else 0
    if n_pairs <= max(8 * len(pair), 1 << 22):  # dense: mark and count
        seen = np.zeros(n_pairs, dtype=bool)
        seen[pair] = True
        number = np.cumsum(seen) - 1
        return number[pair], np.flatnonzero(seen)
    row, uniques = pd.factorize(pair)
    return row, np.asarray(uniques)


def patterns_from_codes(spec: RoundSpec, rid: np.ndarray, g: np.ndarray, s: np.ndarray,
                        i: np.ndarray, a: np.ndarray, *,
                        pairs: tuple[np.ndarray, np.ndarray] | None = None,
                        group_of: np.ndarray | None = None) -> Patterns:
    """:func:`ballot_patterns` from integer codes of level answers (see :mod:`scoring.codes`).

    ``pairs`` (from :func:`pair_rows`) and ``group_of`` (the group code of each ballot code)
    may be passed when the caller has them already.
    """
    n_g, n_s, n_i = len(spec.groups), len(spec.subjects), len(spec.items)
    base = len(spec.scale.levels) + 1
    row, pair_of_row = pairs if pairs is not None else pair_rows(rid, s, n_s)
    n_rows = len(pair_of_row)
    row_s = pair_of_row % n_s
    if group_of is None:
        group_of = np.zeros(int(rid.max()) + 1 if rid.size else 0, dtype=np.int64)
        group_of[rid] = g
    row_g = group_of[pair_of_row // n_s]
    n_sg = n_s * n_g

    if n_i * np.log2(base) + np.log2(max(n_sg, 1)) < 52:  # one exact key per (ballot, subject)
        powers = base ** np.arange(n_i - 1, -1, -1, dtype=np.int64)
        # key = Σ_i (level code + 1)·base^(I−1−i): the digits of the pattern in base L+1
        key = np.bincount(row, weights=((a + 1) * powers[i]).astype(np.float64), minlength=n_rows)
        full = (row_s * n_g + row_g) * base**n_i + key.astype(np.int64)
        if n_sg * base**n_i <= max(4 * len(full), 1 << 22):
            tally = np.bincount(full, minlength=n_sg * base**n_i)
            uniq = np.flatnonzero(tally)
            count = tally[uniq]
        else:
            uniq, count = np.unique(full, return_counts=True)
        sg, digits = np.divmod(uniq, base**n_i)
        answers = ((digits[:, None] // powers[None, :]) % base).astype(np.int16)
        return Patterns(subject=sg // n_g, group=sg % n_g, answers=answers, count=count)
    wide = np.zeros((n_rows, n_i), dtype=np.int16)
    wide[row, i] = a + 1
    stacked = np.column_stack([row_s, row_g, wide.astype(np.int64)])
    uniq_rows, count = np.unique(stacked, axis=0, return_counts=True)
    return Patterns(subject=uniq_rows[:, 0], group=uniq_rows[:, 1],
                    answers=uniq_rows[:, 2:].astype(np.int16), count=count)
