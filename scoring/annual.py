"""The annual assessment (年度考核): a round's scorecard merged with components scored elsewhere.

``annual.json`` names the components and their weights; a component given as
``{"from": COLUMN, "weight": w}`` is taken from the round's scorecard (``composite``,
``public_score``, ...), the others are columns of ``roster.csv``. For each roster subject,

    annual_score = Σ w_c·x_c / Σ w_c   over all components c,

empty (flagged ``missing:<c>``) when any component is missing. Grades, rules, the top-grade cap
and the rank then work as in the round (:mod:`scoring.rules`); rules may name a component,
``annual_score`` or any scorecard column, and the cap's tie order uses the scorecard's
``positive_share``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .io import atomic_path, read_roster, read_scorecard, write_csv_frame
from .rules import grade_all
from .scorecard import format_table
from .spec import GradeBand, Rule, SpecError, parse_grades, parse_rules
from .words import annual_notes, metric_words, rule_words


@dataclass(frozen=True)
class Component:
    """One part of the annual score: a roster column, or a scorecard column when ``source`` is set."""

    name: str
    weight: float
    source: str | None = None  #: scorecard column, for ``{"from": COLUMN}``


@dataclass(frozen=True)
class AnnualWeights:
    """A checked ``annual.json``."""

    components: tuple[Component, ...]
    grades: tuple[GradeBand, ...]
    rules: tuple[Rule, ...]
    top_share_cap: float | None = None
    top_share_rounding: str = "floor"
    path: str = "annual.json"


@dataclass(frozen=True)
class AnnualResult:
    """The merged table (``table``), the scorecard it used, the rules used and the scorecard
    rows of subjects not on the roster."""

    weights: AnnualWeights
    table: pd.DataFrame
    scorecard: pd.DataFrame
    rules_used: pd.DataFrame
    not_on_roster_rows: pd.DataFrame

    @property
    def not_on_roster(self) -> list[str]:
        return [str(s) for s in self.not_on_roster_rows["subject"]]


def _number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def parse_annual_weights(data: object, path: str = "annual.json") -> AnnualWeights:
    """Check a decoded ``annual.json``.

    Raises
    ------
    SpecError
        naming the field that is wrong.
    """
    if not isinstance(data, Mapping):
        raise SpecError("annual", "must be an object with components, grades, rules, top_share_cap")
    raw = data.get("components")
    if not isinstance(raw, Mapping) or not raw:
        raise SpecError("components", "must be an object {name: weight or {from, weight}}")
    components: list[Component] = []
    for name, entry in raw.items():
        where = f"components.{name}"
        if not isinstance(name, str) or not name.strip() or name in ("subject", "name"):
            raise SpecError(where, "component names must be non-empty and not 'subject' or 'name'")
        source = None
        if isinstance(entry, Mapping):
            source = entry.get("from")
            if not isinstance(source, str) or not source.strip():
                raise SpecError(f"{where}.from", "must name a scorecard column")
            weight = entry.get("weight", 1)
            unknown = set(entry) - {"from", "weight"}
            if unknown:
                raise SpecError(where, f"unknown field(s) {', '.join(sorted(unknown))}")
        else:
            weight = entry
        if not _number(weight) or weight < 0:
            raise SpecError(f"{where}{'.weight' if source else ''}", "weight must be a number ≥ 0")
        components.append(Component(name=name, weight=float(weight), source=source))
    if sum(c.weight for c in components) <= 0:
        raise SpecError("components", "at least one component must have a positive weight")
    grades = parse_grades(data.get("grades"), "grades")
    rules = parse_rules(data.get("rules"), grades, "rules", extra_metrics=None)
    cap = data.get("top_share_cap")
    if cap is not None:
        if not _number(cap) or not 0 <= cap <= 1:
            raise SpecError("top_share_cap", "must be a number from 0 to 1")
        if not grades:
            raise SpecError("top_share_cap", "needs grades")
        cap = float(cap)
    rounding = data.get("top_share_rounding", "floor")
    if rounding not in ("floor", "round"):
        raise SpecError("top_share_rounding", "must be 'floor' or 'round'")
    return AnnualWeights(components=tuple(components), grades=grades, rules=rules,
                         top_share_cap=cap, top_share_rounding=rounding, path=path)


def load_annual_weights(path: str | Path) -> AnnualWeights:
    """Read and check ``annual.json``; errors name the file and the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputError(path, None, f"cannot read: {exc.strerror}") from None
    from .input_limits import InputTooLarge, load_json_text

    try:
        data = load_json_text(text)
    except json.JSONDecodeError as exc:
        raise InputError(path, exc.lineno, f"not valid JSON: {exc.msg}") from None
    except InputTooLarge as exc:
        raise InputError(path, None, f"refused: the JSON is {exc}") from None
    try:
        return parse_annual_weights(data, str(path))
    except SpecError as exc:
        raise InputError(path, None, f"{exc.field}: {exc.message}") from None


