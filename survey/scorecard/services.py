"""The scorecard of a round in the database: the same file ``python -m scoring score`` writes.

One path makes every score the service shows: SQL tallies (``tallies.py``) handed to the
scoring library (``build_scorecard``, ``round_summary``), once, when the round closes
(``keep_results``), kept in the database (``kept.py``) and read back by ``round_results``,
which returns the objects; ``scorecard_csv`` and ``scorecard_xlsx`` turn them into bytes. ``flask score`` writes
those bytes to a file, the console streams them, and the subject pages and the PDF report
read the same ``RoundResults``: nothing is scored twice in two ways.
"""

from __future__ import annotations

import io
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.exc import IntegrityError, OperationalError

from scoring.io import atomic_path, inert_frame, write_summary
from scoring.scorecard import Scorecard, build_scorecard
from scoring.spec import RoundSpec
from scoring.summary import round_summary
from scoring.tallies import Tallies
from scoring.workbook import add_table_sheet, scorecard_workbook

from ..extensions import db
from ..models import KeptResults, Round
from ..rounds.lifecycle import refuse_while_sealed
from ..models import round_spec
from .kept import Kept, decode, encode, results_basis
from .tallies import org_ratings, tally_round, unknown_counts




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
        """Keys of the groups whose figures about ``subject`` are blanked (docs/scoring.md, rule 12)."""
        return {f.partition(":")[2] for f in self.scorecard.flags_of(subject) if f.startswith("suppressed:")}


#: results recently read back, per process: (database, round id, basis) → Kept; a page reads
#: the kept row once, not on every request
_RECENT: OrderedDict[tuple[Any, ...], Kept] = OrderedDict()
_RECENT_LOCK = threading.Lock()
RECENT_KEPT = 8


def round_results(round_: Round, *, with_interval: bool = True) -> RoundResults:
    """The results of a closed or published round; ``ResultsSealed`` while they are sealed.

    They are computed once, when the round closes (:func:`keep_results`), and kept in the
    database; this reads them back. Results kept before the organizational ratings last changed
    are scored again from the kept tallies and ballot patterns (no answer is read again), and
    results never kept (a round closed before results were kept) are computed from the ballots;
    either way they are kept for every later request and process. ``with_interval`` is no
    longer needed (kept results always carry the interval); it is accepted for callers that
    say they can do without.
    """
    del with_interval
    refuse_while_sealed(round_)
    basis = results_basis(round_)
    key = (db.engine.url.render_as_string(hide_password=True), round_.id, basis)
    with _RECENT_LOCK:
        kept = _RECENT.get(key)
        if kept is not None:
            _RECENT.move_to_end(key)
    spec = round_spec(round_)
    if kept is None:
        row = db.session.get(KeptResults, round_.id)
        earlier = decode(spec, row.data) if row is not None else None
        if row is not None and row.basis == basis and earlier is not None:
            kept = earlier
        else:
            kept = _score(round_, spec, earlier)
            _store_apart(round_, basis, kept)
        _remember(key, kept)
    return _results(round_, spec, kept)


def keep_results(round_: Round) -> RoundResults:
    """Score a closed round from its ballots and keep the results (flushes; the caller's unit
    of work commits). The close calls this once the ballots are opened; later pages only read
    what it kept. Raises ``ResultsSealed`` while the round's results are sealed."""
    refuse_while_sealed(round_)
    spec = round_spec(round_)
    kept = _score(round_, spec, None)
    _store(round_, results_basis(round_), kept)
    return _results(round_, spec, kept)


def rescore_kept_results(round_: Round) -> None:
    """After the organizational ratings of a closed round changed: score it again with them,
    from the kept tallies and ballot patterns, and keep that (flushes; the caller commits).
    Nothing to do while the round is sealed (its results are computed at close)."""
    if round_.state.results_sealed:
        return
    spec = round_spec(round_)
    row = db.session.get(KeptResults, round_.id)
    earlier = decode(spec, row.data) if row is not None else None
    _store(round_, results_basis(round_), _score(round_, spec, earlier))


def _score(round_: Round, spec: RoundSpec, earlier: Kept | None) -> Kept:
    """Score the round: from ``earlier``'s tallies and patterns when given (only the
    organizational ratings changed), else from the ballots by SQL."""
    if earlier is not None and earlier.tallies.patterns is not None:
        tallies, unknown = earlier.tallies, earlier.unknown
    else:
        tallies = tally_round(round_, spec, with_ballots=True)
        patterns = tallies.ballot_patterns(spec)
        tallies = replace(tallies, ballots=None, patterns=patterns)
        unknown = unknown_counts(round_, spec)
    scorecard = build_scorecard(spec, tallies, org_ratings(round_))
    return Kept(tallies=tallies, scorecard=scorecard, summary=round_summary(spec, tallies, scorecard), unknown=unknown)


def _store(round_: Round, basis: str, kept: Kept) -> None:
    row = db.session.get(KeptResults, round_.id)
    if row is None:
        row = KeptResults(round_id=round_.id)
        db.session.add(row)
    row.basis, row.computed_at, row.data = basis, datetime.now(timezone.utc), encode(kept)
    db.session.flush()
    _remember((db.engine.url.render_as_string(hide_password=True), round_.id, basis), kept)


def _store_apart(round_: Round, basis: str, kept: Kept) -> None:
    """Keep results computed while reading (a page of a round whose results were not kept yet)
    in a short transaction of their own, beside the request's: a page that reads commits
    nothing. If another process keeps them first, or the write must wait, the results are
    still returned and the next reader tries again."""
    table = KeptResults.__table__
    values = {"round_id": round_.id, "basis": basis, "computed_at": datetime.now(timezone.utc), "data": encode(kept)}
    try:
        with db.engine.begin() as conn:
            conn.execute(table.delete().where(table.c.round_id == round_.id))
            conn.execute(table.insert().values(**values))
    except (IntegrityError, OperationalError):
        pass


def _remember(key: tuple[Any, ...], kept: Kept) -> None:
    with _RECENT_LOCK:
        _RECENT[key] = kept
        _RECENT.move_to_end(key)
        while len(_RECENT) > RECENT_KEPT:
            _RECENT.popitem(last=False)


def _results(round_: Round, spec: RoundSpec, kept: Kept) -> RoundResults:
    return RoundResults(round=round_, spec=spec, tallies=kept.tallies, scorecard=kept.scorecard,
                        summary=kept.summary, unknown=kept.unknown)


def scorecard_csv(scorecard: Scorecard) -> bytes:
    """``scorecard.csv`` as bytes: UTF-8 with a byte order mark, the library's formatting."""
    text = inert_frame(scorecard.formatted()).to_csv(index=False, lineterminator="\n")
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
