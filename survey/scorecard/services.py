"""The scorecard of a round in the database: the same file ``python -m scoring score`` writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scoring.io import write_scorecard, write_summary
from scoring.scorecard import build_scorecard
from scoring.summary import round_summary

from ..errors import ServiceError
from ..models import Round
from ..rounds.services import round_spec
from .tallies import org_ratings, tally_round


class ScorecardSealed(ServiceError):
    """Results stay sealed while a round is open."""


def score_round(round_: Round, out: Path, *, summary: Path | None = None) -> dict[str, Any]:
    """Write the round's scorecard (CSV or .xlsx by suffix) and optionally its summary."""
    if round_.state.results_sealed:
        raise ScorecardSealed(
            f"round {round_.slug!r} is {round_.status}: scores stay sealed until it is closed "
            f"(flask --app survey rounds close {round_.slug}); use 'rounds status' for turnout"
        )
    spec = round_spec(round_)
    tallies = tally_round(round_, spec)
    scorecard = build_scorecard(spec, tallies, org_ratings(round_))
    figures = round_summary(spec, tallies, scorecard)
    write_scorecard(scorecard, out)
    if summary is not None:
        write_summary(figures, summary)
    return figures