def merge_annual(weights: AnnualWeights, roster_path: str | Path, scorecard_path: str | Path) -> AnnualResult:
    """Merge a round's scorecard into the annual assessment (see the module docstring).

    Raises
    ------
    InputError
        for a bad roster or scorecard, a ``from`` column the scorecard lacks, or a rule metric
        that is neither a component, ``annual_score`` nor a scorecard column.
    """
    own = [c.name for c in weights.components if c.source is None]
    roster = read_roster(roster_path, own)
    scorecard = read_scorecard(scorecard_path)
    for c in weights.components:
        if c.source is not None and c.source not in scorecard.columns:
            raise InputError(scorecard_path, 1, f"no column {c.source!r} (named by {weights.path} "
                                                f"components.{c.name}.from)")
    known = {c.name for c in weights.components} | {"annual_score"} | set(scorecard.columns)
    for place, rule in enumerate(weights.rules):
        if rule.metric not in known:
            raise InputError(weights.path, None, f"rules[{place}].metric: {rule.metric!r} is neither a "
                                                 f"component, annual_score nor a scorecard column")

    by_subject = {str(r["subject"]): r for r in scorecard.to_dict("records")}
    codes = [str(s) for s in roster["subject"]]
    values: dict[str, list[float]] = {c.name: [] for c in weights.components}
    scores: list[float] = []
    metrics: list[dict[str, float | None]] = []
    tiebreak: list[float | None] = []
    flags: list[list[str]] = []
    total = sum(c.weight for c in weights.components)
    for k, code in enumerate(codes):
        card = by_subject.get(code, {})
        row_flags: list[str] = []
        acc = 0.0
        for c in weights.components:
            raw = card.get(c.source, math.nan) if c.source else roster[c.name].iloc[k]
            x = _as_float(raw)
            values[c.name].append(x)
            if math.isnan(x):
                row_flags.append(f"missing:{c.name}")
            else:
                acc += c.weight * x
        score = math.nan if row_flags else acc / total
        scores.append(score)
        m: dict[str, float | None] = {col: _as_float(v) for col, v in card.items()
                                      if col not in ("subject", "name", "grade", "flags")}
        m.update({name: vals[k] for name, vals in values.items()})
        m["annual_score"] = score
        metrics.append(m)
        tiebreak.append(_as_float(card.get("positive_share", math.nan)))
        flags.append(row_flags)

    graded = grade_all(codes, scores, metrics, weights.grades, weights.rules, weights.top_share_cap,
                       weights.top_share_rounding, tiebreak)
    table = pd.DataFrame({"subject": codes, "name": [str(n) for n in roster["name"]]})
    for c in weights.components:
        table[c.name] = values[c.name]
    table["annual_score"] = scores
    table["grade"] = pd.Series(graded.grades, dtype=object)
    table["rank"] = pd.array(graded.ranks, dtype="Int64")
    table["flags"] = [";".join(f + g) for f, g in zip(flags, graded.flags)]
    table = table.assign(_unranked=table["rank"].isna(), _rank=table["rank"].fillna(0))
    table = table.sort_values(["_unranked", "_rank", "subject"], kind="stable")
    table = table.drop(columns=["_unranked", "_rank"]).reset_index(drop=True)

    on_roster = set(codes)
    extra = scorecard[~scorecard["subject"].astype(str).isin(on_roster)].reset_index(drop=True)
    return AnnualResult(weights=weights, table=table, scorecard=scorecard,
                        rules_used=rules_frame(weights), not_on_roster_rows=extra)


def _as_float(value: object) -> float:
    if value is None or value is pd.NA:
        return math.nan
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan


