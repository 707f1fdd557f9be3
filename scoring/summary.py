"""The round's figures beside the scorecard: ballots, participation, 废票 and Cronbach's alpha."""

from __future__ import annotations

import math
from typing import Any

from .reliability import item_alpha
from .scorecard import Scorecard
from .spec import RoundSpec
from .tallies import Tallies


def round_summary(spec: RoundSpec, tallies: Tallies, scorecard: Scorecard | None = None) -> dict[str, Any]:
    """The round's figures as a JSON-ready dict.

    ``groups``: per group, ballots received (every ballot, 废票 included), ``expected``,
    participation = received ÷ expected (``None`` without ``expected``) and its flag, and the
    废票 excluded. ``cronbach_alpha``: α of the items (see :mod:`scoring.reliability`), ``None``
    when it cannot be computed or without ballot-level rows. With a ``scorecard``, ``subjects``
    repeats its rows, per-group figures blanked exactly as in the scorecard.
    """
    scheme = spec.scheme
    groups: list[dict[str, Any]] = []
    for group in spec.groups:
        received = int(tallies.received.get(group.key, 0))
        participation = None if group.expected is None else received / group.expected
        flags = []
        if participation is not None:  # two separate tests: min_participation may exceed 1
            if participation < scheme.min_participation:
                flags.append("low_participation")
            if participation > 1:
                flags.append("over_participation")
        groups.append({
            "group": group.key, "name": group.name, "weight": group.weight,
            "received": received, "expected": group.expected,
            "participation": None if participation is None else round(participation, 4),
            "participation_flags": flags,
            "spoiled_excluded": int(tallies.spoiled.get(group.key, 0)),
        })
    alpha: dict[str, Any] = {"alpha": None, "rows": 0, "items": len(spec.items)}
    patterns = tallies.ballot_patterns(spec)
    if patterns is not None:
        value, rows = item_alpha(spec, patterns)
        alpha.update(alpha=None if math.isnan(value) else round(value, 4), rows=rows)
    summary: dict[str, Any] = {
        "round": spec.slug, "title": spec.title,
        "ballots_received": sum(g["received"] for g in groups),
        "uniform_ballots": scheme.uniform_ballots,
        "spoiled_excluded": sum(g["spoiled_excluded"] for g in groups),
        "groups": groups,
        "cronbach_alpha": alpha,
    }
    if scorecard is not None:
        summary["subjects"] = scorecard.records()
    return summary
