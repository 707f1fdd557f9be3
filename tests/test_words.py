"""Flags said in Chinese words, from the round's own spec (survey.scorecard.words)."""

from __future__ import annotations

import copy

from scoring.spec import parse_spec
from survey.scorecard.words import flag_words, threshold_words, vocabulary

from .review_fixtures import SPEC


def spec_with(**scheme):  # noqa: ANN003, ANN201
    data = copy.deepcopy(SPEC)
    data["scheme"].update(scheme)
    return parse_spec(data, require_round=True)


def test_every_flag_reads_as_words() -> None:
    spec = spec_with(min_group_responses=5, org_trim=1, top_share_cap=0.2, min_participation=0.6,
                     rules=[{"metric": "positive_share", "below": 0.6, "at_most": "良好"},
                            {"metric": "negative_share", "above": 0.3333, "grade": "较差", "review": True}])
    assert flag_words(spec, "excluded:students") == "未计入学生：该群体有效票少于5张，其权重按比例分给其余群体"
    assert flag_words(spec, "review:2") == \
        "需复核：第2条规则（「不满意」比例高于三分之一时，等次定为「较差」）触发，等次需评议委员会确认"
    assert flag_words(spec, "no_public") == "没有可计入的群体，无公众评分"
    assert flag_words(spec, "untrimmed") == "组织评分人数不足3人，未去掉最高分和最低分"
    assert flag_words(spec, "incomplete") == "缺少组织评分或公众评分，无综合得分、等次和排名"
    assert flag_words(spec, "capped") == "「优秀」名额已满（不超过20%），降为「良好」"
    assert flag_words(spec, "low_participation:retirees") == "离退休同志参与率低于60%"
    assert flag_words(spec, "over_participation:staff") == "教职工收到的票数超过应参与人数"
    assert flag_words(spec, "suppressed:students").startswith("学生的分项数据不予显示（有效票少于3张")
    assert "「满意、基本满意」比例低于60%时，等次最高为「良好」" in flag_words(spec, "review:1")


def test_thresholds_and_vocabulary() -> None:
    assert threshold_words("negative_share", 1 / 3) == "三分之一"
    assert threshold_words("positive_share", 0.6) == "60%"
    assert threshold_words("public_score", 75) == "75分"
    assert vocabulary(spec_with()).subject == "单位"


def test_one_note_per_fact_never_contradicting() -> None:
    """A group left out of the public score and blanked is one note that says both (not
    "未计入…" beside "…仍计入公众评分"); flags of one kind about several groups are one note."""
    from survey.scorecard.words import flag_notes

    spec = spec_with(min_group_responses=5, min_participation=0.5)
    flags = ["excluded:retirees", "low_participation:staff", "suppressed:retirees", "low_participation:students",
             "low_participation:retirees", "suppressed:students", "low_participation:staff"]
    assert flag_notes(spec, flags) == [
        "未计入离退休同志：该群体有效票少于5张，其权重按比例分给其余群体；其分项数据也不予显示",
        "学生的分项数据不予显示（有效票少于3张，或为防止推算），仍计入公众评分",
        "教职工、学生、离退休同志参与率低于50%",
    ]
    both = flag_notes(spec, ["excluded:students", "excluded:retirees", "suppressed:retirees"])
    assert both == ["未计入学生、离退休同志：这些群体有效票少于5张，其权重按比例分给其余群体；离退休同志的分项数据也不予显示"]
    assert not any("仍计入" in n for n in flag_notes(spec, ["excluded:students", "suppressed:students"]))


def test_a_blanked_group_of_weight_zero_is_not_said_to_count() -> None:
    from survey.scorecard.words import flag_notes

    data = copy.deepcopy(SPEC)
    data["groups"][2]["weight"] = 0
    spec = parse_spec(data, require_round=True)
    assert flag_notes(spec, ["suppressed:retirees"]) == [
        "离退休同志的分项数据不予显示（有效票少于3张，或为防止推算）；该群体权重为0，不计入公众评分"]


def test_notes_every_row_shares_are_said_once() -> None:
    from survey.scorecard.words import common_notes

    common, own = common_notes([["甲", "乙"], ["乙", "丙"], ["乙"]])
    assert common == ["乙"] and own == [["甲"], ["丙"], []]
    assert common_notes([["甲"]]) == ([], [["甲"]])
