"""The Chinese font every PDF of the project embeds (slips, reports), so that a reader on a
machine without any Chinese font still sees the text and not empty boxes.

The font is 文泉驿微米黑 (WenQuanYi Micro Hei, Apache-2.0 or GPL-3 with font exception), a
TrueType collection with glyf outlines: reportlab embeds a subset of the glyphs a PDF uses
(it cannot embed the CFF outlines of OpenType CJK fonts such as Noto Sans CJK). It comes from
the PyPI package ``paperang-p2-fonts-cjk`` (a dependency, so ``pip install`` brings it
everywhere), which ships the very file of Debian's ``fonts-wqy-microhei``; Debian's copy is
used when the package is missing. Reports and posters use its Latin glyphs too; the slips draw
their Latin runs (the address, the code) in Helvetica and Courier, standard PDF fonts every
reader has, so that a code is typed from the face people know (survey/codes/sheet.py).
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

#: the name the font is registered under in reportlab
CJK_FONT = "WenQuanYiMicroHei"

#: where Debian's fonts-wqy-microhei puts the same file
DEBIAN_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")


class FontMissing(RuntimeError):
    """No copy of the embedded Chinese font was found."""


def cjk_font_path() -> Path:
    """The font file: the PyPI package's copy, else Debian's."""
    try:
        packaged = resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"
        if packaged.is_file():
            return Path(str(packaged))
    except ModuleNotFoundError:
        pass
    if DEBIAN_PATH.is_file():
        return DEBIAN_PATH
    raise FontMissing(
        "the Chinese PDF font is missing: pip install paperang-p2-fonts-cjk "
        "(or apt-get install fonts-wqy-microhei)"
    )


@cache
def register_cjk_font() -> str:
    """Register the font with reportlab (once per process) and return its name."""
    pdfmetrics.registerFont(TTFont(CJK_FONT, str(cjk_font_path()), subfontIndex=0))
    return CJK_FONT
