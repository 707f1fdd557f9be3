"""The built-in round templates the console's builder starts from, in the words of the
documents that organizers know (the 2012 work plan for 创先争优; the usual forms of
机关满意度测评, 党员民主评议 and 干部测评). Each is a complete spec but for slug, title and year.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


#: the plan's five aims for party organizations, asked of every subject
TEMPLATE_ITEMS: list[dict[str, Any]] = [
    {"key": "development", "text": "推动科学发展：围绕中心、服务大局，推动教育事业科学发展", "weight": 1},
    {"key": "service", "text": "服务师生群众：深化为民服务，为师生办实事、解难题", "weight": 1.5},
    {"key": "conduct", "text": "改进工作作风：转变作风，密切联系师生群众", "weight": 1.5},
    {"key": "harmony", "text": "建设和谐校园：维护校园和谐稳定", "weight": 1},
    {"key": "organization", "text": "加强基层组织：增强创造力、凝聚力、战斗力", "weight": 1},
]

#: a whole example round of the 创先争优 template: ``rounds template`` prints it, the demo starts
#: from it
BRANCHES_EXAMPLE: dict[str, Any] = {
    "slug": "2026-branches",
    "title": "2026年基层党组织创先争优群众评议",
    "year": 2026,
    "opens_at": "2026-12-01T08:00:00+08:00",
    "closes_at": "2026-12-15T18:00:00+08:00",
    "scale": "satisfaction3",
    "subjects": [
        {"code": "B01", "name": "计算机学院党总支", "commitment": "每月开放党员服务岗，为师生办实事不少于3件"},
        {"code": "B02", "name": "机关党委"},
    ],
    "items": TEMPLATE_ITEMS,
    "groups": [
        {"key": "staff", "name": "教职工", "weight": 0.5, "access": "codes", "expected": 120},
        {"key": "students", "name": "学生", "weight": 0.3, "access": "open", "expected": 600},
        {"key": "retirees", "name": "离退休同志", "weight": 0.2, "access": "open", "expected": 40},
    ],
    "comments": True,
    "scheme": {
        "combine": {"organizational": 0.6, "public": 0.4},
        "org_trim": 1,
        "min_group_responses": 5,
        "uniform_ballots": "exclude",
        "grades": [
            {"grade": "优秀", "min": 90}, {"grade": "良好", "min": 80},
            {"grade": "一般", "min": 60}, {"grade": "较差", "min": 0},
        ],
        "rules": [
            {"metric": "negative_share", "above": 0.3333, "grade": "较差", "review": True},
            {"metric": "positive_share", "below": 0.6, "at_most": "良好"},
        ],
        "top_share_cap": 0.2,
    },
}


#: 党员民主评议 (democratic appraisal of party members): people are the subjects, the scale is
#: party4, and a member with more than one third 不合格 is graded 不合格 and flagged for the
#: branch to review, as the appraisal rules ask
MEMBERS_EXAMPLE: dict[str, Any] = {
    "slug": "2026-party-members",
    "title": "2026年度第一党支部党员民主评议",
    "year": 2026,
    "opens_at": "2026-12-20T08:00:00+08:00",
    "closes_at": "2026-12-25T18:00:00+08:00",
    "scale": "party4",
    "subjects": [
        {"code": "P0001", "name": "张明", "commitment": "带头开展师生志愿服务，每学期不少于2次"},
        {"code": "P0002", "name": "李华"},
    ],
    "items": [
        {"key": "political", "text": "政治合格：坚定理想信念，对党忠诚", "weight": 1},
        {"key": "discipline", "text": "执纪合格：严守党的纪律和规矩", "weight": 1},
        {"key": "conduct", "text": "品德合格：道德品行良好，作风正派", "weight": 1},
        {"key": "role", "text": "发挥作用合格：立足岗位作贡献，带头服务师生", "weight": 1},
    ],
    "groups": [
        {"key": "members", "name": "支部党员", "weight": 0.7, "access": "codes", "expected": 30},
        {"key": "masses", "name": "群众代表", "weight": 0.3, "access": "codes", "expected": 15},
    ],
    "comments": True,
    "scheme": {
        "min_group_responses": 3,
        "grades": [
            {"grade": "优秀", "min": 90}, {"grade": "合格", "min": 75},
            {"grade": "基本合格", "min": 60}, {"grade": "不合格", "min": 0},
        ],
        "rules": [
            {"metric": "negative_share", "above": 1 / 3, "grade": "不合格", "review": True},
        ],
    },
}

GRADES4 = [{"grade": "优秀", "min": 90}, {"grade": "良好", "min": 80}, {"grade": "一般", "min": 60}, {"grade": "较差", "min": 0}]
ONE_THIRD = 1 / 3


@dataclass(frozen=True)
class BuiltinTemplate:
    key: str
    name: str
    about: str
    spec: dict[str, Any]


def _without_round(template: dict[str, Any]) -> dict[str, Any]:
    """A demo template without what belongs to one round: slug, title, year, window."""
    spec = copy.deepcopy(template)
    for key in ("slug", "title", "year", "opens_at", "closes_at"):
        spec.pop(key, None)
    return spec


TEMPLATES: dict[str, BuiltinTemplate] = {
    t.key: t for t in [
        BuiltinTemplate(
            "branches", "基层党组织群众评议（创先争优）",
            "评议对象为各党组织；五个评议项目取自教育系统创先争优活动工作方案：推动科学发展、服务师生群众、"
            "改进工作作风、建设和谐校园、加强基层组织。满意／基本满意／不满意。",
            _without_round(BRANCHES_EXAMPLE),
        ),
        BuiltinTemplate(
            "offices", "机关部门群众满意度测评",
            "评议对象为机关职能部门，教职工和学生评价服务态度、办事效率、公开透明、廉洁自律和总体满意度。",
            {
                "scale": "satisfaction3",
                "subjects": [
                    {"code": "D01", "name": "党政办公室"}, {"code": "D02", "name": "组织部"},
                    {"code": "D03", "name": "人事处"}, {"code": "D04", "name": "教务处"}, {"code": "D05", "name": "财务处"},
                ],
                "items": [
                    {"key": "attitude", "text": "服务态度：热情周到，首问负责", "weight": 1},
                    {"key": "efficiency", "text": "办事效率：按时办结，不推诿扯皮", "weight": 1},
                    {"key": "openness", "text": "办事公开：程序规范，政策透明", "weight": 1},
                    {"key": "integrity", "text": "廉洁自律：秉公办事，不吃拿卡要", "weight": 1},
                    {"key": "overall", "text": "总体评价：对本部门工作的总体满意程度", "weight": 1},
                ],
                "groups": [
                    {"key": "staff", "name": "教职工", "weight": 0.6, "access": "codes", "expected": 200},
                    {"key": "students", "name": "学生代表", "weight": 0.4, "access": "open", "expected": 100},
                ],
                "comments": True,
                "scheme": {
                    "combine": {"organizational": 0, "public": 1}, "min_group_responses": 5,
                    "uniform_ballots": "exclude", "grades": GRADES4,
                    "rules": [{"metric": "negative_share", "above": ONE_THIRD, "grade": "较差"}],
                },
            },
        ),
        BuiltinTemplate(
            "members", "党员民主评议",
            "评议对象为党员本人；党员和群众代表按优秀／合格／基本合格／不合格（party4）评价。"
            "“不合格”票超过三分之一的党员定为不合格，交党支部审查。",
            _without_round(MEMBERS_EXAMPLE),
        ),
        BuiltinTemplate(
            "cadres", "干部测评（德能勤绩廉）",
            "评议对象为干部本人，可附述职报告；按优秀／称职／基本称职／不称职（competence4）评价德、能、勤、绩、廉。",
            {
                "scale": "competence4",
                "subjects": [
                    {"code": "C001", "name": "王五（教务处处长）", "report": "（在此粘贴述职报告）"},
                ],
                "items": [
                    {"key": "virtue", "text": "德：政治品质和道德品行", "weight": 1},
                    {"key": "ability", "text": "能：履行职责的业务素质和能力", "weight": 1},
                    {"key": "diligence", "text": "勤：工作态度和勤奋敬业精神", "weight": 1},
                    {"key": "performance", "text": "绩：工作实绩", "weight": 1.5},
                    {"key": "integrity", "text": "廉：廉洁自律", "weight": 1},
                ],
                "groups": [
                    {"key": "leaders", "name": "校领导", "weight": 0.3, "access": "codes", "expected": 10},
                    {"key": "cadres", "name": "中层干部", "weight": 0.4, "access": "codes", "expected": 60},
                    {"key": "staff", "name": "教职工代表", "weight": 0.3, "access": "codes", "expected": 80},
                ],
                "comments": True,
                "scheme": {
                    "combine": {"organizational": 0, "public": 1}, "min_group_responses": 3,
                    "grades": [{"grade": "优秀", "min": 90}, {"grade": "称职", "min": 75},
                               {"grade": "基本称职", "min": 60}, {"grade": "不称职", "min": 0}],
                    "rules": [{"metric": "negative_share", "above": ONE_THIRD, "grade": "不称职", "review": True}],
                    "top_share_cap": 0.2,
                },
            },
        ),
    ]
}


def template_spec(key: str, *, slug: str, title: str, year: int | None) -> dict[str, Any]:
    """A new spec from built-in template ``key`` with the round's own slug, title and year."""
    spec = copy.deepcopy(TEMPLATES[key].spec)
    spec.update(slug=slug, title=title)
    if year is not None:
        spec["year"] = year
    return spec


#: ``rounds template --kind party`` is the older name of the 党员民主评议 template
KIND_ALIASES = {"party": "members"}
EXAMPLES = {"branches": BRANCHES_EXAMPLE, "members": MEMBERS_EXAMPLE}


def example_spec(key: str) -> dict[str, Any]:
    """A whole example round of built-in template ``key`` (or an alias): slug, title, year and
    window included, for ``rounds template`` to print and an organizer to edit and import."""
    key = KIND_ALIASES.get(key, key)
    if key in EXAMPLES:
        return copy.deepcopy(EXAMPLES[key])
    year = BRANCHES_EXAMPLE["year"]
    spec = template_spec(key, slug=f"{year}-{key}", title=f"{year}年{TEMPLATES[key].name}", year=year)
    spec.update(opens_at=BRANCHES_EXAMPLE["opens_at"], closes_at=BRANCHES_EXAMPLE["closes_at"])
    return spec
