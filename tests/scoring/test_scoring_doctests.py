"""The examples in the scoring library's docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["scoring.rules", "scoring.scorecard", "scoring.reliability", "scoring.cells", "scoring.input_limits"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
