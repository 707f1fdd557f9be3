"""The scorecard of ``python -m scoring score`` against the naive reference in reference_scorecard.py.

Random small rounds (hypothesis) and a few hand-picked edge cases; every column but
ci_low/ci_high is compared. Numbers must be equal after formatting to the CSV's decimals
(scores 2, shares 4); a difference of one unit in the last decimal is allowed only where the
exact value lies within 1e-9 of a rounding boundary. Grades, ranks and flag sets must be equal.
"""

from __future__ import annotations

import csv
import json
import math
import random
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference_scorecard import TOL, exact, reference_scorecard

from scoring.cli import main
from scoring.scales import BUILTIN_SCALES
from scoring.spec import METRICS

SCORE_COLUMNS = {"public_score", "org_score", "composite"}
SHARE_COLUMNS = {"positive_share", "top_share", "negative_share"}
INT_COLUMNS = {"n", "org_raters", "rank"}
SKIPPED = {"ci_low", "ci_high"}
GRADE_NAMES = ["优秀", "良好", "一般", "较差"]
SUBJECT_POOL = [("B01", "计算机学院党总支"), ("b02", "机关第一党支部"), ("A10", "图书馆党支部"),
                ("Z-9", "后勤党总支"), ("B_1", "离退休党支部")]


# --------------------------------------------------------------------------- running both sides

def run_library(folder: Path, spec: dict[str, Any], answers: list[tuple[str, str, str, str, str]],
                org: list[tuple[str, str, str]] | None) -> tuple[list[str], list[dict[str, str]]]:
    spec_path, answers_path, out = folder / "spec.json", folder / "answers.csv", folder / "scorecard.csv"
    spec_path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    with answers_path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["response_id", "group", "subject", "item", "answer"])
        writer.writerows(answers)
    args = ["score", "--spec", str(spec_path), "--answers", str(answers_path), "--out", str(out)]
    if org is not None:
        org_path = folder / "org.csv"
        with org_path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["subject", "rater", "score"])
            writer.writerows(org)
        args += ["--org", str(org_path)]
    status = main(args)
    assert status == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        head = next(reader)
        rows = [dict(zip(head, line, strict=True)) for line in reader]
    return head, rows


def formatted(value: Fraction, decimals: int) -> str:
    """``value`` rounded half up to ``decimals`` places (exact values are never negative here)."""
    scaled = value * 10**decimals
    whole = scaled.numerator // scaled.denominator
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return f"{Decimal(whole).scaleb(-decimals):.{decimals}f}"


def acceptable(value: Fraction, decimals: int) -> set[str]:
    """The CSV text for ``value``: its rounding, or a neighbour if a boundary is within 1e-9."""
    return {formatted(value, decimals), formatted(max(value - TOL, Fraction(0)), decimals),
            formatted(value + TOL, decimals)}


def decimals_of(column: str) -> int | None:
    if column in SCORE_COLUMNS or column.startswith("score_"):
        return 2
    if column in SHARE_COLUMNS or column.startswith("positive_share_"):
        return 4
    return None


def compare(spec: dict[str, Any], answers: list[tuple[str, str, str, str, str]],
            org: list[tuple[str, str, str]] | None, folder: Path) -> list[dict[str, Any]]:
    """Run both; assert every column but the interval agrees. Returns the reference rows."""
    head, got = run_library(folder, spec, answers, org)
    ref_head, expected = reference_scorecard(spec, answers, org)
    assert head == ref_head
    assert [r["subject"] for r in got] == [r["subject"] for r in expected], "row order"
    for lib, ref in zip(got, expected, strict=True):
        where = f"subject {ref['subject']}"
        for column in head:
            if column in SKIPPED:
                continue
            text, value = lib[column], ref[column]
            if column == "flags":
                assert set(filter(None, text.split(";"))) == value, f"{where}: flags"
            elif value is None:
                assert text == "", f"{where}: {column} should be empty, library wrote {text!r}"
            elif column in INT_COLUMNS or column.startswith("n_"):
                assert text == str(value), f"{where}: {column}"
            elif (decimals := decimals_of(column)) is not None:
                allowed = acceptable(value, decimals)
                assert text in allowed, f"{where}: {column} = {text!r}, reference {float(value)!r} → {sorted(allowed)}"
            else:
                assert text == str(value), f"{where}: {column}"
    return expected


