"""The scorecard said in Chinese words: what each flag means for this round, what a subject is
called (a 党员 in 党员民主评议, a 单位 otherwise), how rules read.

Flags in the files stay as SCORING.md fixes them (``review:2``, ``excluded:students``); pages
and reports show these words instead, built from the round's own spec so that ``review:2``
names the rule it stands for and ``excluded:students`` the group and the reason.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scoring.spec import Rule, RoundSpec


@dataclass(frozen=True)
class Vocabulary:
    subject: str  #: what one rated subject is called
    title: str  #: the name of the exercise


def vocabulary(spec: RoundSpec) -> Vocabulary:
    """党员民主评议 (scale ``party4``) rates party members; other rounds rate units or cadres."""
    name = spec.scale.name
    if name == "party4":
        return Vocabulary(subject="党员", title="党员民主评议")
    if name == "competence4":
        return Vocabulary(subject="干部", title="群众评议")
    return Vocabulary(subject="单位", title="群众评议")


def metric_words(spec: RoundSpec, metric: str) -> str:
    """A metric named by the levels of the round's scale, e.g. 「不满意」比例 or 「不合格」票比例."""
    levels = spec.scale.levels
    if metric == "positive_share":
        labels = [lv.label for lv in levels if lv.polarity == "positive"]
        return "「" + "、".join(labels) + "」比例"
    if metric == "negative_share":
        labels = [lv.label for lv in levels if lv.polarity == "negative"]
        return "「" + "、".join(labels) + "」比例"
    if metric == "top_share":
        top = max(levels, key=lambda lv: lv.points)
        return f"「{top.label}」比例"
    return {"public_score": "公众评分", "org_score": "组织评分", "composite": "综合得分",
            "annual_score": "年度得分"}.get(metric, metric)


def threshold_words(metric: str, value: float) -> str:
    """A threshold as people say it: shares as percentages (1/3 as 三分之一), scores as numbers."""
    if metric.endswith("share"):
        if abs(value - 1 / 3) < 0.0005:
            return "三分之一"
        if abs(value - 2 / 3) < 0.0005:
            return "三分之二"
        return f"{value * 100:.4g}%"
    return f"{value:g}分"


def rule_words(spec: RoundSpec, rule: Rule) -> str:
    """E.g. 「不满意」比例高于三分之一时，等次定为「较差」."""
    direction = "高于" if rule.direction == "above" else "低于"
    action = f"等次定为「{rule.target}」" if rule.action == "grade" else f"等次最高为「{rule.target}」"
    return f"{metric_words(spec, rule.metric)}{direction}{threshold_words(rule.metric, rule.threshold)}时，{action}"


def flag_words(spec: RoundSpec, flag: str) -> str:
    """One flag of a subject in words, for this round."""
    kind, _, arg = flag.partition(":")
    scheme = spec.scheme
    group = _group_name(spec, arg)
    if kind == "excluded":
        return (f"未计入{group}：该群体有效票少于{scheme.min_group_responses}张，"
                f"其权重按比例分给其余群体")
    if kind == "no_public":
        return "没有可计入的群体，无公众评分"
    if kind == "untrimmed":
        return f"组织评分人数不足{2 * scheme.org_trim + 1}人，未去掉最高分和最低分"
    if kind == "incomplete":
        return "缺少组织评分或公众评分，无综合得分、等次和排名"
    if kind == "review":
        try:
            rule = scheme.rules[int(arg) - 1]
        except (ValueError, IndexError):
            return f"第{arg}条规则触发，等次需评议委员会确认"
        return f"需复核：第{arg}条规则（{rule_words(spec, rule)}）触发，等次需评议委员会确认"
    if kind == "capped":
        cap = scheme.top_share_cap
        best = scheme.grades[0].grade if scheme.grades else "最高等次"
        second = scheme.grades[1].grade if len(scheme.grades) > 1 else "第二等次"
        share = f"{cap * 100:g}%" if cap is not None else ""
        return f"「{best}」名额已满（不超过{share}），降为「{second}」"
    if kind == "low_participation":
        return f"{group}参与率低于{scheme.min_participation * 100:g}%"
    if kind == "over_participation":
        return f"{group}收到的票数超过应参与人数"
    if kind == "suppressed":
        return f"{group}的分项数据不予显示（有效票少于{scheme.display_min}张，或为防止推算），仍计入公众评分"
    return flag


def flags_words(spec: RoundSpec, flags: list[str]) -> list[str]:
    return [flag_words(spec, f) for f in flags]


def _group_name(spec: RoundSpec, key: str) -> str:
    try:
        return spec.group(key).name
    except KeyError:
        return key


def is_empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
