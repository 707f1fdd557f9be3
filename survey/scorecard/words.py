"""The scorecard said in Chinese words: the scoring library's :mod:`scoring.words`, which the
library's own workbooks use too, so that a page, a PDF and a workbook word a flag alike.

Flags in the files for programs stay as docs/scoring.md fixes them (``review:2``,
``excluded:students``); pages and reports show these words instead, built from the round's own
spec, one note per fact (:func:`flag_notes`).
"""

from __future__ import annotations

from scoring.words import (  # noqa: F401  (the names the pages import from here)
    Vocabulary,
    common_notes,
    flag_notes,
    flag_words,
    is_empty,
    metric_words,
    rule_words,
    threshold_words,
    vocabulary,
)

#: the notes of one subject's flags (an older name of :func:`flag_notes`)
flags_words = flag_notes
