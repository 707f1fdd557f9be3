"""Results said in Chinese words, for the people who read them.

Pages, PDFs and the first sheet of every workbook are read by a 党委 or a committee: there a
flag such as ``excluded:retirees`` becomes a sentence built from the round's own spec (the
group's name, the threshold it missed), ``review:2`` names the rule it stands for, and a column
such as ``public_score`` is headed 公众评分. The files for programs (``scorecard.csv``,
``summary.json``, ``annual.csv`` and the workbooks' ``data`` sheets) keep the fixed keys of
docs/scoring.md.

One fact, one note: :func:`flag_notes` turns a subject's flags into sentences that never repeat
one another (three groups below the participation minimum are one sentence naming the three)
and never contradict one another (a group both left out of the public score and blanked gets one
note that says both, not "未计入" beside "仍计入").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .spec import GradeBand, Rule, RoundSpec


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


#: metrics that are not shares, as people name them
METRIC_NAMES = {"public_score": "公众评分", "org_score": "组织评分", "composite": "综合得分",
                "annual_score": "年度得分", "n": "有效票"}
#: shares, when the scale's level labels are not at hand (the annual merge reads a CSV only)
SHARE_NAMES = {"positive_share": "正面评价比例", "top_share": "最高档比例", "negative_share": "负面评价比例"}


def metric_words(spec: RoundSpec | None, metric: str) -> str:
    """A metric named by the levels of the round's scale, e.g. 「不满意」比例 or 「不合格」票比例;
    without a spec, by its general name (正面评价比例)."""
    if spec is not None and metric in SHARE_NAMES:
        levels = spec.scale.levels
        if metric == "top_share":
            labels = [max(levels, key=lambda lv: lv.points).label]
        else:
            polarity = "positive" if metric == "positive_share" else "negative"
            labels = [lv.label for lv in levels if lv.polarity == polarity]
        return "「" + "、".join(labels) + "」比例"
    return SHARE_NAMES.get(metric) or METRIC_NAMES.get(metric, metric)


def threshold_words(metric: str, value: float) -> str:
    """A threshold as people say it: shares as percentages (1/3 as 三分之一), scores as numbers."""
    if metric.endswith("share"):
        if abs(value - 1 / 3) < 0.0005:
            return "三分之一"
        if abs(value - 2 / 3) < 0.0005:
            return "三分之二"
        return f"{value * 100:.4g}%"
    return f"{value:g}分"


def rule_words(spec: RoundSpec | None, rule: Rule) -> str:
    """E.g. 「不满意」比例高于三分之一时，等次定为「较差」."""
    direction = "高于" if rule.direction == "above" else "低于"
    action = f"等次定为「{rule.target}」" if rule.action == "grade" else f"等次最高为「{rule.target}」"
    return f"{metric_words(spec, rule.metric)}{direction}{threshold_words(rule.metric, rule.threshold)}时，{action}"


def join_names(names: Sequence[str]) -> str:
    """教职工、学生和离退休同志 as a list is said: 教职工、学生、离退休同志."""
    return "、".join(names)


def _group_name(spec: RoundSpec | None, key: str) -> str:
    if spec is None:
        return key
    try:
        return spec.group(key).name
    except KeyError:
        return key


def _review_note(rules: Sequence[Rule], arg: str, spec: RoundSpec | None, who: str = "评议委员会") -> str:
    try:
        rule = rules[int(arg) - 1]
    except (ValueError, IndexError):
        return f"第{arg}条规则触发，等次需{who}确认"
    return f"需复核：第{arg}条规则（{rule_words(spec, rule)}）触发，等次需{who}确认"


def _capped_note(grades: Sequence[GradeBand], cap: float | None) -> str:
    best = grades[0].grade if grades else "最高等次"
    second = grades[1].grade if len(grades) > 1 else "第二等次"
    share = f"（不超过{cap * 100:g}%）" if cap is not None else ""
    return f"「{best}」名额已满{share}，降为「{second}」"


def flag_words(spec: RoundSpec, flag: str) -> str:
    """One flag on its own, in words, for this round (the workbooks' list of flags)."""
    return flag_notes(spec, [flag])[0] if flag else ""


def flag_notes(spec: RoundSpec | None, flags: Iterable[str]) -> list[str]:
    """A subject's flags as notes for people: one sentence per fact, none repeated.

    Flags of one kind about several groups make one sentence naming the groups; a group both
    left out of the public score (``excluded``) and blanked (``suppressed``) gets one note saying
    both; a blanked group that still counts is said to count, one of weight 0 is said not to.
    Without a spec (a scorecard read from its CSV), groups are named by their keys and the
    thresholds are left out.
    """
    seen: dict[str, list[str]] = {}
    unknown: list[str] = []
    for flag in flags:
        if not flag:
            continue
        kind, _, arg = flag.partition(":")
        if kind in _KINDS:
            if arg not in seen.setdefault(kind, []):
                seen[kind].append(arg)
        elif flag not in unknown:
            unknown.append(flag)
    scheme = spec.scheme if spec is not None else None
    names = lambda keys: join_names([_group_name(spec, k) for k in keys])  # noqa: E731
    notes: list[str] = []

    excluded = seen.get("excluded", [])
    suppressed = seen.get("suppressed", [])
    if excluded:
        few = f"有效票少于{scheme.min_group_responses}张" if scheme else "有效票过少"
        this = "该群体" if len(excluded) == 1 else "这些群体"
        text = f"未计入{names(excluded)}：{this}{few}，其权重按比例分给其余群体"
        hidden = [g for g in excluded if g in suppressed]
        if hidden == excluded:
            text += "；其分项数据也不予显示"
        elif hidden:
            text += f"；{names(hidden)}的分项数据也不予显示"
        notes.append(text)
    if "no_public" in seen:
        notes.append("没有可计入的群体，无公众评分")
    if "untrimmed" in seen:
        few = f"不足{2 * scheme.org_trim + 1}人" if scheme else "不足"
        notes.append(f"组织评分人数{few}，未去掉最高分和最低分")
    if "incomplete" in seen:
        notes.append("缺少组织评分或公众评分，无综合得分、等次和排名")
    for arg in seen.get("review", []):
        notes.append(_review_note(scheme.rules if scheme else (), arg, spec))
    if "capped" in seen:
        notes.append(_capped_note(scheme.grades if scheme else (), scheme.top_share_cap if scheme else None))
    blanked = [g for g in suppressed if g not in excluded]
    if blanked:
        why = f"（有效票少于{scheme.display_min}张，或为防止推算）" if scheme else "（人数少，保护匿名）"
        weightless = [g for g in blanked if spec is not None and _weight(spec, g) == 0]
        counted = [g for g in blanked if g not in weightless]
        if counted:
            notes.append(f"{names(counted)}的分项数据不予显示{why}，仍计入公众评分")
        if weightless:
            this = "该群体" if len(weightless) == 1 else "这些群体"
            notes.append(f"{names(weightless)}的分项数据不予显示{why}；{this}权重为0，不计入公众评分")
    if "low_participation" in seen:
        floor = f"{scheme.min_participation * 100:g}%" if scheme else "规定比例"
        notes.append(f"{names(seen['low_participation'])}参与率低于{floor}")
    if "over_participation" in seen:
        notes.append(f"{names(seen['over_participation'])}收到的票数超过应参与人数")
    return notes + unknown


_KINDS = ("excluded", "no_public", "untrimmed", "incomplete", "review", "capped", "suppressed",
          "low_participation", "over_participation")


def _weight(spec: RoundSpec, key: str) -> float | None:
    try:
        return spec.group(key).weight
    except KeyError:
        return None


def annual_notes(flags: Iterable[str], grades: Sequence[GradeBand], rules: Sequence[Rule],
                 cap: float | None) -> list[str]:
    """An annual merge's flags (``missing:<component>``, ``review:<n>``, ``capped``) as notes."""
    missing: list[str] = []
    notes: list[str] = []
    for flag in dict.fromkeys(f for f in flags if f):
        kind, _, arg = flag.partition(":")
        if kind == "missing":
            missing.append(f"「{arg}」")
        elif kind == "review":
            notes.append(_review_note(rules, arg, None, "考核委员会"))
        elif kind == "capped":
            notes.append(_capped_note(grades, cap))
        else:
            notes.append(flag)
    if missing:
        notes.insert(0, f"缺少{join_names(missing)}得分，无年度得分、等次和名次")
    return notes


def common_notes(rows: Sequence[Sequence[str]]) -> tuple[list[str], list[list[str]]]:
    """Notes every row of a table shares, said once above it, and each row's own notes.

    A round whose staff turned out below the minimum flags every subject the staff rate; in a
    table of all subjects that is one line above the table, not the same line under each row.
    With fewer than two rows nothing is common.
    """
    if len(rows) < 2:
        return [], [list(r) for r in rows]
    shared = [note for note in rows[0] if all(note in r for r in rows[1:])]
    return shared, [[note for note in r if note not in shared] for r in rows]


def is_empty(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


#: the scorecard's columns as the people's sheet orders them (group columns follow, then 说明)
PEOPLE_COLUMNS = ("rank", "subject", "name", "grade", "composite", "public_score", "ci_low", "ci_high",
                  "org_score", "org_raters", "n", "positive_share", "top_share", "negative_share")


def scorecard_headers(spec: RoundSpec | None, columns: Iterable[str]) -> dict[str, str]:
    """Chinese headings of scorecard columns: 排名, 代码, 单位, 等次, 综合得分 …, per group
    「教职工有效票」, 「教职工得分」, 「教职工正面评价比例」; ``flags`` is 说明."""
    fixed = {
        "subject": "代码", "name": vocabulary(spec).subject if spec is not None else "名称", "n": "有效票",
        "public_score": "公众评分", "positive_share": "正面评价比例",
        "top_share": metric_words(spec, "top_share"), "negative_share": "负面评价比例",
        "org_score": "组织评分", "org_raters": "组织评分人数", "composite": "综合得分", "grade": "等次",
        "rank": "排名", "ci_low": "95%区间下限", "ci_high": "95%区间上限", "flags": "说明",
    }
    out: dict[str, str] = {}
    for column in columns:
        if column in fixed:
            out[column] = fixed[column]
            continue
        for prefix, what in (("n_", "有效票"), ("score_", "得分"), ("positive_share_", "正面评价比例")):
            if column.startswith(prefix):
                out[column] = f"{_group_name(spec, column[len(prefix):])}{what}"
                break
        else:
            out[column] = column
    return out