# --------------------------------------------------------------------------- random rounds

def inline_scale(rng: random.Random) -> dict[str, Any]:
    count = rng.randint(2, 5)
    pts = rng.sample([0, 10, 25, 30, 37.5, 40, 50, 60, 62.5, 75, 80, 90, 99.5, 100], count)
    pts.sort(reverse=True)
    return {"levels": [{"key": f"L{k}", "label": f"级{k}", "points": p,
                        "polarity": rng.choice(["positive", "neutral", "negative"])}
                       for k, p in enumerate(pts)]}


def level_keys(scale: str | dict[str, Any]) -> list[str]:
    if isinstance(scale, str):
        return list(BUILTIN_SCALES[scale].keys)
    return [lv["key"] for lv in scale["levels"]]


@st.composite
def rounds(draw: st.DrawFn) -> tuple[dict[str, Any], list[tuple[str, str, str, str, str]], list | None]:
    seed = draw(st.integers(0, 2**32 - 1))
    rng = random.Random(seed)
    n_subjects = draw(st.integers(2, 5))
    subjects = SUBJECT_POOL[:n_subjects]
    codes = [c for c, _ in subjects]
    n_items = draw(st.integers(1, 4))
    items = [{"key": f"i{k}", "text": f"项目{k}",
              "weight": draw(st.sampled_from([1, 2, 0.5, 1.5, 0.25, 0.3, 0.7, 3, 1.25]))}
             for k in range(n_items)]
    n_groups = draw(st.integers(1, 3))
    groups = []
    for k in range(n_groups):
        group: dict[str, Any] = {"key": f"g{k}", "name": f"组{k}",
                                 "weight": draw(st.sampled_from([0, 1, 0.5, 0.3, 0.6, 0.25, 2, 0.1, 0.4]))}
        if draw(st.booleans()):
            group["subjects"] = sorted(draw(st.sets(st.sampled_from(codes), min_size=1)))
        if draw(st.booleans()):
            group["expected"] = draw(st.integers(1, 30))
        groups.append(group)
    if sum(g["weight"] for g in groups) == 0:
        groups[0]["weight"] = 1
    scale = draw(st.sampled_from(["satisfaction3", "satisfaction5", "rating4", "competence4", "party4", "inline"]))
    if scale == "inline":
        scale = inline_scale(rng)

    scheme: dict[str, Any] = {"interval_resamples": 1000}
    if draw(st.booleans()):
        a, b = draw(st.sampled_from([(0, 1), (0.6, 0.4), (1, 0), (0.3, 0.7), (1, 1), (0.5, 0), (2, 1)]))
        scheme["combine"] = {"organizational": a, "public": b}
    scheme["org_trim"] = draw(st.integers(0, 2))
    scheme["min_group_responses"] = draw(st.integers(1, 4))
    uniform = draw(st.sampled_from([None, "count", "exclude"]))
    if uniform:
        scheme["uniform_ballots"] = uniform
    scheme["display_min"] = draw(st.integers(1, 6))
    n_bands = draw(st.integers(2, 4))
    mins = sorted(draw(st.sets(st.sampled_from([0, 20, 40, 50, 55.5, 60, 65, 70, 75, 80, 85, 90, 95]),
                               min_size=n_bands, max_size=n_bands)), reverse=True)
    grades = [{"grade": GRADE_NAMES[k], "min": m} for k, m in enumerate(mins)]
    scheme["grades"] = grades
    rules = []
    for _ in range(draw(st.integers(0, 3))):
        metric = draw(st.sampled_from(METRICS))
        if metric.endswith("_share"):
            threshold = draw(st.sampled_from([0, 0.1, 0.2, 0.25, 0.3333, 0.5, 0.6, 0.6667, 0.75, 0.8, 0.9, 1]))
        else:
            threshold = draw(st.sampled_from([0, 30, 50, 60, 62.5, 70, 75, 80, 90, 100]))
        rule = {"metric": metric, draw(st.sampled_from(["above", "below"])): threshold,
                draw(st.sampled_from(["grade", "at_most"])): draw(st.sampled_from(grades))["grade"]}
        if draw(st.booleans()):
            rule["review"] = draw(st.booleans())
        rules.append(rule)
    scheme["rules"] = rules
    if draw(st.booleans()):
        scheme["top_share_cap"] = draw(st.integers(0, 60)) / 100
        rounding = draw(st.sampled_from([None, "floor", "round"]))
        if rounding:
            scheme["top_share_rounding"] = rounding
    if draw(st.booleans()):
        scheme["min_participation"] = draw(st.sampled_from([0, 0.2, 0.5, 0.8, 1, 1.5]))

    spec = {"scale": scale, "subjects": [{"code": c, "name": n} for c, n in subjects],
            "items": items, "groups": groups, "scheme": scheme}

    # ballots (from the seed: many small draws are cheaper this way)
    keys = level_keys(scale)
    answers: list[tuple[str, str, str, str, str]] = []
    ballot_no = 0
    for group in groups:
        rated = group.get("subjects", codes)
        for _ in range(rng.randint(0, 25)):
            ballot_no += 1
            rid = f"r{rng.randrange(10**9):09d}-{ballot_no}"
            uniform_level = rng.choice(keys) if rng.random() < 0.2 else None
            rows = []
            for s in rng.sample(rated, rng.randint(1, len(rated))):
                for item in items:
                    roll = rng.random()
                    if roll < 0.15:
                        continue  # skipped
                    if roll < 0.3:
                        answer = "unknown"
                    else:
                        answer = uniform_level or rng.choice(keys)
                    rows.append((rid, group["key"], s, item["key"], answer))
            if not rows:
                rows.append((rid, group["key"], rated[0], items[0]["key"], "unknown"))
            answers.extend(rows)
    rng.shuffle(answers)  # ids mean nothing and rows need not come together

    org = None
    if draw(st.booleans()):
        org = []
        for c in codes:
            for r in range(rng.randint(0, 6)):
                score = rng.choice([rng.randint(0, 100), round(rng.uniform(0, 100), 1),
                                    round(rng.uniform(0, 100), 2), 60, 80])
                org.append((c, f"rater{r}", f"{score}"))
    if draw(st.booleans()):
        put_thresholds_on_values(draw, spec, answers, org)
    return spec, answers, org


