"""The annual merge (年度考核) in the console: a round's scorecard merged with a roster of
components scored elsewhere, by the scoring library's own ``merge_annual`` and ``write_annual``.

The console hands the library the same files the command line would: the uploaded roster as it
was uploaded (CSV in UTF-8 or GB18030, or xlsx: the library reads them all, under the upload's
own name), the round's ``scorecard.csv`` (the bytes ``flask score`` writes) and the weights from
the form as ``annual.json``'s dict. So the workbook downloaded here is the workbook ``python -m
scoring annual`` makes from the same inputs. Between the preview and the download the page keeps
the upload's very bytes (:func:`keep_roster`), so the download reads exactly what the preview read.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.annual import (
    AnnualResult,
    AnnualWeights,
    formatted_people_table,
    merge_annual,
    parse_annual_weights,
    write_annual,
)
from scoring.errors import InputError
from scoring.spec import SpecError

from ..errors import ServiceError
from ..input_words import chinese, where
from ..rounds.builder import chinese as spec_chinese
from ..scorecard.services import RoundResults, scorecard_csv

ROSTER_MAX_BYTES = 2 * 1024 * 1024


class AnnualRefused(ServiceError):
    """An upload or a setting the annual merge cannot use; the message says which and why."""


@dataclass(frozen=True)
class ComponentSetting:
    name: str
    weight: float
    source: str | None = None  #: a scorecard column (composite, public_score, ...) or None: a roster column


def weights_from_settings(components: Sequence[ComponentSetting], grades: Sequence[tuple[str, float]],
                          rules: Sequence[dict[str, Any]] = (), top_share_cap: float | None = None) -> AnnualWeights:
    """``annual.json`` from the form's fields, checked by the library."""
    data: dict[str, Any] = {
        "components": {c.name: ({"from": c.source, "weight": c.weight} if c.source else c.weight) for c in components},
        "grades": [{"grade": g, "min": m} for g, m in grades],
        "rules": list(rules),
    }
    if top_share_cap is not None:
        data["top_share_cap"] = top_share_cap
    try:
        return parse_annual_weights(data, "设置")
    except SpecError as exc:
        raise AnnualRefused(f"设置有误：{_setting_words(exc)}") from None


#: the annual settings' own messages (grades and rules are worded as in the round builder)
_SETTING_WORDS = [
    (r"^weight must be a number ≥ 0$", "权重应为不小于 0 的数"),
    (r"^at least one component must have a positive weight$", "至少一个组成部分的权重应大于 0"),
    (r"^component names must be non-empty and not 'subject' or 'name'$", "组成部分的名称不能是 subject 或 name"),
    (r"^must name a scorecard column$", "应为评议结果中的一项"),
    (r"^must be a number from 0 to 1$", "应为 0 到 100% 之间"),
    (r"^needs grades$", "需要先设定等次分数线"),
]


def _setting_words(exc: SpecError) -> str:
    """A settings error in words: which component or grade line, and what is wrong."""
    field = exc.field
    found = re.match(r"components\.([^.]+)", field)
    place = f"组成部分“{found[1]}”：" if found else {"grades": "等次分数线：", "top_share_cap": "优秀比例上限：",
                                                   "components": "组成部分："}.get(field.split("[")[0], "")
    for pattern, words in _SETTING_WORDS:
        if re.match(pattern, exc.message):
            return place + words
    return place + spec_chinese(exc.message)


def weights_json(weights: AnnualWeights) -> str:
    """The settings as ``annual.json`` text, to show and to reuse on the command line."""
    data: dict[str, Any] = {
        "components": {c.name: ({"from": c.source, "weight": c.weight} if c.source else c.weight)
                       for c in weights.components},
        "grades": [{"grade": g.grade, "min": g.min} for g in weights.grades],
        "rules": [{"metric": r.metric, r.direction: r.threshold, r.action: r.target, **({"review": True} if r.review else {})}
                  for r in weights.rules],
    }
    if weights.top_share_cap is not None:
        data["top_share_cap"] = weights.top_share_cap
    return json.dumps(data, ensure_ascii=False, indent=2)


def keep_roster(data: bytes) -> str:
    """The uploaded roster as text for the page to send back with the download: its bytes,
    untouched (base64), whatever their encoding."""
    return base64.b64encode(data).decode("ascii")


def kept_roster(text: str) -> bytes:
    """The roster bytes :func:`keep_roster` kept."""
    if len(text) > ROSTER_MAX_BYTES * 4 // 3 + 4:
        raise AnnualRefused("名册文件太大（不超过 2 MB）")
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise AnnualRefused("已上传的名册无法读取，请重新选择文件") from None


def roster_suffix(filename: str) -> str:
    """How the library is to read an upload: ``.xlsx`` for a workbook, else ``.csv``."""
    return ".xlsx" if filename.lower().endswith(".xlsx") else ".csv"


def merge(results: RoundResults, roster: bytes, filename: str, weights: AnnualWeights) -> AnnualResult:
    """Merge the round's scorecard with the roster as uploaded (``filename`` says whether it
    is a workbook); errors name the uploaded file and line, in Chinese."""
    if len(roster) > ROSTER_MAX_BYTES:
        raise AnnualRefused("名册文件太大（不超过 2 MB）")
    with tempfile.TemporaryDirectory(prefix="annual-") as folder:
        roster_path = Path(folder) / f"roster{roster_suffix(filename)}"
        scorecard_path = Path(folder) / "scorecard.csv"
        roster_path.write_bytes(roster)
        scorecard_path.write_bytes(scorecard_csv(results.scorecard))
        try:
            return merge_annual(weights, roster_path, scorecard_path)
        except InputError as exc:
            name = {str(roster_path): filename, str(scorecard_path): "scorecard.csv"}.get(exc.path, "设置")
            raise AnnualRefused(f"{where(name, exc.line)}：{chinese(exc.message)}") from None


def annual_xlsx(result: AnnualResult) -> bytes:
    """The workbook ``python -m scoring annual --out annual.xlsx`` writes, as bytes."""
    with tempfile.TemporaryDirectory(prefix="annual-") as folder:
        path = Path(folder) / "annual.xlsx"
        write_annual(result, path)
        return path.read_bytes()


def preview(result: AnnualResult) -> list[dict[str, str]]:
    """The merged table as the workbook's first sheet heads it (代码, 名称 … 说明, flags in
    words), as text, for the preview page."""
    return formatted_people_table(result).to_dict("records")
