"""Small specs and ballots for the scoring tests, written out so that a reader can follow them."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from scoring.scorecard import Scorecard, build_scorecard
from scoring.spec import RoundSpec, parse_spec
from scoring.tallies import tally_answers

#: two subjects, two items (service counts twice), two groups; satisfaction3:
#: satisfied 100 (+), basic 60 (+), dissatisfied 0 (−)
BASE_SPEC: dict[str, Any] = {
    "slug": "t2012",
    "title": "测试评议",
    "scale": "satisfaction3",
    "subjects": [{"code": "B01", "name": "计算机学院党总支"}, {"code": "B02", "name": "机关第一党支部"}],
    "items": [{"key": "service", "text": "服务师生", "weight": 2}, {"key": "conduct", "text": "作风建设", "weight": 1}],
    "groups": [{"key": "staff", "name": "教职工", "weight": 0.6}, {"key": "students", "name": "学生", "weight": 0.4}],
    "scheme": {"display_min": 1},
}

#: (response_id, group, {subject: {item: answer}})
Ballot = tuple[str, str, Mapping[str, Mapping[str, str]]]


def spec_dict(scheme: Mapping[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """BASE_SPEC with ``scheme`` entries and top-level fields replaced."""
    data = copy.deepcopy(BASE_SPEC)
    data["scheme"].update(scheme or {})
    data.update(copy.deepcopy(top))
    return data


def make_spec(scheme: Mapping[str, Any] | None = None, **top: Any) -> RoundSpec:
    return parse_spec(spec_dict(scheme, **top))


def answers_frame(ballots: Sequence[Ballot]) -> pd.DataFrame:
    rows = [(rid, group, subject, item, answer)
            for rid, group, by_subject in ballots
            for subject, by_item in by_subject.items()
            for item, answer in by_item.items()]
    return pd.DataFrame(rows, columns=["response_id", "group", "subject", "item", "answer"])


def same(answer: str, subjects: Sequence[str] = ("B01",), items: Sequence[str] = ("service", "conduct")) -> dict[str, dict[str, str]]:
    """The same answer to every item of the given subjects."""
    return {s: {i: answer for i in items} for s in subjects}


def score(spec: RoundSpec, ballots: Sequence[Ballot], org: pd.DataFrame | None = None) -> Scorecard:
    return build_scorecard(spec, tally_answers(spec, answers_frame(ballots)), org)


def org_frame(rows: Sequence[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["subject", "rater", "score"]).astype({"score": float})


def write_round(folder: Path, spec: Mapping[str, Any], ballots: Sequence[Ballot],
                org: Sequence[tuple[str, str, float]] | None = None) -> dict[str, Path]:
    """spec.json, answers.csv (and org.csv) in ``folder``; returns their paths."""
    paths = {"spec": folder / "spec.json", "answers": folder / "answers.csv"}
    paths["spec"].write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    answers_frame(ballots).to_csv(paths["answers"], index=False, encoding="utf-8")
    if org is not None:
        paths["org"] = folder / "org.csv"
        org_frame(org).to_csv(paths["org"], index=False, encoding="utf-8-sig")
    return paths