def put_thresholds_on_values(draw: st.DrawFn, spec: dict[str, Any], answers: list, org: list | None) -> None:
    """Rules and grade minima exactly at values the round produces (short decimals only, so that
    the JSON number is the exact value): strictly above/below must not fire, min ≤ C must hold."""
    _, rows = reference_scorecard(spec, answers, org)
    short = [(column, row[column]) for row in rows
             for column in ("composite", "public_score", "org_score", "positive_share", "top_share", "negative_share")
             if row[column] is not None and 10**8 % row[column].denominator == 0]
    if not short:
        return
    scheme = spec["scheme"]
    for _ in range(draw(st.integers(1, 2))):
        column, value = draw(st.sampled_from(short))
        if column == "composite":
            grades = scheme["grades"]
            place = draw(st.integers(0, len(grades) - 1))
            higher = exact(grades[place - 1]["min"]) if place else math.inf
            lower = exact(grades[place + 1]["min"]) if place + 1 < len(grades) else -math.inf
            if lower < value < higher:
                grades[place]["min"] = float(value)
        else:
            scheme["rules"].append({"metric": column, draw(st.sampled_from(["above", "below"])): float(value),
                                    "grade": scheme["grades"][-1]["grade"], "review": True})


@settings(max_examples=150, deadline=None)
@given(rounds())
def test_scorecard_agrees_with_the_reference(tmp_path_factory: pytest.TempPathFactory, case) -> None:
    spec, answers, org = case
    compare(spec, answers, org, tmp_path_factory.mktemp("round"))


# --------------------------------------------------------------------------- hand-picked edge cases

def small_spec(subjects: list[str], groups: list[dict[str, Any]], scheme: dict[str, Any],
               items: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"scale": "satisfaction3",
            "subjects": [{"code": c, "name": f"单位{c}"} for c in subjects],
            "items": items or [{"key": "service", "text": "服务", "weight": 2},
                               {"key": "conduct", "text": "作风", "weight": 1}],
            "groups": groups, "scheme": {"interval_resamples": 1000, **scheme}}


