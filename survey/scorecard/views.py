"""What the scorecard pages show, as plain values: rows formatted once, sorted by a column,
per-group cells blanked where the scorecard blanks them. The console page and the feedback
page render these; tests read the same cells back from the HTML."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from .charts import Chart, composite_chart
from .detail import ItemRow, SubjectDetail, fmt_score
from .report import composite_rows
from .services import RoundResults
from .words import common_notes, flag_notes

#: sortable columns: query value → (header, key in the record, numeric)
SORTS: dict[str, tuple[str, str, bool]] = {
    "rank": ("排名", "rank", True),
    "subject": ("代码", "subject", False),
    "grade": ("等次", "grade_order", True),
    "composite": ("综合得分", "composite", True),
    "public": ("公众评分", "public_score", True),
    "org": ("组织评分", "org_score", True),
    "positive": ("正面比例", "positive_share", True),
    "negative": ("负面比例", "negative_share", True),
    "n": ("有效票", "n", True),
}


def fmt_pct(value: float | None) -> str:
    """A share as the CSV's 4 decimals read as a percentage (0.8389 → 83.89%); '—' when empty."""
    return "—" if value is None else f"{value * 100:.2f}%"


@dataclass(frozen=True)
class GroupCell:
    key: str
    name: str
    n: str
    score: str
    positive_share: str
    blanked: bool


@dataclass(frozen=True)
class ScoreRow:
    record: dict[str, Any]
    cells: dict[str, str]  #: column → text as shown
    groups: list[GroupCell]
    flags: list[str]  #: in words


def score_rows(results: RoundResults, sort: str = "rank", descending: bool = False) -> list[ScoreRow]:
    """The scorecard's rows for a page, sorted by ``sort`` (empty values always last)."""
    spec = results.spec
    grades = [b.grade for b in spec.scheme.grades]
    rows = []
    for rec in results.scorecard.records():
        code = rec["subject"]
        blanked = results.suppressed(code)
        groups = []
        for g in spec.groups:
            n = rec[f"n_{g.key}"]
            hide = g.key in blanked
            groups.append(GroupCell(
                key=g.key, name=g.name, n="" if n is None else str(n),
                score="不予显示" if hide else fmt_score(rec[f"score_{g.key}"]) if n is not None else "",
                positive_share="不予显示" if hide else fmt_pct(rec[f"positive_share_{g.key}"]) if n is not None else "",
                blanked=hide))
        interval = "—" if rec["ci_low"] is None else f"{rec['ci_low']:.2f}–{rec['ci_high']:.2f}"
        cells = {
            "rank": str(rec["rank"] or "—"), "subject": code, "name": rec["name"], "grade": rec["grade"] or "—",
            "composite": fmt_score(rec["composite"]), "public": fmt_score(rec["public_score"]),
            "org": fmt_score(rec["org_score"]), "org_raters": str(rec["org_raters"]), "interval": interval,
            "positive": fmt_pct(rec["positive_share"]), "top": fmt_pct(rec["top_share"]),
            "negative": fmt_pct(rec["negative_share"]), "n": str(rec["n"]),
        }
        record = dict(rec, grade_order=grades.index(rec["grade"]) if rec["grade"] in grades else None)
        rows.append(ScoreRow(record, cells, groups, flag_notes(spec, results.scorecard.flags_of(code))))
    if sort in SORTS:
        _, key, numeric = SORTS[sort]
        present = [r for r in rows if r.record.get(key) is not None]
        absent = [r for r in rows if r.record.get(key) is None]
        present.sort(key=lambda r: (r.record[key], r.record["subject"]), reverse=descending)
        rows = present + absent
    return rows


def shared_notes(rows: list[ScoreRow]) -> tuple[list[str], list[ScoreRow]]:
    """The notes every row has, to say once above the table, and the rows with their own notes
    only (a group's low turnout is one line, not a line under every subject it rates)."""
    common, own = common_notes([r.flags for r in rows])
    return common, [replace(r, flags=f) for r, f in zip(rows, own)]


def scorecard_chart(results: RoundResults, width: float = 480) -> Chart:
    spec = results.spec
    return composite_chart(composite_rows(results), width=width, bands=[(b.grade, b.min) for b in spec.scheme.grades])


def item_chart(detail: SubjectDetail, item: ItemRow, width: float = 480) -> Chart | None:
    """Stacked bars of one item's answers: the counted groups combined, then each group whose
    figures are shown (blanked groups have no bar)."""
    from .charts import DistributionRow, distribution_chart

    keys = [k for k, _, _ in detail.levels]
    rows = []
    if item.overall is not None:
        rows.append(DistributionRow("合计（计入公众评分的群体）", [item.overall.counts[k] for k in keys], item.overall.unknown))
    names = {g.key: g.name for g in detail.groups}
    for key, figures in item.by_group.items():
        if figures is not None:
            rows.append(DistributionRow(names[key], [figures.counts[k] for k in keys], figures.unknown))
    if not rows:
        return None
    return distribution_chart(rows, [label for _, label, _ in detail.levels], [p for _, _, p in detail.levels],
                              width=width, title=f"{item.text}：答案分布")
