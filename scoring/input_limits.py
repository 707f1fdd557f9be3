"""Limits on what is read from files others hand in, checked before the parser runs.

A JSON document nested 100,000 levels deep makes Python's parser, and every recursive walk
after it, fail with ``RecursionError``; a 200 kB ``.xlsx`` can be a zip of a sheet hundreds of
megabytes large, which openpyxl would spend minutes of CPU and all memory unpacking. Both are
refused here, quickly, with a :class:`InputTooLarge` that says what was exceeded.

>>> load_json_text('{"a": [1, 2, {"b": null}]}')
{'a': [1, 2, {'b': None}]}
>>> load_json_text("[" * 100 + "]" * 100)
Traceback (most recent call last):
    ...
scoring.input_limits.InputTooLarge: nested 100 levels deep (at most 32)
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

#: deepest nesting of arrays and objects accepted in a JSON file (a round spec needs about 5)
MAX_JSON_DEPTH = 32
#: largest JSON text accepted, in characters (a spec with long 述职 reports stays far below)
MAX_JSON_CHARS = 10_000_000
#: largest total of an xlsx's unpacked members (a 10,000-row roster unpacks to under 3 MB; openpyxl
#: reads 10 MB of sheet in about 1.5 s of CPU)
MAX_XLSX_UNPACKED = 10_000_000
#: largest ratio of unpacked to packed size of one member (sheets pack about 5-20 to 1)
MAX_XLSX_RATIO = 200
#: most members an xlsx may hold
MAX_XLSX_MEMBERS = 1_000

_STRING = re.compile(r'"(?:[^"\\]+|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class InputTooLarge(ValueError):
    """A file beyond the limits above: ``str()`` says which, in English."""


def json_depth(text: str) -> int:
    """The deepest nesting of ``[`` and ``{`` outside strings (without parsing the text)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def load_json_text(text: str, *, max_depth: int = MAX_JSON_DEPTH, max_chars: int = MAX_JSON_CHARS) -> Any:
    """``json.loads`` after checking size and nesting; raises :class:`InputTooLarge` beyond
    them, ``json.JSONDecodeError`` for text that is not JSON."""
    if len(text) > max_chars:
        raise InputTooLarge(f"{len(text):,} characters long (at most {max_chars:,})")
    depth = json_depth(text)
    if depth > max_depth:
        raise InputTooLarge(f"nested {depth} levels deep (at most {max_depth})")
    return json.loads(text)


def check_xlsx(data: bytes | str | Path, *, max_unpacked: int = MAX_XLSX_UNPACKED,
               max_ratio: int = MAX_XLSX_RATIO) -> None:
    """Refuse an xlsx (bytes, or a path) whose zip members would unpack beyond the limits,
    from the sizes its zip directory declares; a member that unpacks to more than it declared
    is stopped by zipfile itself when read. Raises :class:`InputTooLarge`, or ``ValueError``
    when it is not a zip file at all."""
    source = io.BytesIO(data) if isinstance(data, bytes) else data
    try:
        with zipfile.ZipFile(source) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"not an xlsx workbook ({exc})") from None
    if len(members) > MAX_XLSX_MEMBERS:
        raise InputTooLarge(f"{len(members):,} parts in the workbook (at most {MAX_XLSX_MEMBERS:,})")
    total = sum(m.file_size for m in members)
    if total > max_unpacked:
        raise InputTooLarge(f"unpacks to {total / 1e6:,.0f} MB (at most {max_unpacked / 1e6:,.0f} MB)")
    for member in members:
        if member.file_size > 1_000_000 and member.file_size > max_ratio * max(member.compress_size, 1):
            raise InputTooLarge(f"{member.filename} unpacks {member.file_size // max(member.compress_size, 1):,} "
                                f"times its packed size (at most {max_ratio})")
