"""Properties that hold for any round (hypothesis), and Cronbach's alpha against pingouin."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scoring_cases import answers_frame, spec_dict

from scoring.reliability import cronbach_alpha, item_alpha, item_table
from scoring.scorecard import build_scorecard
from scoring.spec import parse_spec
from scoring.tallies import tally_answers

ANSWERS = ["satisfied", "basic", "dissatisfied", "unknown"]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def rounds(draw: st.DrawFn) -> tuple[dict, pd.DataFrame]:
    """A spec with 3 groups of random weights and 1–60 random ballots."""
    weights = draw(st.lists(st.floats(0.05, 5), min_size=3, max_size=3))
    data = spec_dict({"min_group_responses": draw(st.integers(1, 4)), "display_min": draw(st.integers(1, 6)),
                      "interval_resamples": 1000},
                     groups=[{"key": k, "name": k, "weight": w} for k, w in zip(("g1", "g2", "g3"), weights)])
    n = draw(st.integers(1, 60))
    ballots = []
    for k in range(n):
        group = draw(st.sampled_from(["g1", "g2", "g3"]))
        by_subject = {s: {i: draw(st.sampled_from(ANSWERS)) for i in ("service", "conduct")}
                      for s in draw(st.sets(st.sampled_from(["B01", "B02"]), min_size=1))}
        ballots.append((f"r{k}", group, by_subject))
    return data, answers_frame(ballots)


def table_of(data: dict, answers: pd.DataFrame) -> pd.DataFrame:
    spec = parse_spec(data)
    return build_scorecard(spec, tally_answers(spec, answers), None).table


@SETTINGS
@given(rounds(), st.randoms(use_true_random=False))
def test_permuting_ballots_changes_nothing(case, random) -> None:
    data, answers = case
    order = list(range(len(answers)))
    random.shuffle(order)
    shuffled = answers.iloc[order].reset_index(drop=True)
    shuffled["response_id"] = shuffled["response_id"].map(lambda r: f"x{r}")  # ids mean nothing
    pd.testing.assert_frame_equal(table_of(data, answers), table_of(data, shuffled))


@SETTINGS
@given(rounds(), st.floats(0.01, 100))
def test_scaling_all_group_weights_changes_nothing(case, factor: float) -> None:
    data, answers = case
    scaled = dict(data, groups=[dict(g, weight=g["weight"] * factor) for g in data["groups"]])
    a, b = table_of(data, answers), table_of(scaled, answers)
    for column in ("public_score", "positive_share", "top_share", "negative_share", "composite",
                   "ci_low", "ci_high"):
        np.testing.assert_allclose(a[column].to_numpy(float), b[column].to_numpy(float), rtol=1e-9, atol=1e-9)
    assert list(a["flags"]) == list(b["flags"])


@SETTINGS
@given(rounds())
def test_scores_stay_within_0_and_100(case) -> None:
    table = table_of(*case)
    for column in ("public_score", "composite", "ci_low", "ci_high", "score_g1", "score_g2", "score_g3"):
        values = table[column].dropna()
        assert ((values >= 0) & (values <= 100)).all()
    for column in ("positive_share", "top_share", "negative_share"):
        values = table[column].dropna()
        assert ((values >= 0) & (values <= 1)).all()
    ci = table.dropna(subset=["ci_low"])
    assert (ci["ci_low"] <= ci["ci_high"]).all()


@SETTINGS
@given(rounds(), st.floats(0.01, 1000))
def test_a_left_out_groups_weight_never_counts(case, weight: float) -> None:
    data, answers = case
    changed = dict(data, groups=[dict(g, weight=weight) if g["key"] == "g3" else g for g in data["groups"]])
    a = table_of(data, answers).set_index("subject")
    b = table_of(changed, answers).set_index("subject")  # row order may change: align by subject
    for subject in a.index:
        if "excluded:g3" in a.loc[subject, "flags"].split(";"):
            for column in ("public_score", "positive_share", "ci_low", "ci_high"):
                x, y = a.loc[subject, column], b.loc[subject, column]
                assert (math.isnan(x) and math.isnan(y)) or x == pytest.approx(y, rel=1e-9, abs=1e-9)


@SETTINGS
@given(rounds())
def test_cronbach_alpha_agrees_with_pingouin(case) -> None:
    pingouin = pytest.importorskip("pingouin")
    data, answers = case
    spec = parse_spec(data)
    ballots = tally_answers(spec, answers).ballots
    table = item_table(spec, ballots)
    ours, rows = item_alpha(spec, ballots)
    assert rows == len(table)
    if len(table) < 2 or table.sum(axis=1).var() == 0:  # no variance: alpha is undefined
        assert math.isnan(ours)
        return
    assert ours == pytest.approx(pingouin.cronbach_alpha(data=table)[0], rel=1e-9, abs=1e-9)


def test_cronbach_alpha_by_hand() -> None:
    # items x = (1, 2, 3, 4), y = (2, 3, 3, 5); var x = 5/3, var y = 1.5833, total (3, 5, 6, 9): var 6.25
    # alpha = 2/1 · (1 − (1.6667 + 1.5833)/6.25) = 0.96
    values = np.array([[1, 2], [2, 3], [3, 3], [4, 5]], dtype=float)
    assert cronbach_alpha(values) == pytest.approx(2 * (1 - (5 / 3 + 19 / 12) / 6.25))
    # repeated rows by count = the expanded matrix
    assert cronbach_alpha(values[[0, 1]], np.array([3, 2])) == pytest.approx(
        cronbach_alpha(values[[0, 0, 0, 1, 1]]))
    assert math.isnan(cronbach_alpha(values[:1]))


def test_alpha_uses_only_complete_ballot_subject_rows() -> None:
    data = spec_dict()
    answers = answers_frame([
        ("r1", "staff", {"B01": {"service": "satisfied", "conduct": "basic"},
                         "B02": {"service": "basic", "conduct": "unknown"}}),  # B02 incomplete
        ("r2", "staff", {"B01": {"service": "basic", "conduct": "basic"}}),
        ("r3", "students", {"B02": {"service": "dissatisfied", "conduct": "basic"}}),
    ])
    spec = parse_spec(data)
    table = item_table(spec, tally_answers(spec, answers).ballots)
    assert len(table) == 3
    assert sorted(map(tuple, table.to_numpy().tolist())) == [(0.0, 60.0), (60.0, 60.0), (100.0, 60.0)]
