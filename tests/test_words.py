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
