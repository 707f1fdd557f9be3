"""The scorecard of a round in the database: the same file ``python -m scoring score`` writes.

One path makes every score the service shows: SQL tallies (``tallies.py``) handed to the
scoring library (``build_scorecard``, ``round_summary``). ``round_results`` returns the
objects; ``scorecard_csv`` and ``scorecard_xlsx`` turn them into bytes. ``flask score`` writes
those bytes to a file, the console streams them, and the subject pages and the PDF report
read the same ``RoundResults``: nothing is scored twice in two ways.
"""

from __future__ import annotations

import hashlib

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from scoring.io import atomic_path, write_summary
from scoring.scorecard import Scorecard, build_scorecard
from scoring.spec import RoundSpec
from scoring.summary import round_summary
from scoring.tallies import Tallies
from scoring.workbook import add_table_sheet, scorecard_workbook

from ..errors import ServiceError
from ..extensions import db
from ..models import OrgRating, Round
from ..rounds.services import round_spec
from .tallies import org_ratings, tally_round, unknown_counts


class ScorecardSealed(ServiceError):
    """Results stay sealed while a round is open."""


@dataclass(frozen=True)
class RoundResults:
    """Everything scored about a closed round: its spec, tallies, scorecard and summary."""

    round: Round
    spec: RoundSpec
    tallies: Tallies
    scorecard: Scorecard
    summary: dict[str, Any]
    #: 不了解 answers per [subject, group, item] (no score uses them; the subject pages show them)
    unknown: np.ndarray

    def suppressed(self, subject: str) -> set[str]:
        """Keys of the groups whose figures about ``subject`` are blanked (SCORING.md rule 12)."""
        return {f.partition(":")[2] for f in self.scorecard.flags_of(subject) if f.startswith("suppressed:")}


def results_sealed(round_: Round) -> bool:
    """Whether the round's results are still sealed (draft or open): nobody sees a score."""
    return round_.state.results_sealed


#: recent results per process: (database, round id, status, org ratings fingerprint,
#: with interval) → (spec, tallies without ballot rows, scorecard, summary, 不了解 counts)
_RESULTS: OrderedDict[tuple[Any, ...], tuple[RoundSpec, Tallies, Scorecard, dict[str, Any], np.ndarray]] = OrderedDict()
_RESULTS_LOCK = threading.Lock()
RESULTS_KEPT = 8


def _results_key(round_: Round, with_interval: bool) -> tuple[Any, ...]:
    """What a closed round's results depend on that can still change: its status and its
    organizational ratings (editable until published), by their content: a count or a sum would
    miss two scores swapped, and SQLite may hand a re-imported row its old id. Ballots and spec
    are fixed once closed."""
    ratings = db.session.execute(
        select(OrgRating.subject_id, OrgRating.rater, OrgRating.score)
        .where(OrgRating.round_id == round_.id)
        .order_by(OrgRating.subject_id, OrgRating.rater)
    ).all()
    digest = hashlib.sha256(repr([tuple(r) for r in ratings]).encode()).hexdigest()
    return (db.engine.url.render_as_string(hide_password=True), round_.id, round_.status, digest, with_interval)


def round_results(round_: Round, *, with_interval: bool = True) -> RoundResults:
    """Score a closed or published round from SQL tallies; ``ScorecardSealed`` otherwise.

    ``with_interval=False`` skips the ballot-level rows and so the bootstrap interval (and
    Cronbach's alpha): for figures of earlier rounds, where only scores and grades are shown.

    The bootstrap interval of a large round takes seconds, and a closed round's results change
    only with its organizational ratings, so the last few results are kept in the process and
    reused while nothing they depend on has changed (``_results_key``).
    """
    if results_sealed(round_):
        raise ScorecardSealed(
            f"评议“{round_.title}”{round_.state.label}，结束前结果保密 "
            f"(round {round_.slug!r} is {round_.status}: scores stay sealed until it is closed "
            f"(flask --app survey rounds close {round_.slug}); use 'rounds status' for turnout)"
        )
    keys = [_results_key(round_, True)] + ([] if with_interval else [_results_key(round_, False)])
    with _RESULTS_LOCK:
        kept = next((_RESULTS[k] for k in keys if k in _RESULTS), None)
        if kept is not None:
            _RESULTS.move_to_end(next(k for k in keys if k in _RESULTS))
    if kept is None:
        spec = round_spec(round_)
        tallies = tally_round(round_, spec, with_ballots=with_interval)
        scorecard = build_scorecard(spec, tallies, org_ratings(round_))
        summary = round_summary(spec, tallies, scorecard)
        kept = (spec, replace(tallies, ballots=None, patterns=None), scorecard, summary, unknown_counts(round_, spec))
        with _RESULTS_LOCK:
            _RESULTS[keys[-1]] = kept
            while len(_RESULTS) > RESULTS_KEPT:
                _RESULTS.popitem(last=False)
    spec, tallies, scorecard, summary, unknown = kept
    return RoundResults(round=round_, spec=spec, tallies=tallies, scorecard=scorecard, summary=summary,
                        unknown=unknown)


def scorecard_csv(scorecard: Scorecard) -> bytes:
    """``scorecard.csv`` as bytes: UTF-8 with a byte order mark, the library's formatting."""
    text = scorecard.formatted().to_csv(index=False, lineterminator="\n")
    return text.encode("utf-8-sig")


#: the sheet the console adds to the workbook, after the library's own sheets
REMARKS_SHEET = "领导点评"
REMARK_COLUMNS = ("subject", "name", "reviewer", "date", "remark")
#: the 领导点评 sheet's headers, in Chinese for the reviewers who read it
REMARK_HEADERS = {"subject": "代码", "name": "评议对象", "reviewer": "点评人", "date": "日期", "remark": "领导点评"}


def scorecard_xlsx(scorecard: Scorecard, remarks: pd.DataFrame | None = None) -> bytes:
    """The scorecard workbook as bytes: the library's sheets (``scorecard``, ``flags``) and,
    when ``remarks`` is given, a ``领导点评`` sheet with ``REMARK_COLUMNS`` headed in Chinese."""
    book = scorecard_workbook(scorecard)
    if remarks is not None:
        frame = remarks.reindex(columns=list(REMARK_COLUMNS)).rename(columns=REMARK_HEADERS)
        add_table_sheet(book, REMARKS_SHEET, frame, formats={})
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def score_round(round_: Round, out: Path, *, summary: Path | None = None) -> dict[str, Any]:
    """Write the round's scorecard (CSV or .xlsx by suffix) and optionally its summary."""
    results = round_results(round_)
    data = scorecard_xlsx(results.scorecard) if out.suffix.lower() == ".xlsx" else scorecard_csv(results.scorecard)
    with atomic_path(out) as tmp:
        tmp.write_bytes(data)
    if summary is not None:
        write_summary(results.summary, summary)
    return results.summary
