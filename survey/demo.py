"""The demo round of ``make run``: the built-in 创先争优 template (survey.rounds.builtin, in the
words of the Ministry of Education's 2012 work plan, item 16: 抓好群众评议; item 14: 群众满意度调查)
open from now, with four subjects."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from .rounds.builtin import example_spec
from .timefmt import BEIJING


def demo_spec(now: datetime | None = None) -> dict[str, Any]:
    """The demo round: open from now for thirty days, so that it can be answered at once."""
    now = (now or datetime.now(timezone.utc)).astimezone(BEIJING).replace(microsecond=0)
    spec = example_spec("branches")
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