def ballot(rid: str, group: str, answers: dict[str, dict[str, str]]) -> list[tuple[str, str, str, str, str]]:
    return [(rid, group, s, i, a) for s, by_item in answers.items() for i, a in by_item.items()]


def by_code(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["subject"]: row for row in rows}


def test_all_groups_below_min_group_responses(tmp_path: Path) -> None:
    """S1 has 2 ballots per group, below min_group_responses 3: no public score, no composite,
    no grade, no rank; only the group with a positive weight is flagged excluded."""
    spec = small_spec(["S1", "S2"],
                      [{"key": "staff", "name": "教职工", "weight": 1},
                       {"key": "retired", "name": "离退休", "weight": 0}],
                      {"min_group_responses": 3, "display_min": 1, "top_share_cap": 0.5,
                       "grades": [{"grade": "优秀", "min": 90}, {"grade": "合格", "min": 0}],
                       "rules": [{"metric": "public_score", "below": 101, "grade": "合格", "review": True}]})
    answers = []
    for k in range(2):
        answers += ballot(f"a{k}", "staff", {"S1": {"service": "satisfied"}})
        answers += ballot(f"b{k}", "retired", {"S1": {"service": "basic", "conduct": "unknown"}})
    for k in range(3):
        answers += ballot(f"c{k}", "staff", {"S2": {"service": "satisfied", "conduct": "basic"}})
    rows = compare(spec, answers, [("S1", "r1", "95")], tmp_path)
    assert [r["subject"] for r in rows] == ["S2", "S1"]  # unranked last
    s1, s2 = by_code(rows)["S1"], by_code(rows)["S2"]
    assert s1["public_score"] is None and s1["composite"] is None and s1["grade"] is None and s1["rank"] is None
    assert s1["flags"] == {"excluded:staff", "no_public", "incomplete"}
    assert s1["n"] == 4 and s1["n_staff"] == 2 and s1["score_staff"] == 100 and s1["org_score"] == 95
    assert s2["public_score"] == Fraction(2 * 100 + 60, 3) and s2["rank"] == 1
    assert s2["grade"] == "合格" and s2["flags"] == {"review:1"}  # retired (weight 0) is not flagged
    assert s2["n_retired"] == 0 and s2["score_retired"] is None


def test_composite_ties_for_the_cap_and_the_rank(tmp_path: Path) -> None:
    """A1, B1 and C1 all have composite 12.5; B1 has the higher positive share, A1 and C1 the same
    (0.125, which C1 reaches by mixing items of weight 0.1 and 0.7, one rounding error away in
    floating point), so the code decides between them. Cap 0.5 of 4 graded keeps B1 and A1."""
    items = [{"key": "i0", "text": "一", "weight": 0.1}, {"key": "i1", "text": "二", "weight": 0.7}]
    spec = small_spec(["C1", "A1", "B1", "D1"], [{"key": "g", "name": "群众", "weight": 1}],
                      {"display_min": 1, "top_share_cap": 0.5,
                       "grades": [{"grade": "优秀", "min": 10}, {"grade": "良好", "min": 0}],
                       "rules": [{"metric": "positive_share", "below": 0.125, "grade": "良好", "review": True},
                                 {"metric": "positive_share", "above": 0.125, "at_most": "优秀", "review": True}]},
                      items)
    answers = ballot("c", "g", {"C1": {"i0": "satisfied", "i1": "dissatisfied"}})
    for k in range(8):
        level = "satisfied" if k == 0 else "dissatisfied"
        answers += ballot(f"a{k}", "g", {"A1": {"i0": level, "i1": level}, "D1": {"i0": "dissatisfied"}})
    for k in range(24):
        level = "basic" if k < 5 else "dissatisfied"
        answers += ballot(f"b{k}", "g", {"B1": {"i0": level, "i1": level}})
    rows = compare(spec, answers, None, tmp_path)
    assert [(r["subject"], r["composite"], r["rank"], r["grade"]) for r in rows] == [
        ("A1", 12.5, 1, "优秀"), ("B1", 12.5, 1, "优秀"), ("C1", 12.5, 1, "良好"), ("D1", 0, 4, "良好")]
    assert by_code(rows)["B1"]["flags"] == {"review:2"}  # 5/24 > 0.125; A1 and C1 are not below 0.125
    assert by_code(rows)["C1"]["flags"] == {"capped"}


