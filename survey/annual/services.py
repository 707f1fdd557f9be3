"""The annual merge (年度考核) in the console: a round's scorecard merged with a roster of
components scored elsewhere, by the scoring library's own ``merge_annual`` and ``write_annual``.

The console hands the library the same files the command line would: the uploaded roster (an
xlsx roster is first written out as the CSV the library reads), the round's ``scorecard.csv``
(the bytes ``flask score`` writes) and the weights from the form as ``annual.json``'s dict. So
the workbook downloaded here is the workbook ``python -m scoring annual`` makes from the same
inputs.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scoring.annual import AnnualResult, AnnualWeights, formatted_table, merge_annual, parse_annual_weights, write_annual
from scoring.errors import InputError
from scoring.spec import SpecError

from ..errors import ServiceError
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
        raise AnnualRefused(f"设置有误：{exc}") from None


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


def roster_csv(data: bytes, filename: str) -> bytes:
    """The uploaded roster as CSV bytes: an ``.xlsx`` roster's first sheet written out as CSV,
    a CSV passed on as it is."""
    if len(data) > ROSTER_MAX_BYTES:
        raise AnnualRefused("名册文件太大（不超过 2 MB）")
    if not filename.lower().endswith(".xlsx"):
        return data
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a file that is not a workbook
        raise AnnualRefused(f"{filename}: 不是有效的 xlsx 文件") from None
    sheet = book.worksheets[0]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in sheet.iter_rows(values_only=True):
        if row is None or all(v is None or str(v).strip() == "" for v in row):
            continue
        writer.writerow(["" if v is None else _cell_text(v) for v in row])
    book.close()
    return out.getvalue().encode("utf-8")


def _cell_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def merge(results: RoundResults, roster: bytes, filename: str, weights: AnnualWeights) -> AnnualResult:
    """Merge the round's scorecard with the roster; errors name the uploaded file and line."""
    with tempfile.TemporaryDirectory(prefix="annual-") as folder:
        roster_path = Path(folder) / "roster.csv"
        scorecard_path = Path(folder) / "scorecard.csv"
        roster_path.write_bytes(roster_csv(roster, filename))
        scorecard_path.write_bytes(scorecard_csv(results.scorecard))
        try:
            return merge_annual(weights, roster_path, scorecard_path)
        except InputError as exc:
            where = {str(roster_path): filename, str(scorecard_path): "scorecard.csv"}.get(exc.path, exc.path)
            line = f" 第{exc.line}行" if exc.line is not None else ""
            raise AnnualRefused(f"{where}{line}: {exc.message}") from None


def annual_xlsx(result: AnnualResult) -> bytes:
    """The workbook ``python -m scoring annual --out annual.xlsx`` writes, as bytes."""
    with tempfile.TemporaryDirectory(prefix="annual-") as folder:
        path = Path(folder) / "annual.xlsx"
        write_annual(result, path)
        return path.read_bytes()


def preview(result: AnnualResult) -> list[dict[str, str]]:
    """The merged table as the CSV would show it (text cells), for the preview page."""
    return formatted_table(result).to_dict("records")
