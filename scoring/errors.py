"""The one error the command line turns into a one-line reason: bad input, named by file and line."""

from __future__ import annotations

from pathlib import Path


class InputError(ValueError):
    """Input that is refused; the message names the file and, where there is one, the line.

    Lines count from 1, and the CSV header is line 1, so the first data row is line 2.
    """

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else f"{path}"
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.message = message