def test_complementary_blanking_with_three_groups(tmp_path: Path) -> None:
    """display_min 5, min_group_responses 2. S1: g1 (2) is the only blanked counted group, so the
    visible counted group with the fewest ballots, g3 (5), is blanked too. S2: g2 and g3 tie at 6,
    the first in spec order (g2) goes. S3: g1 (1) is not counted, so nothing more is blanked.
    S4: two counted groups blanked already, nothing more. S5: g1 not rating, g2 blanked, g3 the
    only visible counted group is blanked."""
    groups = [{"key": "g1", "name": "一", "weight": 0.5, "subjects": ["S1", "S2", "S3", "S4"]},
              {"key": "g2", "name": "二", "weight": 0.3},
              {"key": "g3", "name": "三", "weight": 0.2}]
    spec = small_spec(["S1", "S2", "S3", "S4", "S5"], groups, {"display_min": 5, "min_group_responses": 2})
    counts = {"S1": (2, 6, 5), "S2": (2, 6, 6), "S3": (1, 6, 5), "S4": (2, 3, 7), "S5": (0, 4, 9)}
    levels = ["satisfied", "basic", "dissatisfied"]
    answers = []
    for s, per_group in counts.items():
        for g, n in zip(("g1", "g2", "g3"), per_group, strict=True):
            for k in range(n):
                answers += ballot(f"{s}{g}{k}", g, {s: {"service": levels[k % 3], "conduct": levels[(k + 1) % 3]}})
    rows = by_code(compare(spec, answers, None, tmp_path))
    assert rows["S1"]["flags"] == {"suppressed:g1", "suppressed:g3"}
    assert rows["S1"]["score_g3"] is None and rows["S1"]["n_g3"] == 5 and rows["S1"]["score_g2"] is not None
    assert rows["S2"]["flags"] == {"suppressed:g1", "suppressed:g2"}
    assert rows["S3"]["flags"] == {"suppressed:g1", "excluded:g1"}
    assert rows["S4"]["flags"] == {"suppressed:g1", "suppressed:g2"}
    assert rows["S5"]["flags"] == {"suppressed:g2", "suppressed:g3"} and rows["S5"]["n_g1"] is None
    assert all(row["public_score"] is not None for row in rows.values())


def test_spoiled_ballot_with_unknown_answers_mixed_in(tmp_path: Path) -> None:
    """uniform_ballots exclude. u1: 满意 ×3 and two 不了解 → 废票. u2: 满意 on two subjects (3
    answers in all) → 废票. u3: 满意 ×2 and 不了解 → too few answers, counts. u4: 满意 ×3 and one
    基本满意 → counts. 废票 still count as received: 5 of expected 8 is no low participation."""
    spec = small_spec(["S1", "S2"], [{"key": "staff", "name": "教职工", "weight": 1, "expected": 8}],
                      {"uniform_ballots": "exclude", "display_min": 1})
    answers = (ballot("u1", "staff", {"S1": {"service": "satisfied", "conduct": "unknown"},
                                      "S2": {"service": "satisfied", "conduct": "satisfied"}})
               + ballot("u2", "staff", {"S1": {"service": "satisfied", "conduct": "satisfied"},
                                        "S2": {"service": "satisfied", "conduct": "unknown"}})
               + ballot("u3", "staff", {"S1": {"service": "satisfied", "conduct": "unknown"},
                                        "S2": {"service": "satisfied"}})
               + ballot("u4", "staff", {"S1": {"service": "satisfied", "conduct": "satisfied"},
                                        "S2": {"service": "satisfied", "conduct": "basic"}})
               + ballot("u5", "staff", {"S1": {"service": "dissatisfied", "conduct": "unknown"}}))
    rows = by_code(compare(spec, answers, None, tmp_path))
    # S1 counts u3, u4, u5: service (100 + 100 + 0)/3, conduct 100
    assert rows["S1"]["n"] == 3
    assert rows["S1"]["public_score"] == (2 * Fraction(200, 3) + 100) / 3
    # S2 counts u3 and u4: service 100, conduct 60
    assert rows["S2"]["n"] == 2 and rows["S2"]["public_score"] == Fraction(2 * 100 + 60, 3)
    assert rows["S1"]["flags"] == rows["S2"]["flags"] == set()
