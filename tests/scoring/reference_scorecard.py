"""A deliberately naive reference implementation of the scorecard, straight from the rules of docs/scoring.md.

It shares nothing with the ``scoring`` package but the spec parser and the scale definitions:
plain loops over ballots, dicts, and exact ``Fraction`` arithmetic. Numbers written in the spec
(weights, points, thresholds, grade minima, the cap) are taken as the decimals they were written
as. Where the rules leave room, it follows the stated choices of docs/scoring.md:

* the 废票 test ignores 不了解 answers (and skipped items);
* ``grade`` and ``at_most`` rules only ever lower a grade; rules do not apply to a subject without
  a grade (no review flag either);
* the cap's ordering and the rank treat composites within 1e-9 as equal;
* ``suppressed:<g>`` only when 0 < n(s,g) < display_min;
* ``n_<k>`` is empty for a group that does not rate the subject.

Not settled by either text, and chosen here: when every counted group has weight 0, P(s) is
0/0 and taken as empty (``no_public``); a group blanked for anonymity is "counted in P(s)"
whenever n(s,g) ≥ min_group_responses, whatever its weight. Item weights are assumed positive
(an answered item of weight 0 alone would make G(s,g) 0/0).

``reference_scorecard`` returns the header and one dict per row, in row order, holding exact
values (``Fraction``, ``int``, ``str`` or ``None`` for an empty cell) and ``flags`` as a set;
ci_low/ci_high are not computed (they are ``None``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from scoring.spec import parse_spec

UNKNOWN = "unknown"
TOL = Fraction(1, 10**9)

BASE_COLUMNS = ["subject", "name", "n", "public_score", "positive_share", "top_share", "negative_share",
                "org_score", "org_raters", "composite", "grade", "rank", "ci_low", "ci_high", "flags"]


def exact(x: Any) -> Fraction:
    """The number as written: a float is read back from its shortest decimal form."""
    if isinstance(x, Fraction):
        return x
    if isinstance(x, float):
        return Fraction(repr(x))
    return Fraction(x)


def header(group_keys: Sequence[str]) -> list[str]:
    cols = list(BASE_COLUMNS)
    for k in group_keys:
        cols += [f"n_{k}", f"score_{k}", f"positive_share_{k}"]
    return cols


def weighted_mean(pairs: list[tuple[Fraction, Fraction]]) -> Fraction | None:
    """Σ w·x / Σ w; None when there is nothing to average (or the weights sum to 0)."""
    total_w = Fraction(0)
    total = Fraction(0)
    for w, x in pairs:
        total_w += w
        total += w * x
    if not pairs or total_w == 0:
        return None
    return total / total_w


def same(a: Fraction, b: Fraction) -> bool:
    return abs(a - b) <= TOL


def reference_scorecard(
    spec_data: Mapping[str, Any],
    answers: Sequence[tuple[str, str, str, str, str]],
    org: Sequence[tuple[str, str, str]] | None,
) -> tuple[list[str], list[dict[str, Any]]]:
    spec = parse_spec(spec_data)
    scheme = spec.scheme
    levels = {lv.key: lv for lv in spec.scale.levels}
    points = {k: exact(lv.points) for k, lv in levels.items()}
    top_points = max(points.values())
    item_weight = {it.key: exact(it.weight) for it in spec.items}
    group_weight = {g.key: exact(g.weight) for g in spec.groups}
    group_rates = {g.key: set(g.subjects) for g in spec.groups}

    # --- ballots: response_id -> group, {(subject, item): answer}
    ballots: dict[str, dict[str, Any]] = {}
    for rid, group, subject, item, answer in answers:
        ballot = ballots.setdefault(rid, {"group": group, "answers": {}})
        assert ballot["group"] == group
        ballot["answers"][(subject, item)] = answer

    received = {g.key: 0 for g in spec.groups}
    for ballot in ballots.values():
        received[ballot["group"]] += 1

    # --- rule 1: 废票 (only with "exclude"); unknown answers are ignored in the test
    spoiled = set()
    if scheme.uniform_ballots == "exclude":
        for rid, ballot in ballots.items():
            real = [a for a in ballot["answers"].values() if a != UNKNOWN]
            if len(real) >= 3 and len(set(real)) == 1:
                spoiled.add(rid)
    counted_ballots = [b for rid, b in ballots.items() if rid not in spoiled]

    # --- org ratings
    org_scores: dict[str, list[Fraction]] = {s.code: [] for s in spec.subjects}
    for subject, _rater, score in org or ():
        org_scores[subject].append(Fraction(score))

    rows: list[dict[str, Any]] = []
    for subj in spec.subjects:
        s = subj.code
        flags: set[str] = set()
        per_group: dict[str, dict[str, Any]] = {}
        for g in spec.groups:
            if s not in group_rates[g.key]:
                continue
            n = 0
            item_answers: dict[str, list[str]] = {it.key: [] for it in spec.items}
            for ballot in counted_ballots:
                if ballot["group"] != g.key:
                    continue
                valid = False
                for (bs, bi), a in ballot["answers"].items():
                    if bs == s and a != UNKNOWN:
                        valid = True
                        item_answers[bi].append(a)
                if valid:
                    n += 1
            # rule 2 and 3: item means and shares, item-weighted over answered items
            score_pairs, pos_pairs, top_pairs, neg_pairs = [], [], [], []
            for it in spec.items:
                given = item_answers[it.key]
                if not given:
                    continue
                w = item_weight[it.key]
                count = len(given)
                score_pairs.append((w, Fraction(sum(points[a] for a in given), count)))
                pos_pairs.append((w, Fraction(sum(1 for a in given if levels[a].polarity == "positive"), count)))
                top_pairs.append((w, Fraction(sum(1 for a in given if points[a] == top_points), count)))
                neg_pairs.append((w, Fraction(sum(1 for a in given if levels[a].polarity == "negative"), count)))
            per_group[g.key] = {
                "n": n,
                "score": weighted_mean(score_pairs),
                "positive": weighted_mean(pos_pairs),
                "top": weighted_mean(top_pairs),
                "negative": weighted_mean(neg_pairs),
            }

        # rule 4: public score over the groups with n >= min_group_responses
        counted_groups = [k for k, v in per_group.items() if v["n"] >= scheme.min_group_responses]
        for k, v in per_group.items():
            if k not in counted_groups and group_weight[k] > 0:
                flags.add(f"excluded:{k}")

        def over_groups(field: str) -> Fraction | None:
            return weighted_mean([(group_weight[k], per_group[k][field]) for k in counted_groups])

        public = over_groups("score")
        positive = over_groups("positive")
        top = over_groups("top")
        negative = over_groups("negative")
        if public is None:
            flags.add("no_public")

        # rule 5: organizational score
        raters = sorted(org_scores[s])
        t = scheme.org_trim
        if not raters:
            org_score = None
        elif len(raters) >= 2 * t + 1:
            kept = raters[t:len(raters) - t]
            org_score = sum(kept, Fraction(0)) / len(kept)
        else:
            org_score = sum(raters, Fraction(0)) / len(raters)
            flags.add("untrimmed")

        # rule 6: composite
        a = exact(scheme.combine_organizational)
        b = exact(scheme.combine_public)
        if (a > 0 and org_score is None) or (b > 0 and public is None):
            composite = None
            flags.add("incomplete")
        else:
            composite = ((a * org_score if a > 0 else 0) + (b * public if b > 0 else 0)) / (a + b)

        # rule 11: participation
        for g in spec.groups:
            if g.expected is None or s not in group_rates[g.key]:
                continue
            rate = Fraction(received[g.key], g.expected)
            if rate < exact(scheme.min_participation):
                flags.add(f"low_participation:{g.key}")
            if rate > 1:
                flags.add(f"over_participation:{g.key}")

        # rule 12: anonymity
        blanked = {k for k, v in per_group.items() if 0 < v["n"] < scheme.display_min}
        blanked_counted = [k for k in counted_groups if k in blanked]
        if len(blanked_counted) == 1:
            visible = [k for k in counted_groups if k not in blanked]  # spec order
            if visible:
                fewest = min(per_group[k]["n"] for k in visible)
                blanked.add(next(k for k in visible if per_group[k]["n"] == fewest))
        for k in blanked:
            flags.add(f"suppressed:{k}")

        row: dict[str, Any] = {
            "subject": s,
            "name": subj.name,
            "n": sum(v["n"] for v in per_group.values()),
            "public_score": public,
            "positive_share": positive,
            "top_share": top,
            "negative_share": negative,
            "org_score": org_score,
            "org_raters": len(raters),
            "composite": composite,
            "grade": None,
            "rank": None,
            "ci_low": None,
            "ci_high": None,
            "flags": flags,
        }
        for g in spec.groups:
            v = per_group.get(g.key)
            row[f"n_{g.key}"] = None if v is None else v["n"]
            hidden = v is None or g.key in blanked
            row[f"score_{g.key}"] = None if hidden else v["score"]
            row[f"positive_share_{g.key}"] = None if hidden else v["positive"]
        rows.append(row)

    # rule 7: grades and rules
    bands = [(band.grade, exact(band.min)) for band in scheme.grades]
    order = {name: place for place, (name, _) in enumerate(bands)}  # larger = worse
    metric_column = {"positive_share": "positive_share", "top_share": "top_share",
                     "negative_share": "negative_share", "public_score": "public_score",
                     "org_score": "org_score"}
    for row in rows:
        c = row["composite"]
        if c is None or not bands:
            continue
        grade = next((name for name, low in bands if low <= c), None)
        if grade is None:
            continue
        for place, rule in enumerate(scheme.rules, start=1):
            value = row[metric_column[rule.metric]]
            if value is None:
                continue
            x = exact(rule.threshold)
            fires = value > x if rule.direction == "above" else value < x
            if not fires:
                continue
            if order[rule.target] > order[grade]:
                grade = rule.target
            if rule.review:
                row["flags"].add(f"review:{place}")
        row["grade"] = grade

    # rule 8: the top-grade cap
    if scheme.top_share_cap is not None and bands:
        graded = [row for row in rows if row["grade"] is not None]
        q_n = exact(scheme.top_share_cap) * len(graded)
        keep = math.floor(q_n) if scheme.top_share_rounding == "floor" else math.floor(q_n + Fraction(1, 2))
        best = [row for row in graded if row["grade"] == bands[0][0]]

        def before(x: dict[str, Any], y: dict[str, Any]) -> bool:
            """x is kept before y."""
            if not same(x["composite"], y["composite"]):
                return x["composite"] > y["composite"]
            px, py = x["positive_share"], y["positive_share"]
            if px is not None and py is not None and not same(px, py):
                return px > py
            if (px is None) != (py is None):
                return px is not None  # a subject with a positive share goes first
            return x["subject"] < y["subject"]

        # plain selection sort with the comparison above
        pending = list(best)
        ordered = []
        while pending:
            first = pending[0]
            for other in pending[1:]:
                if before(other, first):
                    first = other
            ordered.append(first)
            pending.remove(first)
        for row in ordered[keep:]:
            row["grade"] = bands[1][0]
            row["flags"].add("capped")

    # rule 9: rank (competition ranking, composites within 1e-9 are equal)
    for row in rows:
        c = row["composite"]
        if c is None:
            continue
        row["rank"] = 1 + sum(1 for other in rows
                              if other["composite"] is not None and other["composite"] > c
                              and not same(other["composite"], c))

    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["subject"]))
    return header([g.key for g in spec.groups]), rows
