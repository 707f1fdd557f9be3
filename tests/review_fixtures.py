"""Closed rounds with known ballots, for the reviewer pages, reports and their services.

Ballots are written straight into the tables (the questionnaire's own tests cover how they
get there); the round is then closed through the service, as ``flask rounds close`` does.

The round ``SPEC`` (display_min 3): subject B01 is rated by staff (4 ballots), students (2)
and retirees (3). Students fall under display_min, so they are blanked; being the only
counted group blanked, the visible counted group with the fewest ballots, retirees, is blanked
too (rule 12's complementary blanking). B02 is rated by staff alone.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

SPEC: dict[str, Any] = {
    "slug": "y2025",
    "title": "2025年基层党组织群众评议",
    "year": 2025,
    "scale": "satisfaction3",
    "subjects": [
        {"code": "B01", "name": "计算机学院党总支", "commitment": "为师生办实事不少于3件"},
        {"code": "B02", "name": "机关党委"},
    ],
    "items": [
        {"key": "service", "text": "服务师生", "weight": 1},
        {"key": "conduct", "text": "工作作风", "weight": 2},
    ],
    "groups": [
        {"key": "staff", "name": "教职工", "weight": 0.5, "access": "codes", "expected": 8},
        {"key": "students", "name": "学生", "weight": 0.3, "access": "open", "expected": 4, "subjects": ["B01"]},
        {"key": "retirees", "name": "离退休同志", "weight": 0.2, "access": "open", "expected": 6, "subjects": ["B01"]},
    ],
    "comments": True,
    "scheme": {
        "display_min": 3,
        "grades": [{"grade": "优秀", "min": 90}, {"grade": "良好", "min": 70},
                   {"grade": "一般", "min": 50}, {"grade": "较差", "min": 0}],
        "rules": [{"metric": "negative_share", "above": 0.2, "at_most": "一般", "review": True}],
        "interval_resamples": 1000,
    },
}

S, B, D, U = "satisfied", "basic", "dissatisfied", "unknown"

#: (group, {(subject, item): level}) per ballot
BALLOTS: list[tuple[str, dict[tuple[str, str], str]]] = [
    ("staff", {("B01", "service"): S, ("B01", "conduct"): S, ("B02", "service"): S, ("B02", "conduct"): B}),
    ("staff", {("B01", "service"): B, ("B01", "conduct"): D, ("B02", "service"): D, ("B02", "conduct"): D}),
    ("staff", {("B01", "service"): S, ("B01", "conduct"): U, ("B02", "service"): B, ("B02", "conduct"): S}),
    ("staff", {("B01", "service"): U, ("B01", "conduct"): B, ("B02", "service"): S, ("B02", "conduct"): S}),
    ("students", {("B01", "service"): S, ("B01", "conduct"): S}),
    ("students", {("B01", "service"): D, ("B01", "conduct"): B}),
    ("retirees", {("B01", "service"): S, ("B01", "conduct"): S}),
    ("retirees", {("B01", "service"): S, ("B01", "conduct"): S}),
    ("retirees", {("B01", "service"): B, ("B01", "conduct"): B}),
]

COMMENTS = [("B01", "staff", "希望多开展师生座谈"), ("B01", "students", "食堂饭菜太贵"),
            ("B02", "staff", "办事效率有提高")]


def spec_for(slug: str, year: int, **changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(SPEC)
    spec.update(slug=slug, year=year, title=f"{year}年基层党组织群众评议", **changes)
    return spec


def cast_ballots(round_, ballots, comments=()) -> None:  # noqa: ANN001
    """Store ballots and comments for an open round and commit."""
    from survey.database import unit_of_work
    from survey.extensions import db
    from survey.models import Answer, Ballot, Comment, random_id

    subjects = {s.code: s.id for s in round_.subjects}
    items = {i.key: i.id for i in round_.items}
    groups = {g.key: g.id for g in round_.groups}
    with unit_of_work():
        for group, answers in ballots:
            ballot = Ballot(id=random_id(), round_id=round_.id, group_id=groups[group],
                            cast_on=date(2025, 12, 1))
            db.session.add(ballot)
            db.session.flush()
            for (subject, item), level in answers.items():
                db.session.add(Answer(ballot_id=ballot.id, subject_id=subjects[subject],
                                      item_id=items[item], level=level))
        for subject, group, text in comments:
            db.session.add(Comment(round_id=round_.id, subject_id=subjects[subject],
                                   group_id=groups[group], text=text))


def closed_round(make_round, spec: dict[str, Any] | None = None, ballots=None, comments=None):  # noqa: ANN001, ANN201
    """A round made from ``spec`` (default ``SPEC``), given ballots and comments, then closed."""
    from survey.database import unit_of_work
    from survey.rounds.services import close_round

    round_ = make_round(spec or SPEC, status="open")
    cast_ballots(round_, BALLOTS if ballots is None else ballots, COMMENTS if comments is None else comments)
    with unit_of_work():
        close_round(round_)
    return round_
