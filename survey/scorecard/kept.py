"""A closed round's results, computed once and kept in the database.

Scoring a large round takes seconds: the SQL tallies read every answer, the bootstrap interval
resamples every ballot's pattern. A closed round's ballots never change again, so its results
are computed when it closes and kept (table ``kept_results``): every reviewer page, download and
process then reads them back in milliseconds. What can still change is the organizational
ratings (until publication); the kept results carry a ``basis``, a digest of those ratings by
content, and results whose basis is no longer the round's are computed again. Then the ballots'
share is not read again: the kept tallies and ballot patterns are scored with the new ratings.

The kept data is JSON (compressed): frames column by column with their dtypes, arrays with
theirs, so that what is read back is exactly what was computed (the scorecard's CSV is the same
bytes). No pickle: the database never holds code to run.
"""

from __future__ import annotations

import hashlib
import json
import math
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from scoring.patterns import Patterns
from scoring.scorecard import Scorecard
from scoring.spec import RoundSpec
from scoring.tallies import Tallies

from ..extensions import db
from ..models import OrgRating, Round

#: the layout of the kept data; a new layout makes every kept result stale, so it is recomputed
FORMAT = 1


@dataclass(frozen=True)
class Kept:
    """What is kept of a round's results (its spec is the round's own)."""

    tallies: Tallies  #: counts, valid, received, spoiled and the ballot patterns; no ballot rows
    scorecard: Scorecard
    summary: dict[str, Any]
    unknown: np.ndarray  #: 不了解 answers per [subject, group, item]


def results_basis(round_: Round) -> str:
    """A digest of what a closed round's results depend on that can still change: its
    organizational ratings, by their content (a count or a sum would miss two scores swapped,
    and SQLite may hand a re-imported row its old id). Ballots and spec are fixed once closed."""
    ratings = db.session.execute(
        select(OrgRating.subject_id, OrgRating.rater, OrgRating.score)
        .where(OrgRating.round_id == round_.id)
        .order_by(OrgRating.subject_id, OrgRating.rater)
    ).all()
    return hashlib.sha256(repr((FORMAT, [tuple(r) for r in ratings])).encode()).hexdigest()


# --------------------------------------------------------------------------- encoding


def _cell(value: Any) -> Any:
    if value is None or value is pd.NA:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _frame(frame: pd.DataFrame) -> dict[str, Any]:
    return {"columns": [str(c) for c in frame.columns], "dtypes": [str(t) for t in frame.dtypes],
            "values": [[_cell(v) for v in frame[c].tolist()] for c in frame.columns]}


def _unframe(data: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(v, dtype=t) for c, t, v in zip(data["columns"], data["dtypes"], data["values"])},
                        columns=data["columns"])


def _array(a: np.ndarray) -> dict[str, Any]:
    return {"dtype": str(a.dtype), "shape": list(a.shape), "values": a.ravel().tolist()}


def _unarray(data: dict[str, Any]) -> np.ndarray:
    return np.array(data["values"], dtype=data["dtype"]).reshape(data["shape"])


def encode(kept: Kept) -> bytes:
    """The kept results as compressed JSON."""
    t = kept.tallies
    patterns = None if t.patterns is None else {k: _array(getattr(t.patterns, k))
                                                for k in ("subject", "group", "answers", "count")}
    body = {
        "format": FORMAT,
        "tallies": {"counts": _frame(t.counts), "valid": _frame(t.valid), "received": t.received,
                    "spoiled": t.spoiled, "patterns": patterns},
        "scorecard": _frame(kept.scorecard.table),
        "summary": kept.summary,
        "unknown": _array(kept.unknown),
    }
    return zlib.compress(json.dumps(body, ensure_ascii=False, allow_nan=False).encode("utf-8"), 6)


def decode(spec: RoundSpec, data: bytes) -> Kept | None:
    """The results :func:`encode` kept, for ``spec``; None for data of another format."""
    body = json.loads(zlib.decompress(data).decode("utf-8"))
    if body.get("format") != FORMAT:
        return None
    t = body["tallies"]
    patterns = None if t["patterns"] is None else Patterns(**{k: _unarray(v) for k, v in t["patterns"].items()})
    tallies = Tallies(counts=_unframe(t["counts"]), valid=_unframe(t["valid"]), received=t["received"],
                      spoiled=t["spoiled"], ballots=None, patterns=patterns)
    return Kept(tallies=tallies, scorecard=Scorecard(spec=spec, table=_unframe(body["scorecard"])),
                summary=body["summary"], unknown=_unarray(body["unknown"]))
