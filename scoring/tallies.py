"""Tallies: what a scorecard needs to know about the ballots, and nothing more.

A :class:`Tallies` is the seam between ballots and scores. ``python -m scoring`` fills it from
``answers.csv`` with :func:`tally_codes` (or a frame with :func:`tally_answers`); the web
service may fill it from SQL ``GROUP BY`` queries. The scorecard depends on a ``Tallies`` (and the organizational ratings) only.

Definitions (docs/scoring.md, rule 1): a ballot is *valid for s* when it gives at least one level
answer (not 不了解 ``unknown``) to an item of s; n(s,g) counts the valid ballots for s in group g.
A ballot is a 废票 (uniform ballot) when all of its level answers, at least 3 of them, are one
and the same level; its 不了解 answers are ignored in that test, as they are in every
denominator. With ``scheme.uniform_ballots == "exclude"`` a 废票 counts in no score.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .codes import answer_keys, ballot_codes, to_codes
from .patterns import Patterns, ballot_patterns, row_patterns
from .spec import RoundSpec

#: a ballot needs at least this many level answers, all the same, to be a 废票
UNIFORM_MIN_ANSWERS = 3


@dataclass(frozen=True)
class Tallies:
    """The counts behind a scorecard.

    Attributes
    ----------
    counts
        columns ``subject, group, item, answer, count``: level answers (never ``unknown``) of
        counted ballots (废票 already removed when ``scheme.uniform_ballots == "exclude"``).
        Rows with a zero count may be left out.
    valid
        columns ``subject, group, n``: n(s,g), valid counted ballots for s in g. Missing rows
        mean 0.
    received
        ballots received per group key, every ballot (废票 included).
    spoiled
        废票 excluded per group key (zeros when uniform ballots are counted).
    ballots
        ballot-level level answers of counted ballots, columns ``response_id, group, subject,
        item, answer``; only the interval and Cronbach's alpha use it (through ``patterns``).
        ``None`` without ``patterns``: no interval.
    patterns
        ``ballots`` compressed (internal; :func:`tally_answers` and :func:`tally_codes` fill it,
        otherwise it is computed from ``ballots`` when needed).
    """

    counts: pd.DataFrame
    valid: pd.DataFrame
    received: dict[str, int]
    spoiled: dict[str, int]
    ballots: pd.DataFrame | None = field(default=None, repr=False)
    patterns: Patterns | None = field(default=None, repr=False, compare=False)

    def ballot_patterns(self, spec: RoundSpec) -> Patterns | None:
        """The compressed ballot-level answers, or ``None`` without ballot-level rows."""
        if self.patterns is not None:
            return self.patterns
        return None if self.ballots is None else ballot_patterns(spec, self.ballots)


@dataclass(frozen=True)
class CodedAnswers:
    """Answer rows as integer codes (see :mod:`scoring.codes`); ``n_ballots`` = R.

    ``group_of``, when given, is the group code of each ballot code 0..R−1, and says that every
    ballot code has rows (the reader knows both; otherwise they are worked out from the rows).
    """

    ballot: np.ndarray
    group: np.ndarray
    subject: np.ndarray
    item: np.ndarray
    answer: np.ndarray
    n_ballots: int
    group_of: np.ndarray | None = None


def code_answers(spec: RoundSpec, answers: pd.DataFrame) -> CodedAnswers:
    """Integer codes of an answers frame (``response_id, group, subject, item, answer``)."""
    missing = [c for c in ("response_id", "group", "subject", "item", "answer") if c not in answers.columns]
    if missing:
        raise ValueError(f"answers frame lacks column(s) {', '.join(missing)}")
    ballot, n_ballots = ballot_codes(answers["response_id"])
    return CodedAnswers(
        ballot=ballot,
        group=to_codes(answers["group"], spec.group_keys, "group"),
        subject=to_codes(answers["subject"], spec.subject_codes, "subject"),
        item=to_codes(answers["item"], spec.item_keys, "item"),
        answer=to_codes(answers["answer"], answer_keys(spec), "answer"),
        n_ballots=n_ballots,
    )


def uniform_ballots(coded: CodedAnswers, n_levels: int) -> np.ndarray:
    """Boolean per ballot code: a 废票, i.e. k ≥ 3 level answers that are all one level.

    With c[b, l] the number of answers of ballot b at level l (不了解 left out), b is uniform
    when Σ_l c[b, l] ≥ 3 and exactly one level has c[b, l] > 0.
    """
    key = np.multiply(coded.ballot, n_levels + 1, dtype=np.intp)
    key += coded.answer
    per_level = np.bincount(key, minlength=coded.n_ballots * (n_levels + 1))
    per_level = per_level.reshape(coded.n_ballots, n_levels + 1)[:, :n_levels]
    return (per_level.sum(axis=1) >= UNIFORM_MIN_ANSWERS) & ((per_level > 0).sum(axis=1) == 1)


def tally_answers(spec: RoundSpec, answers: pd.DataFrame) -> Tallies:
    """Tally an answers frame (as :func:`scoring.io.read_answers` returns it, already validated).

    ``received[g]`` counts every distinct ``response_id`` of group g; ``spoiled[g]`` the 废票
    among them when ``scheme.uniform_ballots == "exclude"``; ``counts`` and ``valid`` cover the
    counted ballots only. ``ballots`` holds the counted level answers.
    """
    return tally_codes(spec, code_answers(spec, answers), ballot_rows=True)


def tally_codes(spec: RoundSpec, coded: CodedAnswers, *, ballot_rows: bool = False) -> Tallies:
    """:func:`tally_answers` from integer codes (as :func:`scoring.io.read_answer_codes` returns
    them, already validated); ``Tallies.ballots`` is filled only with ``ballot_rows``.

    Every count comes from the ballots' patterns (:func:`scoring.patterns.row_patterns`): the
    rows are passed over a few times in all, never selected or copied per rule.
    """
    n_g, n_s = len(spec.groups), len(spec.subjects)
    n_levels = len(spec.scale.levels)
    n_r = coded.n_ballots

    if coded.group_of is not None:
        present = np.ones(n_r, dtype=bool)
        group_of = coded.group_of
    else:
        present = np.bincount(coded.ballot, minlength=n_r) > 0
        group_of = np.zeros(n_r, dtype=np.int64)
        group_of[coded.ballot] = coded.group
    received = np.bincount(group_of[present], minlength=n_g)

    if spec.scheme.uniform_ballots == "exclude":
        spoiled_ballot = uniform_ballots(coded, n_levels) & present
    else:
        spoiled_ballot = np.zeros(n_r, dtype=bool)
    spoiled = np.bincount(group_of[spoiled_ballot], minlength=n_g)

    patterns = row_patterns(spec, coded.ballot, n_r, group_of, coded.subject, coded.item,
                            coded.answer, dropped=spoiled_ballot)
    counts = counts_frame(spec, patterns.answer_counts(n_s, n_g, n_levels))
    valid = valid_frame(spec, patterns.valid_counts(n_s, n_g))

    ballots = None
    if ballot_rows:
        keep = np.flatnonzero((coded.answer < n_levels) & ~spoiled_ballot[coded.ballot])
        ballots = pd.DataFrame({
            "response_id": coded.ballot[keep],
            "group": coded_column(coded.group[keep], spec.group_keys),
            "subject": coded_column(coded.subject[keep], spec.subject_codes),
            "item": coded_column(coded.item[keep], spec.item_keys),
            "answer": coded_column(coded.answer[keep], answer_keys(spec)),
        })
    keys = spec.group_keys
    return Tallies(
        counts=counts,
        valid=valid,
        received={k: int(received[j]) for j, k in enumerate(keys)},
        spoiled={k: int(spoiled[j]) for j, k in enumerate(keys)},
        ballots=ballots,
        patterns=patterns,
    )


def coded_column(codes: np.ndarray, categories: tuple[str, ...]) -> pd.Categorical:
    """A categorical from codes already known to be in range (no second pass to check them)."""
    small = codes.astype(np.int8 if len(categories) < 127 else np.int32, copy=False)
    return pd.Categorical.from_codes(small, categories=list(categories), validate=False)


def counts_frame(spec: RoundSpec, cube: np.ndarray) -> pd.DataFrame:
    """The ``counts`` frame of a dense array ``cube[s, g, i, level]`` (zero cells left out)."""
    s, g, i, a = np.nonzero(cube)
    return pd.DataFrame({
        "subject": np.asarray(spec.subject_codes, dtype=object)[s],
        "group": np.asarray(spec.group_keys, dtype=object)[g],
        "item": np.asarray(spec.item_keys, dtype=object)[i],
        "answer": np.asarray(spec.scale.keys, dtype=object)[a],
        "count": cube[s, g, i, a].astype(np.int64),
    })


def valid_frame(spec: RoundSpec, n: np.ndarray) -> pd.DataFrame:
    """The ``valid`` frame of ``n[s, g]``: one row per group and subject it rates."""
    rows = [(subject.code, group.key, int(n[si, gi]))
            for si, subject in enumerate(spec.subjects)
            for gi, group in enumerate(spec.groups) if group.rates(subject.code)]
    return pd.DataFrame(rows, columns=["subject", "group", "n"]).astype({"n": np.int64})


def dense_counts(spec: RoundSpec, tallies: Tallies) -> tuple[np.ndarray, np.ndarray]:
    """``cube[s, g, i, level]`` answer counts and ``n[s, g]`` valid ballots, from a Tallies.

    Raises
    ------
    ValueError
        when the tallies name a subject, group, item or level the spec lacks, or an answer
        ``unknown`` (which belongs in no count).
    """
    n_g, n_s, n_i = len(spec.groups), len(spec.subjects), len(spec.items)
    n_levels = len(spec.scale.levels)
    cube = np.zeros((n_s, n_g, n_i, n_levels), dtype=np.int64)
    c = tallies.counts
    if len(c):
        s = to_codes(c["subject"], spec.subject_codes, "subject")
        g = to_codes(c["group"], spec.group_keys, "group")
        i = to_codes(c["item"], spec.item_keys, "item")
        a = to_codes(c["answer"], spec.scale.keys, "answer level")
        counts = c["count"].to_numpy(dtype=np.int64)
        if counts.size and counts.min() < 0:
            raise ValueError("counts must not be negative")
        np.add.at(cube, (s, g, i, a), counts)
    n = np.zeros((n_s, n_g), dtype=np.int64)
    v = tallies.valid
    if len(v):
        s = to_codes(v["subject"], spec.subject_codes, "subject")
        g = to_codes(v["group"], spec.group_keys, "group")
        np.add.at(n, (s, g), v["n"].to_numpy(dtype=np.int64))
    return cube, n
