"""docs/scoring.md rules 1–12 on small rounds whose numbers are worked out by hand in each test.

Scale satisfaction3: satisfied 100 (positive, top), basic 60 (positive), dissatisfied 0 (negative).
Items: service weight 2, conduct weight 1. Groups: staff W 0.6, students W 0.4 (scoring_cases.py).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scoring_cases import answers_frame, make_spec, org_frame, same, score

from scoring.scorecard import build_scorecard, org_score
from scoring.tallies import Tallies, tally_answers

# staff:    r1 service satisfied 100, conduct basic 60
#           r2 service basic 60,      conduct unknown (不了解: in no denominator)
#           r3 service dissatisfied 0, conduct satisfied 100
#           r4 unknown, unknown  -> not valid for B01 (received, but n(B01, staff) = 3)
# students: s1 service satisfied 100, conduct satisfied 100
#           s2 service unknown,       conduct dissatisfied 0
HAND_BALLOTS = [
    ("r1", "staff", {"B01": {"service": "satisfied", "conduct": "basic"}}),
    ("r2", "staff", {"B01": {"service": "basic", "conduct": "unknown"}}),
    ("r3", "staff", {"B01": {"service": "dissatisfied", "conduct": "satisfied"}}),
    ("r4", "staff", {"B01": {"service": "unknown", "conduct": "unknown"}}),
    ("s1", "students", {"B01": {"service": "satisfied", "conduct": "satisfied"}}),
    ("s2", "students", {"B01": {"service": "unknown", "conduct": "dissatisfied"}}),
]


def test_item_means_group_scores_and_public_score_by_hand() -> None:
    card = score(make_spec(), HAND_BALLOTS)
    row = card.row("B01")
    # staff: m(service) = (100+60+0)/3 = 53.333, m(conduct) = (60+100)/2 = 80
    #        G = (2·53.333 + 1·80)/3 = 62.222
    assert row["score_staff"] == pytest.approx((2 * 160 / 3 + 80) / 3)
    # students: m(service) = 100 (one answer), m(conduct) = (100+0)/2 = 50; G = (200+50)/3 = 83.333
    assert row["score_students"] == pytest.approx(250 / 3)
    # P = 0.6·62.222 + 0.4·83.333 = 70.667 (weights already sum to 1)
    assert row["public_score"] == pytest.approx(0.6 * (2 * 160 / 3 + 80) / 3 + 0.4 * 250 / 3)
    assert row["n_staff"] == 3 and row["n_students"] == 2 and row["n"] == 5
    # no org weight by default: C = P, and every subject is ranked by it
    assert row["composite"] == pytest.approx(row["public_score"])
    assert row["rank"] == 1


def test_shares_are_per_item_then_item_weighted_then_group_weighted() -> None:
    row = score(make_spec(), HAND_BALLOTS).row("B01")
    # positive: staff service 2/3, conduct 2/2 -> (2·2/3 + 1)/3 = 7/9; students service 1, conduct 1/2 -> 5/6
    assert row["positive_share_staff"] == pytest.approx(7 / 9)
    assert row["positive_share_students"] == pytest.approx(5 / 6)
    assert row["positive_share"] == pytest.approx(0.6 * 7 / 9 + 0.4 * 5 / 6)  # 0.8
    # top (satisfied): staff service 1/3, conduct 1/2 -> 7/18; students 1 and 1/2 -> 5/6
    assert row["top_share"] == pytest.approx(0.6 * 7 / 18 + 0.4 * 5 / 6)
    # negative: staff service 1/3, conduct 0 -> 2/9; students 0 and 1/2 -> 1/6
    assert row["negative_share"] == pytest.approx(0.6 * 2 / 9 + 0.4 * 1 / 6)  # 0.2


def test_unknown_answers_are_in_no_denominator() -> None:
    spec = make_spec()
    with_unknowns = score(spec, HAND_BALLOTS).row("B01")
    without = score(spec, [(rid, g, {s: {i: a for i, a in items.items() if a != "unknown"}
                                     for s, items in by.items()})
                           for rid, g, by in HAND_BALLOTS if rid != "r4"]).row("B01")
    for column in ("public_score", "positive_share", "top_share", "negative_share", "n"):
        assert with_unknowns[column] == pytest.approx(without[column])


def test_item_without_answers_drops_out_of_the_group_score() -> None:
    # only conduct answered: G = m(conduct), service's weight is not counted as zero
    card = score(make_spec(), [("r1", "staff", {"B01": {"conduct": "basic", "service": "unknown"}})])
    assert card.row("B01")["score_staff"] == pytest.approx(60)


def test_left_out_group_is_renormalized_never_zero_and_flagged() -> None:
    spec = make_spec({"min_group_responses": 2})
    ballots = [
        ("a1", "staff", same("satisfied")), ("a2", "staff", same("basic")),  # G = 80, n = 2
        ("b1", "students", same("dissatisfied")),  # n = 1 < 2: left out
    ]
    row = score(spec, ballots).row("B01")
    assert row["public_score"] == pytest.approx(80.0)  # 0.6·80/0.6, not 0.6·80 + 0.4·0
    assert "excluded:students" in row["flags"].split(";")
    assert row["n_students"] == 1 and row["score_students"] == pytest.approx(0.0)  # still shown


def test_no_group_left_means_no_public_score_no_composite_no_grade_no_rank() -> None:
    spec = make_spec({"min_group_responses": 3,
                      "grades": [{"grade": "好", "min": 60}, {"grade": "差", "min": 0}]})
    card = score(spec, [("a1", "staff", same("satisfied")), ("b1", "students", same("satisfied")),
                        ("c1", "staff", same("basic", ["B02"])), ("c2", "staff", same("basic", ["B02"])),
                        ("c3", "staff", same("basic", ["B02"]))])
    row = card.row("B01")
    assert math.isnan(row["public_score"]) and math.isnan(row["composite"])
    assert row["grade"] is None and pd.isna(row["rank"])
    assert math.isnan(row["ci_low"]) and math.isnan(row["ci_high"])
    assert set(card.flags_of("B01")) >= {"no_public", "incomplete", "excluded:staff", "excluded:students"}
    # unranked subjects come last
    assert list(card.table["subject"]) == ["B02", "B01"]


def test_zero_weight_group_is_never_flagged_excluded() -> None:
    spec = make_spec({"min_group_responses": 2}, groups=[
        {"key": "staff", "name": "教职工", "weight": 1}, {"key": "students", "name": "学生", "weight": 0}])
    card = score(spec, [("a1", "staff", same("satisfied")), ("a2", "staff", same("satisfied"))])
    assert "excluded:students" not in card.flags_of("B01")
    assert "excluded:staff" not in card.flags_of("B01")


def test_group_rating_some_subjects_only() -> None:
    spec = make_spec(groups=[{"key": "staff", "name": "教职工", "weight": 0.6},
                             {"key": "students", "name": "学生", "weight": 0.4, "subjects": ["B01"]}])
    card = score(spec, [("a1", "staff", same("basic", ["B01", "B02"])), ("b1", "students", same("satisfied"))])
    b02 = card.row("B02")
    assert b02["public_score"] == pytest.approx(60.0)  # students do not rate B02: staff alone
    assert pd.isna(b02["n_students"]) and "excluded:students" not in b02["flags"]


def test_org_score_trims_highest_and_lowest() -> None:
    assert org_score([70, 80, 90, 95, 100], 1) == (pytest.approx((80 + 90 + 95) / 3), False)
    assert org_score([60, 100], 1) == (pytest.approx(80.0), True)  # fewer than 3: all, untrimmed
    assert org_score([50, 60, 70, 80, 90], 2) == (pytest.approx(70.0), False)
    assert org_score([60, 100], 0) == (pytest.approx(80.0), False)
    assert math.isnan(org_score([], 1)[0])


def test_composite_combines_org_and_public_and_flags_untrimmed() -> None:
    spec = make_spec({"combine": {"organizational": 0.6, "public": 0.4}, "org_trim": 1})
    org = org_frame([("B01", "甲", 70), ("B01", "乙", 80), ("B01", "丙", 90), ("B01", "丁", 95),
                     ("B01", "戊", 100), ("B02", "甲", 60), ("B02", "乙", 100)])
    card = score(spec, [("a1", "staff", same("basic", ["B01", "B02"]))], org)
    b01, b02 = card.row("B01"), card.row("B02")
    # B01: O = (80+90+95)/3 = 88.333; P = 60; C = (0.6·88.333 + 0.4·60)/1 = 77
    assert b01["org_score"] == pytest.approx(265 / 3)
    assert b01["composite"] == pytest.approx(0.6 * 265 / 3 + 0.4 * 60)
    assert b01["org_raters"] == 5 and "untrimmed" not in b01["flags"]
    # B02: two raters < 2·1+1: plain mean 80, flagged untrimmed; C = 0.6·80 + 0.4·60 = 72
    assert b02["org_score"] == pytest.approx(80) and "untrimmed" in b02["flags"].split(";")
    assert b02["composite"] == pytest.approx(72)


def test_missing_weighted_component_makes_composite_incomplete() -> None:
    spec = make_spec({"combine": {"organizational": 0.5, "public": 0.5}})
    card = score(spec, [("a1", "staff", same("basic", ["B01", "B02"]))], org_frame([("B01", "甲", 90)]))
    assert card.row("B01")["composite"] == pytest.approx(75)
    assert math.isnan(card.row("B02")["composite"]) and "incomplete" in card.flags_of("B02")
    # a component with weight 0 may be empty
    card = score(make_spec(), [("a1", "staff", same("basic"))])
    assert card.row("B01")["composite"] == pytest.approx(60) and "incomplete" not in card.flags_of("B01")


GRADES = [{"grade": "优秀", "min": 90}, {"grade": "良好", "min": 80},
          {"grade": "一般", "min": 60}, {"grade": "较差", "min": 0}]


def test_grade_is_first_band_whose_min_is_reached() -> None:
    spec = make_spec({"grades": GRADES})
    # B01: 4 satisfied + 1 basic on every item = 92; B02: all basic = 60 (exactly the min)
    ballots = [(f"r{k}", "staff", same("satisfied")) for k in range(4)] + [("r9", "staff", same("basic"))]
    ballots += [(f"q{k}", "staff", same("basic", ["B02"])) for k in range(2)]
    card = score(spec, ballots)
    assert card.row("B01")["grade"] == "优秀" and card.row("B02")["grade"] == "一般"


def test_rules_grade_at_most_and_review() -> None:
    spec = make_spec({"grades": GRADES, "rules": [
        {"metric": "negative_share", "above": 0.3333, "grade": "较差"},
        {"metric": "positive_share", "below": 0.9, "at_most": "良好", "review": True},
        {"metric": "org_score", "below": 99, "grade": "较差"},  # org_score is empty: never fires
    ]})
    # B01: 9 satisfied, 1 dissatisfied -> P = 90 (优秀), positive share 0.9 (not below 0.9): stays
    # B02: 5 satisfied, 1 basic, 4 dissatisfied -> P = 56 (较差); negative 0.4 > 0.3333 -> 较差
    ballots = [(f"r{k}", "staff", same("satisfied")) for k in range(9)] + [("r9", "staff", same("dissatisfied"))]
    ballots += [(f"q{k}", "staff", same("satisfied", ["B02"])) for k in range(5)]
    ballots += [("q5", "staff", same("basic", ["B02"]))] + [(f"q{k}", "staff", same("dissatisfied", ["B02"])) for k in range(6, 10)]
    card = score(spec, ballots)
    assert card.row("B01")["grade"] == "优秀" and not any(f.startswith("review") for f in card.flags_of("B01"))
    b02 = card.row("B02")
    assert b02["public_score"] == pytest.approx(56.0) and b02["grade"] == "较差"
    # positive share 0.6 < 0.9 fires rule 2 (review) although 较差 is already worse than 良好
    assert "review:2" in card.flags_of("B02")


def test_at_most_lowers_a_better_grade_and_grade_rule_never_raises() -> None:
    spec = make_spec({"grades": GRADES, "rules": [
        {"metric": "top_share", "below": 0.95, "at_most": "良好"},
        {"metric": "public_score", "above": 0, "grade": "优秀"},  # would raise: never does
    ]})
    ballots = [(f"r{k}", "staff", same("satisfied")) for k in range(9)] + [("r9", "staff", same("basic"))]
    ballots += [("q1", "staff", same("basic", ["B02"]))]
    card = score(spec, ballots)
    assert card.row("B01")["public_score"] == pytest.approx(96.0)
    assert card.row("B01")["grade"] == "良好"  # top share 0.9 < 0.95: at most 良好
    assert card.row("B02")["grade"] == "一般"  # 60 stays 一般 although rule 2 "fires"


def five_subject_spec(cap: float, rounding: str = "floor") -> dict:
    from scoring_cases import spec_dict

    return spec_dict({"grades": GRADES, "top_share_cap": cap, "top_share_rounding": rounding},
                     subjects=[{"code": c, "name": c} for c in ("S1", "S2", "S3", "S4", "S5")])


def test_top_grade_cap_keeps_best_by_composite_then_positive_share_then_code() -> None:
    from scoring.spec import parse_spec

    spec = parse_spec(five_subject_spec(0.4))  # floor(0.4·5) = 2 may keep 优秀
    ballots = [
        ("r1", "staff", {"S1": {"service": "satisfied", "conduct": "satisfied"},
                         "S2": {"service": "satisfied", "conduct": "satisfied"},
                         "S3": {"service": "satisfied", "conduct": "satisfied"},
                         "S4": {"service": "satisfied", "conduct": "satisfied"},
                         "S5": {"service": "basic", "conduct": "basic"}}),
        ("r2", "staff", {"S1": {"service": "satisfied", "conduct": "satisfied"},
                         # S2: service (100+100)/2 = 100, conduct (100+60)/2 = 80 -> C = 280/3 = 93.33
                         "S2": {"service": "satisfied", "conduct": "basic"},
                         # S3: the same answers as S2: equal composite and positive share
                         "S3": {"service": "satisfied", "conduct": "basic"},
                         # S4: conduct dissatisfied once -> conduct 50 -> C = (200+50)/3 = 83.33
                         "S4": {"service": "satisfied", "conduct": "dissatisfied"},
                         "S5": {"service": "basic", "conduct": "basic"}}),
    ]
    card = score(spec, ballots)
    # S1 100 (优秀), S2 = S3 = 93.33 (优秀, tie on composite and positive share: code decides),
    # S4 83.33 (良好), S5 60 (一般): 3 subjects hold 优秀, 2 may keep it: S1, S2
    assert card.row("S1")["grade"] == "优秀" and card.row("S2")["grade"] == "优秀"
    assert card.row("S3")["grade"] == "良好" and "capped" in card.flags_of("S3")
    assert card.row("S2")["rank"] == card.row("S3")["rank"] == 2
    assert card.row("S4")["rank"] == 4


def test_cap_keeps_the_higher_composite_whatever_the_code() -> None:
    from scoring.spec import parse_spec

    spec = parse_spec(five_subject_spec(0.2))  # floor(0.2·5) = 1 may keep 优秀
    ballots = [
        ("r1", "staff", {"S1": {"service": "satisfied", "conduct": "satisfied"},
                         "S2": {"service": "satisfied", "conduct": "satisfied"}}),
        ("r2", "staff", {"S1": {"service": "satisfied", "conduct": "satisfied"},
                         "S2": {"service": "satisfied", "conduct": "basic"}}),
        ("r3", "staff", {"S1": {"service": "satisfied", "conduct": "dissatisfied"}}),
        ("r4", "staff", {"S1": {"service": "satisfied", "conduct": "satisfied"},
                         "S3": {"service": "basic"}, "S4": {"service": "basic"}, "S5": {"service": "basic"}}),
    ]
    # S1: service 100; conduct (100+100+0+100)/4 = 75 -> C = (200+75)/3 = 91.67, positive (2+0.75)/3 = 0.9167
    # S2: service 100; conduct (100+60)/2 = 80 -> C = 93.33, positive 1
    card = score(spec, ballots)
    assert card.row("S2")["grade"] == "优秀"
    assert card.row("S1")["grade"] == "良好" and "capped" in card.flags_of("S1")


def test_cap_order_uses_positive_share_on_equal_composite() -> None:
    from scoring.spec import parse_spec

    spec = parse_spec(five_subject_spec(0.5))  # 2 graded subjects (S3–S5 have no ballots): 1 keeps
    # S1 and S2 both C = 96: S1 = 9 satisfied + 1 basic (positive share 1);
    # S2 = 24 satisfied + 1 dissatisfied (96, positive share 0.96): S1 keeps 优秀
    ballots = [(f"a{k}", "staff", same("satisfied", ["S1"])) for k in range(9)] + [("a9", "staff", same("basic", ["S1"]))]
    ballots += [(f"b{k}", "staff", same("satisfied", ["S2"])) for k in range(24)] + [("b24", "staff", same("dissatisfied", ["S2"]))]
    card = score(spec, ballots)
    assert card.row("S1")["composite"] == pytest.approx(card.row("S2")["composite"])
    assert card.row("S1")["grade"] == "优秀" and card.row("S2")["grade"] == "良好"
    assert "capped" in card.flags_of("S2") and "capped" not in card.flags_of("S1")


@pytest.mark.parametrize(("rounding", "kept"), [("floor", 1), ("round", 2)])
def test_cap_rounding(rounding: str, kept: int) -> None:
    from scoring.spec import parse_spec

    data = five_subject_spec(0.5, rounding)
    data["subjects"] = data["subjects"][:3]  # 0.5 × 3 = 1.5: floor 1, round half up 2
    spec = parse_spec(data)
    card = score(spec, [("r1", "staff", same("satisfied", ["S1", "S2", "S3"]))])
    assert list(card.table["grade"]).count("优秀") == kept


def test_rank_shares_equal_composites_and_skips() -> None:
    from scoring.rules import competition_rank

    assert competition_rank([90.0, 80.0, 80.0 + 5e-10, 70.0, None]) == [1, 2, 2, 4, None]
    assert competition_rank([50.0, 50.0, 50.0]) == [1, 1, 1]


def test_participation_flags_use_received_ballots() -> None:
    spec = make_spec(groups=[{"key": "staff", "name": "教职工", "weight": 0.6, "expected": 5},
                             {"key": "students", "name": "学生", "weight": 0.4, "expected": 1,
                              "subjects": ["B01"]}])
    # staff: 2 received of 5 = 0.4 < 0.5 (one ballot answered only 不了解: still received)
    # students: 2 of 1 = 2 > 1
    ballots = [("a1", "staff", same("basic", ["B01", "B02"])), ("a2", "staff", same("unknown")),
               ("b1", "students", same("basic")), ("b2", "students", same("basic"))]
    card = score(spec, ballots)
    assert {"low_participation:staff", "over_participation:students"} <= set(card.flags_of("B01"))
    assert "low_participation:staff" in card.flags_of("B02")
    assert "over_participation:students" not in card.flags_of("B02")  # students do not rate B02


def test_a_group_can_be_both_below_min_participation_and_above_one() -> None:
    """With min_participation 1.5, 4 ballots of 3 expected (133 %) are above 1 and below 1.5."""
    from scoring.summary import round_summary

    spec = make_spec({"min_participation": 1.5},
                     groups=[{"key": "staff", "name": "教职工", "weight": 1, "expected": 3}])
    ballots = [(f"a{n}", "staff", same("basic")) for n in range(4)]
    tallies = tally_answers(spec, answers_frame(ballots))
    card = build_scorecard(spec, tallies)
    assert {"low_participation:staff", "over_participation:staff"} <= set(card.flags_of("B01"))
    (staff,) = round_summary(spec, tallies, card)["groups"]
    assert staff["participation"] == 1.3333
    assert staff["participation_flags"] == ["low_participation", "over_participation"]


def test_uniform_ballots_excluded_when_asked() -> None:
    ballots = [
        ("u1", "staff", same("dissatisfied", ["B01", "B02"])),  # 4 answers, all the same: 废票
        ("u2", "staff", {"B01": {"service": "satisfied", "conduct": "satisfied"},
                         "B02": {"service": "satisfied", "conduct": "unknown"}}),  # 3 same + 不了解: 废票
        ("k1", "staff", {"B01": {"service": "dissatisfied", "conduct": "dissatisfied"}}),  # only 2: kept
        ("k2", "staff", {"B01": {"service": "basic", "conduct": "satisfied"}}),  # mixed: kept
    ]
    spec = make_spec({"uniform_ballots": "exclude"})
    tallies = tally_answers(spec, answers_frame(ballots))
    assert tallies.received == {"staff": 4, "students": 0}
    assert tallies.spoiled == {"staff": 2, "students": 0}
    row = build_scorecard(spec, tallies, None).row("B01")
    # counted: k1 (0, 0) and k2 (60, 100): service (0+60)/2 = 30, conduct (0+100)/2 = 50 -> (60+50)/3
    assert row["n_staff"] == 2 and row["public_score"] == pytest.approx(110 / 3)
    counted = score(make_spec(), ballots)  # default "count": every ballot counts
    assert counted.row("B01")["n_staff"] == 4


def test_anonymity_blanks_small_groups_and_one_complement() -> None:
    spec = make_spec({"display_min": 5}, groups=[
        {"key": "staff", "name": "教职工", "weight": 0.5}, {"key": "students", "name": "学生", "weight": 0.3},
        {"key": "retirees", "name": "离退休", "weight": 0.2}])
    ballots = ([(f"a{k}", "staff", same("satisfied")) for k in range(10)]
               + [(f"b{k}", "students", same("basic")) for k in range(7)]
               + [(f"c{k}", "retirees", same("dissatisfied")) for k in range(3)])
    card = score(spec, ballots)
    row = card.row("B01")
    # retirees n = 3 < 5: blanked; exactly one counted group is blanked, so the visible counted
    # group with the fewest ballots (students, 7) is blanked too: P − staff cannot reveal either
    assert math.isnan(row["score_retirees"]) and math.isnan(row["positive_share_retirees"])
    assert math.isnan(row["score_students"]) and math.isnan(row["positive_share_students"])
    assert row["score_staff"] == pytest.approx(100)
    assert row["n_retirees"] == 3 and row["n_students"] == 7  # n_<k> stays
    assert {"suppressed:retirees", "suppressed:students"} <= set(card.flags_of("B01"))
    assert "suppressed:staff" not in card.flags_of("B01")
    # the blanked groups still count: P = 0.5·100 + 0.3·60 + 0.2·0 = 68
    assert row["public_score"] == pytest.approx(68.0)
    text = card.formatted().set_index("subject").loc["B01"]
    assert text["score_retirees"] == "" and text["score_students"] == "" and text["n_retirees"] == "3"


def test_anonymity_complement_tie_goes_to_first_group_in_spec_order() -> None:
    spec = make_spec({"display_min": 5}, groups=[
        {"key": "staff", "name": "教职工", "weight": 0.5}, {"key": "students", "name": "学生", "weight": 0.3},
        {"key": "retirees", "name": "离退休", "weight": 0.2}])
    ballots = ([(f"a{k}", "staff", same("satisfied")) for k in range(6)]
               + [(f"b{k}", "students", same("basic")) for k in range(6)]
               + [(f"c{k}", "retirees", same("basic")) for k in range(2)])
    flags = set(score(spec, ballots).flags_of("B01"))
    assert {"suppressed:retirees", "suppressed:staff"} <= flags and "suppressed:students" not in flags


def test_anonymity_two_blanked_groups_need_no_complement() -> None:
    spec = make_spec({"display_min": 5}, groups=[
        {"key": "staff", "name": "教职工", "weight": 0.5}, {"key": "students", "name": "学生", "weight": 0.3},
        {"key": "retirees", "name": "离退休", "weight": 0.2}])
    ballots = ([(f"a{k}", "staff", same("satisfied")) for k in range(10)]
               + [(f"b{k}", "students", same("basic")) for k in range(4)]
               + [(f"c{k}", "retirees", same("basic")) for k in range(2)])
    flags = set(score(spec, ballots).flags_of("B01"))
    assert {"suppressed:retirees", "suppressed:students"} <= flags and "suppressed:staff" not in flags


def test_scorecard_depends_only_on_tallies() -> None:
    """The web service fills Tallies from SQL: counts and valid alone give the same numbers."""
    spec = make_spec()
    full = score(spec, HAND_BALLOTS)
    derived = tally_answers(spec, answers_frame(HAND_BALLOTS))
    bare = Tallies(counts=derived.counts.sample(frac=1, random_state=1), valid=derived.valid,
                   received=derived.received, spoiled=derived.spoiled)
    card = build_scorecard(spec, bare, None)
    for column in ("public_score", "positive_share", "score_staff", "n"):
        assert card.row("B01")[column] == pytest.approx(full.row("B01")[column])
    assert math.isnan(card.row("B01")["ci_low"])  # no ballot-level rows: no interval


def test_interval_is_reproducible_and_brackets_the_public_score() -> None:
    spec = make_spec()
    ballots = ([(f"a{k}", "staff", same("satisfied")) for k in range(30)]
               + [(f"b{k}", "staff", same("dissatisfied")) for k in range(10)]
               + [(f"c{k}", "students", same("basic")) for k in range(20)])
    first, second = score(spec, ballots).row("B01"), score(spec, ballots).row("B01")
    assert (first["ci_low"], first["ci_high"]) == (second["ci_low"], second["ci_high"])
    assert 0 <= first["ci_low"] < first["public_score"] < first["ci_high"] <= 100
    # every ballot alike in each group: nothing varies
    flat = score(spec, [(f"a{k}", "staff", same("basic")) for k in range(8)]).row("B01")
    assert flat["ci_low"] == pytest.approx(60) and flat["ci_high"] == pytest.approx(60)


def test_interval_matches_a_naive_ballot_bootstrap() -> None:
    """Pattern counts drawn multinomially = ballots drawn with replacement (checked in distribution)."""
    import numpy as np

    from scoring.intervals import public_interval
    from scoring.patterns import ballot_patterns

    spec = make_spec({"interval_resamples": 4000})
    rng = np.random.default_rng(5)
    levels = ["satisfied", "basic", "dissatisfied", "unknown"]
    ballots = [(f"r{k}", "staff" if k % 3 else "students",
                {"B01": {"service": levels[rng.integers(4)], "conduct": levels[rng.integers(3)]}})
               for k in range(60)]
    tallies = tally_answers(spec, answers_frame(ballots))
    low, high = public_interval(spec, ballot_patterns(spec, tallies.ballots), 0, [0, 1])
    # naive: resample ballot rows of each group, recompute P
    pts = {"satisfied": 100.0, "basic": 60.0, "dissatisfied": 0.0}
    groups = {g: [b for _, gg, b in ballots if gg == g] for g in ("staff", "students")}

    def group_score(sample: list) -> float:
        means = {}
        for item in ("service", "conduct"):
            xs = [pts[b["B01"][item]] for b in sample if b["B01"][item] in pts]
            if xs:
                means[item] = sum(xs) / len(xs)
        w = {"service": 2, "conduct": 1}
        return sum(w[i] * m for i, m in means.items()) / sum(w[i] for i in means)

    naive = []
    for _ in range(4000):
        gs = {g: group_score([bs[j] for j in rng.integers(0, len(bs), len(bs))]) for g, bs in groups.items()}
        naive.append(0.6 * gs["staff"] + 0.4 * gs["students"])
    n_low, n_high = np.quantile(naive, [0.025, 0.975])
    assert low == pytest.approx(n_low, abs=1.0) and high == pytest.approx(n_high, abs=1.0)


def test_interval_is_the_same_with_threads(monkeypatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from scoring import intervals

    monkeypatch.setattr(intervals, "PARALLEL_MIN_COST", 0)
    spec = make_spec()
    ballots = ([(f"a{k}", "staff", same(["satisfied", "basic", "dissatisfied"][k % 3], ["B01", "B02"])) for k in range(30)]
               + [(f"c{k}", "students", same(["basic", "dissatisfied"][k % 2], ["B01", "B02"])) for k in range(20)])
    tallies = tally_answers(spec, answers_frame(ballots))
    one = build_scorecard(spec, tallies, None).table
    with ThreadPoolExecutor(max_workers=2) as pool:
        two = build_scorecard(spec, tallies, None, executor=pool).table
    assert one["ci_low"].notna().all()
    pd.testing.assert_frame_equal(one, two)


def test_patterns_summed_densely_or_from_selected_rows_agree(monkeypatch) -> None:
    """The dense sum over all (ballot, subject) pairs and the fallback that first selects the
    counted rows give the same tallies: 不了解 answers and 废票 count in neither."""
    from scoring import patterns

    spec = make_spec({"uniform_ballots": "exclude"})
    ballots = HAND_BALLOTS + [
        ("u1", "staff", same("basic", ["B01", "B02"])),  # 4 × basic: a 废票
        ("u2", "students", {"B01": {"service": "unknown", "conduct": "unknown"},
                            "B02": {"service": "satisfied", "conduct": "unknown"}}),
        ("u3", "students", {"B02": {"service": "dissatisfied", "conduct": "satisfied"}}),
    ]
    calls: list[int] = []
    selecting = patterns.patterns_from_codes

    def spy(*args, **kwargs):
        calls.append(1)
        return selecting(*args, **kwargs)

    monkeypatch.setattr(patterns, "patterns_from_codes", spy)
    dense = tally_answers(spec, answers_frame(ballots))
    assert not calls
    monkeypatch.setattr(patterns, "DENSE_PAIRS", 0)
    monkeypatch.setattr(patterns, "DENSE_PAIRS_PER_ROW", 0)
    selected = tally_answers(spec, answers_frame(ballots))
    assert calls
    for name in ("subject", "group", "answers", "count"):
        assert getattr(dense.patterns, name).tolist() == getattr(selected.patterns, name).tolist()
    pd.testing.assert_frame_equal(dense.counts, selected.counts)
    pd.testing.assert_frame_equal(dense.valid, selected.valid)
    assert dense.spoiled == {"staff": 1, "students": 0}
    # r4 and u2 answer B01 with 不了解 only; u1 is a 废票
    valid = dense.valid
    assert dict(zip(zip(valid["subject"], valid["group"]), valid["n"])) == {
        ("B01", "staff"): 3, ("B01", "students"): 2, ("B02", "staff"): 0, ("B02", "students"): 2}
    b02 = dense.counts[dense.counts["subject"] == "B02"]
    assert sorted(zip(b02["item"], b02["answer"], b02["count"])) == [
        ("conduct", "satisfied", 1), ("service", "dissatisfied", 1), ("service", "satisfied", 1)]


def test_ballot_rows_alone_give_the_same_scorecard_as_tally_answers() -> None:
    """The web service passes ballot-level rows without the compressed patterns."""
    spec = make_spec()
    ballots = HAND_BALLOTS + [(f"x{k}", "staff", same(["satisfied", "basic"][k % 2], ["B01", "B02"])) for k in range(9)]
    derived = tally_answers(spec, answers_frame(ballots))
    web = Tallies(counts=derived.counts, valid=derived.valid, received=derived.received,
                  spoiled=derived.spoiled, ballots=answers_frame(ballots).query("answer != 'unknown'"))
    pd.testing.assert_frame_equal(build_scorecard(spec, derived, None).table,
                                  build_scorecard(spec, web, None).table)
