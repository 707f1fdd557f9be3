"""What ``pdffonts`` says about a PDF: every font it uses is embedded, or one of the standard
PDF fonts every reader has, so its Chinese shows on a machine without a Chinese font."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

#: the standard 14 PDF fonts: readers carry them, they need no embedding (and have no Chinese)
STANDARD_FONTS = ("Helvetica", "Times", "Courier", "Symbol", "ZapfDingbats")


def font_table(pdf: Path) -> list[dict[str, str]]:
    """``pdffonts`` rows as dicts with keys name, type, emb."""
    if shutil.which("pdffonts") is None:
        pytest.skip("pdffonts not installed (apt-get install poppler-utils); CI installs it")
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name, type (one or two words), encoding, emb, sub, uni, object, id
        emb = parts[-5]
        rows.append({"name": parts[0], "type": " ".join(parts[1:-6]), "emb": emb})
    return rows


def assert_chinese_font_embedded(pdf: Path) -> None:
    """The embedded Chinese font is there, and every other font is embedded or standard."""
    rows = font_table(pdf)
    chinese = [r for r in rows if "WenQuanYi" in r["name"]]
    assert chinese, f"no WenQuanYi font in {rows}"
    assert all(r["emb"] == "yes" and r["type"] == "TrueType" for r in chinese), chinese
    for row in rows:
        assert row["emb"] == "yes" or row["name"].startswith(STANDARD_FONTS), row
