"""The built-in questionnaire template and the demo round, in the words of the Ministry of
Education's 2012 work plan for 创先争优 (item 16: 抓好群众评议; item 14: 群众满意度调查)."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

from .timefmt import BEIJING

#: the plan's five aims for party organizations, asked of every subject
TEMPLATE_ITEMS: list[dict[str, Any]] = [
    {"key": "development", "text": "推动科学发展：围绕中心、服务大局，推动教育事业科学发展", "weight": 1},
    {"key": "service", "text": "服务师生群众：深化为民服务，为师生办实事、解难题", "weight": 1.5},
    {"key": "conduct", "text": "改进工作作风：转变作风，密切联系师生群众", "weight": 1.5},
    {"key": "harmony", "text": "建设和谐校园：维护校园和谐稳定", "weight": 1},
    {"key": "organization", "text": "加强基层组织：增强创造力、凝聚力、战斗力", "weight": 1},
]

TEMPLATE: dict[str, Any] = {
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
PARTY_TEMPLATE: dict[str, Any] = {
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

TEMPLATES = {"branches": TEMPLATE, "party": PARTY_TEMPLATE}


def template_spec(kind: str = "branches") -> dict[str, Any]:
    """A round spec to start from: edit the subjects, groups and dates, keep the rest.
    ``kind``: ``branches`` (基层党组织群众评议) or ``party`` (党员民主评议)."""
    return copy.deepcopy(TEMPLATES[kind])


def demo_spec(now: datetime | None = None) -> dict[str, Any]:
    """The demo round: open from now for thirty days, so that it can be answered at once."""
    now = (now or datetime.now(timezone.utc)).astimezone(BEIJING).replace(microsecond=0)
    spec = template_spec()
    spec.update(
        slug="demo",
        title=f"{now.year}年教育系统创先争优群众评议（演示）",
        year=now.year,
        opens_at=(now - timedelta(minutes=5)).isoformat(),
        closes_at=(now + timedelta(days=30)).isoformat(),
        subjects=[
            {"code": "B01", "name": "计算机学院党总支",
             "commitment": "每月开放党员服务岗，为师生办实事不少于3件"},
            {"code": "B02", "name": "机关党委", "commitment": "首问负责、限时办结，师生办事“最多跑一次”"},
            {"code": "B03", "name": "学生工作部党支部"},
            {"code": "B04", "name": "后勤服务党支部", "commitment": "食堂、宿舍报修24小时内响应"},
        ],
    )
    return spec
