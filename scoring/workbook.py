"""Formatted Excel workbooks: frozen header, number formats, column widths that fit Chinese text."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .io import atomic_path
from .scorecard import FLAG_NOTES, INT_COLUMNS, SCORE_COLUMNS, SHARE_COLUMNS, Scorecard

HEADER_FILL = "DDEBF7"


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
    if fmt == "0.00":
        return round(float(value), 2)
    if fmt == "0.0000":
        return round(float(value), 4)
    if fmt == "0":
        return int(value)
    return value


def add_table_sheet(book: Any, title: str, frame: pd.DataFrame,
                    formats: dict[str, str | None] | None = None, freeze: str = "A2") -> Any:
    """Append a sheet with ``frame``: bold filled header, frozen panes, number formats, widths."""
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = book.create_sheet(title=title)
    columns = [str(c) for c in frame.columns]
    formats = formats if formats is not None else {c: number_format(c) for c in columns}
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL)
        cell.alignment = Alignment(horizontal="center", vertical="center")
    widths = [display_width(c) for c in columns]
    for record in frame.itertuples(index=False, name=None):
        values = [_cell(v, formats.get(c)) for c, v in zip(columns, record)]
        sheet.append(values)
        for j, v in enumerate(values):
            if v is not None:
                shown = f"{v:.4f}" if formats.get(columns[j]) == "0.0000" else (
                    f"{v:.2f}" if formats.get(columns[j]) == "0.00" else str(v))
                widths[j] = max(widths[j], display_width(shown))
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


def flag_notes_frame(flags: Iterable[str]) -> pd.DataFrame:
    """One row per kind of flag that occurs, with what it means."""
    seen: list[str] = []
    for text in flags:
        for flag in str(text).split(";"):
            if flag and flag not in seen:
                seen.append(flag)
    rows = []
    for flag in sorted(seen):
        kind, _, arg = flag.partition(":")
        pattern = "review:<n>" if kind == "review" else (f"{kind}:<group>" if arg else kind)
        rows.append((flag, FLAG_NOTES.get(pattern, "")))
    if not rows:
        rows = [(pattern, note) for pattern, note in FLAG_NOTES.items()]
    return pd.DataFrame(rows, columns=["flag", "meaning"])


def scorecard_sheets(book: Any, scorecard: Scorecard, title: str = "scorecard") -> None:
    add_table_sheet(book, title, scorecard.table, freeze="C2")


def scorecard_workbook(scorecard: Scorecard) -> Any:
    """The scorecard on its first sheet, the flags that occur explained on the second (an
    openpyxl workbook, so that a caller may add sheets before saving it)."""
    book = new_book()
    scorecard_sheets(book, scorecard)
    add_table_sheet(book, "flags", flag_notes_frame(scorecard.table["flags"]), formats={})
    return book


def write_scorecard_workbook(scorecard: Scorecard, path: str | Path) -> None:
    """Write :func:`scorecard_workbook` to ``path``."""
    book = scorecard_workbook(scorecard)
    with atomic_path(path) as tmp:
        book.save(tmp)


def write_sheets(sheets: Sequence[tuple[str, pd.DataFrame, str]], path: str | Path) -> None:
    """A workbook of (title, frame, frozen cell) sheets, in order."""
    book = new_book()
    for title, frame, freeze in sheets:
        add_table_sheet(book, title, frame, freeze=freeze)
    with atomic_path(path) as tmp:
        book.save(tmp)
