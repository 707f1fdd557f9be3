"""Fixtures for the scoring tests; the small cases themselves are in scoring_cases.py."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]):
    """Run ``python -m scoring`` in-process: returns (exit status, stdout, stderr)."""
    from scoring.cli import main

    def run(*args: str | Path) -> tuple[int, str, str]:
        status = main([str(a) for a in args])
        out, err = capsys.readouterr()
        return status, out, err

    return run