def rules_frame(weights: AnnualWeights) -> pd.DataFrame:
    """The settings used, one per row, in Chinese, for the workbook's ``规则`` sheet."""
    rows: list[tuple[str, str, str]] = []
    total = sum(c.weight for c in weights.components)
    for c in weights.components:
        source = f"取自本轮评议结果的「{metric_words(None, c.source)}」（{c.source}）" if c.source else "取自名册"
        rows.append(("组成部分", c.name, f"权重 {c.weight:g}（占年度得分的 {c.weight / total:.2%}），{source}"))
    rows.append(("计算方法", "年度得分", "各组成部分得分按权重加权平均（Σ 权重×得分 ÷ Σ 权重）；缺少任一组成部分则无年度得分"))
    for band in weights.grades:
        rows.append(("等次", band.grade, f"年度得分 ≥ {band.min:g}"))
    for place, rule in enumerate(weights.rules, start=1):
        rows.append((f"规则{place}", rule_words(None, rule), "触发时需考核委员会确认" if rule.review else ""))
    if weights.top_share_cap is not None:
        how = "向下取整" if weights.top_share_rounding == "floor" else "四舍五入"
        best = weights.grades[0].grade if weights.grades else "最高等次"
        rows.append(("名额上限", f"「{best}」不超过 {weights.top_share_cap * 100:g}%",
                     f"名额 = 有年度得分的人数 × {weights.top_share_cap * 100:g}%，{how}；按年度得分排序，名额以外的降为第二等次"))
    return pd.DataFrame(rows, columns=["类别", "名称", "设置"])


def _formats(result: AnnualResult) -> dict[str, str | None]:
    formats: dict[str, str | None] = {c.name: "0.00" for c in result.weights.components}
    formats.update(annual_score="0.00", rank="0")
    return formats


#: the merged table's fixed columns as the people's sheet heads them
ANNUAL_HEADERS = {"subject": "代码", "name": "名称", "annual_score": "年度得分", "grade": "等次", "rank": "名次",
                  "flags": "说明"}
#: the annual workbook's first sheet
PEOPLE_SHEET = "年度考核"


def people_table(result: AnnualResult) -> pd.DataFrame:
    """The merged table for people: 代码, 名称, the components, 年度得分, 等次, 名次 and 说明 (the
    flags in words, one note per line); numbers as numbers, empty where there is none."""
    w = result.weights
    table = result.table.drop(columns=["flags"]).copy()
    table["flags"] = ["\n".join(annual_notes(str(f).split(";"), w.grades, w.rules, w.top_share_cap))
                      for f in result.table["flags"]]
    return table.rename(columns=ANNUAL_HEADERS)


def formatted_people_table(result: AnnualResult) -> pd.DataFrame:
    """:func:`people_table` as text, as the console's preview shows it."""
    text = formatted_table(result)
    text["flags"] = people_table(result)["说明"].str.replace("\n", "；", regex=False)
    return text.rename(columns=ANNUAL_HEADERS)


def formatted_table(result: AnnualResult) -> pd.DataFrame:
    """The merged table as text: components and annual_score with 2 decimals, empty cells empty."""
    table = result.table.copy()
    text = format_table(table.drop(columns=[c.name for c in result.weights.components] + ["annual_score"]))
    for column in [c.name for c in result.weights.components] + ["annual_score"]:
        text[column] = ["" if math.isnan(v) else f"{v:.2f}" for v in np.asarray(table[column], dtype=float)]
    return text[list(table.columns)]


def write_annual(result: AnnualResult, path: str | Path) -> None:
    """``.csv``: the merged table alone (UTF-8 with BOM, the fixed columns). ``.xlsx``: for
    people first, ``年度考核`` (the merged table headed in Chinese, flags in words); then
    ``data`` (the merged table with the fixed columns, for programs), ``评议结果`` (the round's
    scorecard as read), ``规则`` (the settings used) and ``不在名册`` (scorecard subjects not on
    the roster)."""
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        write_csv_frame(formatted_table(result), path)
        return
    from .workbook import DATA_SHEET, add_table_sheet, new_book, people_frame

    book = new_book()
    formats = {ANNUAL_HEADERS.get(k, k): v for k, v in _formats(result).items()}
    add_table_sheet(book, PEOPLE_SHEET, people_table(result), formats=formats, freeze="C2")
    add_table_sheet(book, DATA_SHEET, result.table, formats=_formats(result), freeze="C2")
    frame, card_formats = people_frame(result.scorecard)
    add_table_sheet(book, "评议结果", frame, formats=card_formats, freeze="D2")
    add_table_sheet(book, "规则", result.rules_used, formats={})
    frame, card_formats = people_frame(result.not_on_roster_rows)
    add_table_sheet(book, "不在名册", frame, formats=card_formats, freeze="D2")
    with atomic_path(path) as tmp:
        book.save(tmp)
