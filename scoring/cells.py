"""Text that spreadsheets show but never run: the one rule for every CSV and workbook written.

Anyone who may type text that ends up in a file the project writes (a respondent's comment, a
reviewer's 领导点评, an organizer's 整改 measure, a subject's or rater's name) could start it
with ``=``, ``+``, ``-`` or ``@``, which Excel and LibreOffice take for the start of a formula
(``=HYPERLINK(...)``, ``=cmd|'/c calc'!A1``); a leading tab or carriage return can hide such a
start. :func:`formula_like` is the rule; :func:`inert_text` applies it to a CSV cell (a leading
apostrophe, the spreadsheet convention for "this is text"), :func:`inert_cell` to a workbook
cell (stored as text, marked as typed with a leading apostrophe, shown without it). Plain
numbers such as ``-2.5`` are left alone: they are no formula, and programs read them.

>>> inert_text("=1+2"), inert_text("-加强学习"), inert_text("-2.50"), inert_text("合格")
("'=1+2", "'-加强学习", '-2.50', '合格')
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def formula_like(value: object) -> bool:
    """Whether a spreadsheet could take ``value`` for a formula: text starting with one of
    ``FORMULA_STARTS`` that is not a plain number."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(value)


def inert_text(value: Any) -> Any:
    """A CSV cell as written: formula-like text behind a leading apostrophe, the rest as it is."""
    return f"'{value}" if formula_like(value) else value


def plain_text(value: Any) -> Any:
    """The inverse of :func:`inert_text`, for the readers of the project's own CSV files
    (an exported ``answers.csv`` or ``scorecard.csv`` read back by ``python -m scoring``).

    >>> plain_text("'=1+2"), plain_text("'-B01"), plain_text("'quoted")
    ('=1+2', '-B01', "'quoted")
    """
    if isinstance(value, str) and value.startswith("'") and formula_like(value[1:]):
        return value[1:]
    return value


def inert_cell(cell: Any) -> None:
    """Make an openpyxl cell holding formula-like text a text cell (openpyxl would store a
    value starting with ``=`` as a formula), marked as text the way Excel marks ``'=...`` typed
    by hand, so that it stays text when edited."""
    if formula_like(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True
