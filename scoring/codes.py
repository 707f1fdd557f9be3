"""Turning labelled columns into small integer codes, the form every computation here works on.

Subjects, groups, items and answers are coded by their position in the spec (answers: the
scale's levels in order, then ``unknown`` last), so that tallies are ``np.bincount`` calls and
never string comparisons.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .scales import UNKNOWN
from .spec import RoundSpec


def answer_keys(spec: RoundSpec) -> tuple[str, ...]:
    """The answer codes' meaning: the scale's level keys in order, then ``unknown``."""
    return spec.scale.keys + (UNKNOWN,)


def to_codes(values: pd.Series | Sequence[str], categories: Sequence[str], what: str) -> np.ndarray:
    """Codes of ``values`` by position in ``categories`` (int64).

    Raises
    ------
    ValueError
        when a value is not one of ``categories``: the input was not validated.
    """
    cats = pd.Index(list(categories))
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if isinstance(series.dtype, pd.CategoricalDtype):
        codes = series.cat.codes.to_numpy()
        if list(series.cat.categories) == list(categories):  # already coded by the spec
            out = codes.astype(np.int64)
        else:
            mapping = cats.get_indexer(series.cat.categories.astype(str))
            out = np.where(codes >= 0, mapping[codes], -1).astype(np.int64)
    else:
        out = cats.get_indexer(series.to_numpy(dtype=object)).astype(np.int64)
    if out.size and out.min() < 0:
        bad = series.iloc[int(np.flatnonzero(out < 0)[0])]
        raise ValueError(f"{what} {bad!r} is not in the spec ({', '.join(categories)})")
    return out


def ballot_codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """Codes 0..R-1 for the ballots named in ``values`` and R, the number of ballots."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy().astype(np.int64)
        if codes.size and codes.min() < 0:
            raise ValueError("response_id must not be empty")
        return codes, len(values.cat.categories)
    if values.dtype.kind in "iu" and len(values):  # ballot numbers, e.g. from a database
        numbers = values.to_numpy().astype(np.int64)
        low, high = int(numbers.min()), int(numbers.max())
        if low >= 0 and high < 4 * len(numbers) + 1024:
            return numbers, high + 1
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    if codes.size and codes.min() < 0:
        raise ValueError("response_id must not be empty")
    return codes.astype(np.int64), len(uniques)


def combined(high: np.ndarray, n_low: int, low: np.ndarray, size: int) -> np.ndarray:
    """high·n_low + low, for codes whose combination is below ``size``: computed in int16 when
    that holds it (4 × less memory to write than the index type), else in the index type. The
    inputs may be int8 codes, whose own type would overflow."""
    out = np.multiply(high, n_low, dtype=np.int16 if size <= np.iinfo(np.int16).max else np.intp)
    out += low
    return out
