"""Formatted Excel workbooks: frozen header, number formats, column widths that fit Chinese text.

A workbook is read by people and by programs. Its first sheet is for people: headed in Chinese
(排名, 代码, 单位, 等次, 综合得分 …), shares as percentages, blanked figures said as 不予显示 and the
flags in words. A sheet named ``data`` keeps the keyed table for programs, the very table of the
CSV (``scorecard.csv``, ``annual.csv``) with numbers rounded as the CSV rounds them.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from .cells import inert_cell
from .files import atomic_path
from .scorecard import FLAG_NOTES, INT_COLUMNS, SCORE_COLUMNS, SHARE_COLUMNS, Scorecard
from .spec import RoundSpec
from .words import PEOPLE_COLUMNS, flag_notes, flag_words, scorecard_headers

HEADER_FILL = "DDEBF7"
PERCENT = "0.00%"
#: what a blanked per-group figure reads as on the people's sheets, as on the pages
BLANKED = "不予显示"
#: the sheet for programs in every workbook: the keyed table of the CSV
DATA_SHEET = "data"


def display_width(text: str) -> int:
    """Width in Excel character units: East Asian wide and full-width characters count 2."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def number_format(column: str) -> str | None:
    if column in SCORE_COLUMNS or column.startswith("score_") or column in ("annual_score",):
        return "0.00"
    if column in SHARE_COLUMNS or column.startswith("positive_share_"):
        return "0.0000"
    if column in INT_COLUMNS or column.startswith("n_"):
        return "0"
    return None


def _cell(value: Any, fmt: str | None) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):  # a word in a column of numbers (不予显示)
        return value
    if fmt == "0.00":
        return round(float(value), 2)
    if fmt in ("0.0000", PERCENT):
        return round(float(value), 4)
    if fmt == "0":
        return int(value)
    return value


def add_table_sheet(book: Any, title: str, frame: pd.DataFrame,
                    formats: dict[str, str | None] | None = None, freeze: str = "A2") -> Any:
    """Append a sheet with ``frame``: bold filled header, frozen panes, number formats, widths."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wrap = Alignment(wrap_text=True, vertical="top")

    sheet = book.create_sheet(title=title)
    columns = [str(c) for c in frame.columns]
    formats = formats if formats is not None else {c: number_format(c) for c in columns}
    sheet.append(columns)
    for cell in sheet[1]:
        inert_cell(cell)
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
        cell.alignment = Alignment(horizontal="center", vertical="center")
    widths = [display_width(c) for c in columns]
    for record in frame.itertuples(index=False, name=None):
        values = [_cell(v, formats.get(c)) for c, v in zip(columns, record)]
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            inert_cell(cell)
        for j, v in enumerate(values):
            if v is None:
                continue
            fmt = formats.get(columns[j])
            if isinstance(v, str) or fmt not in ("0.0000", "0.00", PERCENT):
                shown = str(v)
            else:
                shown = f"{v:.4f}" if fmt == "0.0000" else f"{v:.2f}" if fmt == "0.00" else f"{v * 100:.2f}%"
            if "\n" in shown:
                sheet.cell(row=sheet.max_row, column=j + 1).alignment = wrap
            widths[j] = max(widths[j], max(display_width(line) for line in shown.split("\n")))
    for j, column in enumerate(columns, start=1):
        fmt = formats.get(column)
        if fmt:
            for (cell,) in sheet.iter_rows(min_row=2, min_col=j, max_col=j):
                cell.number_format = fmt
        sheet.column_dimensions[get_column_letter(j)].width = min(max(widths[j - 1] + 2, 6), 80)
    sheet.freeze_panes = freeze
    return sheet


def new_book() -> Any:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    return book


def flags_frame(spec: RoundSpec, flags: Iterable[str]) -> pd.DataFrame:
    """One row per flag that occurs (标记 as in the ``data`` sheet, 含义 in words for this
    round); every kind of flag, explained in general, when none occurs."""
    seen: list[str] = []
    for text in flags:
        for flag in str(text).split(";"):
            if flag and flag not in seen:
                seen.append(flag)
    rows = [(flag, flag_words(spec, flag)) for flag in sorted(seen)]
    if not rows:
        rows = [(pattern, note) for pattern, note in FLAG_NOTES.items()]
    return pd.DataFrame(rows, columns=["标记", "含义"])


def people_frame(table: pd.DataFrame, spec: RoundSpec | None = None) -> tuple[pd.DataFrame, dict[str, str | None]]:
    """A scorecard table (as built, or as read back from its CSV) for people: columns in the
    order a reader looks for them, headed in Chinese, blanked per-group figures as 不予显示,
    the flags in words (one note per line); and each column's number format (shares as
    percentages). Without a spec, groups are named by their keys."""
    columns = [str(c) for c in table.columns]
    order = [c for c in PEOPLE_COLUMNS if c in columns]
    order += [c for c in columns if c not in order and c != "flags"]
    headers = scorecard_headers(spec, order + ["flags"])
    rows = []
    for record in table.to_dict("records"):
        flags = [f for f in str(record.get("flags") or "").split(";") if f]
        blanked = {f.partition(":")[2] for f in flags if f.startswith("suppressed:")}
        row: dict[str, Any] = {}
        for column in order:
            value = record[column]
            for prefix in ("score_", "positive_share_"):
                if column.startswith(prefix) and column[len(prefix):] in blanked:
                    value = BLANKED
            row[headers[column]] = value
        row[headers["flags"]] = "\n".join(flag_notes(spec, flags))
        rows.append(row)
    frame = pd.DataFrame(rows, columns=[headers[c] for c in order + ["flags"]])
    formats: dict[str, str | None] = {}
    for column in order:
        fmt = number_format(column)
        formats[headers[column]] = PERCENT if fmt == "0.0000" else fmt
    return frame, formats


def scorecard_workbook(scorecard: Scorecard) -> Any:
    """The scorecard for people on the first sheet (``评议结果``), the ``data`` sheet with the
    ``scorecard.csv`` table, and the flags that occur explained on ``标记说明`` (an openpyxl
    workbook, so that a caller may add sheets before saving it)."""
    book = new_book()
    frame, formats = people_frame(scorecard.table, scorecard.spec)
    add_table_sheet(book, PEOPLE_SHEET, frame, formats=formats, freeze="D2")
    add_table_sheet(book, DATA_SHEET, scorecard.table, freeze="C2")
    add_table_sheet(book, "标记说明", flags_frame(scorecard.spec, scorecard.table["flags"]), formats={})
    return book


#: the scorecard workbook's first sheet
PEOPLE_SHEET = "评议结果"


def write_scorecard_workbook(scorecard: Scorecard, path: str | Path) -> None:
    """Write :func:`scorecard_workbook` to ``path``."""
    book = scorecard_workbook(scorecard)
    with atomic_path(path) as tmp:
        book.save(tmp)
