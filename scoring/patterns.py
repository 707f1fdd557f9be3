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

from .codes import answer_keys, ballot_codes, combined, to_codes
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

    def answer_counts(self, n_s: int, n_g: int, n_levels: int) -> np.ndarray:
        """``cube[s, g, i, level]``: the level answers the patterns stand for."""
        n_i = self.answers.shape[1]
        cube = np.zeros((n_s, n_g, n_i, n_levels + 1), dtype=np.int64)
        for i in range(n_i):
            np.add.at(cube, (self.subject, self.group, i, self.answers[:, i]), self.count)
        return cube[..., 1:]  # digit 0 is no level answer

    def valid_counts(self, n_s: int, n_g: int) -> np.ndarray:
        """``n[s, g]``: ballots with at least one level answer about s, by group."""
        n = np.zeros((n_s, n_g), dtype=np.int64)
        np.add.at(n, (self.subject, self.group), self.count)
        return n


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


#: a dense array over all (ballot, subject) pairs is used up to this size, or this many per row
DENSE_PAIRS, DENSE_PAIRS_PER_ROW = 1 << 22, 8


def row_patterns(spec: RoundSpec, ballot: np.ndarray, n_ballots: int, group_of: np.ndarray,
                 subject: np.ndarray, item: np.ndarray, answer: np.ndarray,
                 dropped: np.ndarray | None = None) -> Patterns:
    """The patterns of answer rows given as codes, without first selecting the rows that count.

    ``answer`` codes include ``unknown`` (the last code), which counts in no pattern; so do the
    rows of ballots marked in ``dropped`` (per ballot code, e.g. 废票). ``group_of`` is the group
    code of each ballot code. Each (ballot, subject) pair's pattern is summed straight into a
    dense array over all pairs (one weighted ``np.bincount``) when that array is not much larger
    than the rows; otherwise the counted rows are selected and :func:`patterns_from_codes` runs.
    """
    n_s, n_i = len(spec.subjects), len(spec.items)
    n_levels = len(spec.scale.levels)
    base = n_levels + 1
    n_pairs = n_ballots * n_s
    exact = n_i * np.log2(base) + np.log2(max(n_s * len(spec.groups), 1)) < 52
    if not exact or n_pairs > max(DENSE_PAIRS_PER_ROW * len(ballot), DENSE_PAIRS):
        keep = answer < n_levels
        if dropped is not None:
            keep &= ~dropped[ballot]
        rows = np.flatnonzero(keep)
        return patterns_from_codes(spec, ballot[rows], group_of[ballot[rows]], subject[rows],
                                   item[rows], answer[rows], group_of=group_of)
    # digit[i, a]: what answer a to item i adds to a pattern's key (see patterns_from_codes)
    powers = base ** np.arange(n_i - 1, -1, -1, dtype=np.int64)
    digit = np.zeros((n_i, base), dtype=np.float64)
    digit[:, :n_levels] = np.arange(1, base)[None, :] * powers[:, None]
    weight = digit.ravel()[combined(item, base, answer, digit.size)]
    if dropped is not None and dropped.any():
        weight[dropped[ballot]] = 0.0
    key = np.bincount(combined(ballot, n_s, subject, n_pairs), weights=weight, minlength=n_pairs)
    pairs = np.flatnonzero(key)  # pairs with at least one counted level answer
    return _tally_keys(spec, pairs % n_s, group_of[pairs // n_s], key[pairs].astype(np.int64))


def _tally_keys(spec: RoundSpec, subject: np.ndarray, group: np.ndarray, key: np.ndarray) -> Patterns:
    """Patterns from one (subject, group, pattern key) per valid (ballot, subject) pair."""
    n_g, n_s, n_i = len(spec.groups), len(spec.subjects), len(spec.items)
    base = len(spec.scale.levels) + 1
    n_sg = n_s * n_g
    powers = base ** np.arange(n_i - 1, -1, -1, dtype=np.int64)
    full = (subject * n_g + group) * base**n_i + key
    if n_sg * base**n_i <= max(4 * len(full), 1 << 22):
        tally = np.bincount(full, minlength=n_sg * base**n_i)
        uniq = np.flatnonzero(tally)
        count = tally[uniq]
    else:
        uniq, count = np.unique(full, return_counts=True)
    sg, digits = np.divmod(uniq, base**n_i)
    answers = ((digits[:, None] // powers[None, :]) % base).astype(np.int16)
    return Patterns(subject=sg // n_g, group=sg % n_g, answers=answers, count=count)


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
        return _tally_keys(spec, row_s, row_g, key.astype(np.int64))
    wide = np.zeros((n_rows, n_i), dtype=np.int16)
    wide[row, i] = a + 1
    stacked = np.column_stack([row_s, row_g, wide.astype(np.int64)])
    uniq_rows, count = np.unique(stacked, axis=0, return_counts=True)
    return Patterns(subject=uniq_rows[:, 0], group=uniq_rows[:, 1],
                    answers=uniq_rows[:, 2:].astype(np.int16), count=count)
