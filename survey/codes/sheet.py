"""Printable ballot slips: an A4 PDF with ten slips a page, each carrying one single-use
ballot code, the QR of its link and a short instruction, separated by dashed cut lines.

The slips carry no serial number or anything else that could tie a slip to the person who
was handed it; the code itself is the only secret on them.

Chinese text uses reportlab's built-in CID font ``STSong-Light``, which every PDF reader
supplies, so no font file is shipped or embedded. QR codes are drawn as vector rectangles
from the segno matrix, so they stay crisp at any print size.
"""

from __future__ import annotations

import math
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas

from ..qr import QUIET_ZONE, make_qr

CJK_FONT = "STSong-Light"
CODE_FONT = "Courier-Bold"
INSTRUCTION = (
    "请用手机扫描二维码参加评议；也可访问 {base_url}/b/ 输入评议码。"
    "本码仅可使用一次，评议不记名。"
)

COLUMNS = 2
ROWS = 5
SLIPS_PER_PAGE = COLUMNS * ROWS

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN_X = 10 * mm
MARGIN_TOP = 10 * mm
MARGIN_BOTTOM = 16 * mm
SLIP_WIDTH = (PAGE_WIDTH - 2 * MARGIN_X) / COLUMNS
SLIP_HEIGHT = (PAGE_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM) / ROWS
PADDING = 2.5 * mm
GAP = 2 * mm
MIN_QR_WIDTH = 25 * mm

_INK = (0, 0, 0)
_MUTED = (0.35, 0.35, 0.35)
_CUT_LINE = (0.55, 0.55, 0.55)

#: a Latin run (a URL stays whole) or one other character, each with the closing
#: punctuation after it, so that no line starts with "，" or "。"
_WRAP_TOKEN = re.compile(r"(?:[!-~]+|\s+|.)[，。；：、）」』！？]*")


@dataclass(frozen=True)
class _Text:
    """Lines of text already fitted to a width, and the size they were fitted at."""

    lines: tuple[str, ...]
    size: float

    @property
    def leading(self) -> float:
        return self.size * 1.25


def render_slips_pdf(
    out: str | Path,
    *,
    title: str,
    slips: Sequence[tuple[str, str]],
    group_name: str,
    base_url: str,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Write printable ballot slips to an A4 PDF at ``out`` and return its number of pages.

    Parameters
    ----------
    out
        The PDF to write. It is written to a temporary file beside it and renamed at the
        end, so a failure leaves no half-written PDF behind.
    title
        The round's title, printed on every slip and in the page footer.
    slips
        ``(code, url)`` pairs, one slip each, in order; the code is printed as given
        (e.g. ``ABCDE-FGHJK``) and the url becomes the slip's QR.
    group_name
        The name of the group the codes belong to, printed on every slip.
    base_url
        The service's public address, printed in the instruction for people who type the
        code by hand at ``{base_url}/b/``.
    progress
        Called as ``progress(pages_done, pages_total)`` after each page.

    Raises ``ValueError`` when there are no slips or a slip lacks its code or url.
    """
    if not slips:
        raise ValueError("there are no slips to print")
    for number, slip in enumerate(slips, start=1):
        if len(slip) != 2 or not slip[0] or not slip[1]:
            raise ValueError(f"slip {number} must be a (code, url) pair with both filled in")
    _register_fonts()
    out = Path(out)
    layout = _Layout.fit(title=title, group_name=group_name, base_url=base_url)
    pages = math.ceil(len(slips) / SLIPS_PER_PAGE)
    temporary = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        canvas = Canvas(str(temporary), pagesize=A4, invariant=True, pageCompression=True)
        canvas.setTitle(f"{title} · {group_name} · 评议码")
        canvas.setCreator("群众评议 survey service")
        for page in range(pages):
            on_page = slips[page * SLIPS_PER_PAGE : (page + 1) * SLIPS_PER_PAGE]
            _draw_cut_lines(canvas, rows=math.ceil(len(on_page) / COLUMNS))
            for index, (code, url) in enumerate(on_page):
                row, column = divmod(index, COLUMNS)
                left = MARGIN_X + column * SLIP_WIDTH
                top = PAGE_HEIGHT - MARGIN_TOP - row * SLIP_HEIGHT
                layout.draw_slip(canvas, left, top, code=code, url=url)
            _draw_footer(canvas, title=title, page=page + 1, pages=pages)
            canvas.showPage()
            if progress is not None:
                progress(page + 1, pages)
        canvas.save()
        os.replace(temporary, out)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return pages


@cache
def _register_fonts() -> None:
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


@dataclass(frozen=True)
class _Layout:
    """Everything about a slip that is the same on every slip of one document."""

    title: _Text
    group: _Text
    instruction: _Text
    qr_box: float

    @classmethod
    def fit(cls, *, title: str, group_name: str, base_url: str) -> _Layout:
        instruction = INSTRUCTION.format(base_url=base_url.rstrip("/"))
        instruction_width = SLIP_WIDTH - 2 * PADDING
        fitted_instruction = _fit(instruction, instruction_width, sizes=(8, 7.5, 7, 6.5), max_lines=2)
        instruction_height = len(fitted_instruction.lines) * fitted_instruction.leading
        qr_box = SLIP_HEIGHT - 2 * PADDING - instruction_height - GAP
        text_width = SLIP_WIDTH - 2 * PADDING - qr_box - GAP
        return cls(
            title=_fit(title, text_width, sizes=(11, 10, 9, 8), max_lines=2),
            group=_fit(f"参评群体：{group_name}", text_width, sizes=(9, 8, 7), max_lines=1),
            instruction=fitted_instruction,
            qr_box=qr_box,
        )

    def draw_slip(self, canvas: Canvas, left: float, top: float, *, code: str, url: str) -> None:
        """Draw one slip whose top left corner is at (``left``, ``top``)."""
        box_left = left + PADDING
        box_top = top - PADDING
        symbol_bottom = _draw_qr(canvas, url, box_left, box_top, self.qr_box)

        text_left = box_left + self.qr_box + GAP
        text_width = left + SLIP_WIDTH - PADDING - text_left
        y = box_top - self.title.size
        canvas.setFillColorRGB(*_INK)
        canvas.setFont(CJK_FONT, self.title.size)
        for line in self.title.lines:
            canvas.drawString(text_left, y, line)
            y -= self.title.leading
        canvas.setFillColorRGB(*_MUTED)
        canvas.setFont(CJK_FONT, self.group.size)
        canvas.drawString(text_left, y - self.group.size * 0.3, self.group.lines[0])

        code_size = min(20.0, text_width / (0.6 * max(len(code), 1)))
        code_baseline = symbol_bottom
        canvas.setFillColorRGB(*_INK)
        canvas.setFont(CODE_FONT, code_size)
        canvas.drawString(text_left, code_baseline, code)
        canvas.setFillColorRGB(*_MUTED)
        canvas.setFont(CJK_FONT, 8)
        canvas.drawString(text_left, code_baseline + code_size * 0.85 + 3, "评议码")

        y = box_top - self.qr_box - GAP - self.instruction.size
        canvas.setFillColorRGB(*_INK)
        canvas.setFont(CJK_FONT, self.instruction.size)
        for line in self.instruction.lines:
            canvas.drawString(box_left, y, line)
            y -= self.instruction.leading


def _draw_qr(canvas: Canvas, url: str, left: float, top: float, box: float) -> float:
    """Draw the QR of ``url`` inside a square ``box`` wide whose outer 4 modules are the
    quiet zone; return the bottom edge of the symbol itself."""
    matrix = make_qr(url).matrix
    modules = len(matrix)
    module = box / (modules + 2 * QUIET_ZONE)
    if module * modules < MIN_QR_WIDTH:
        raise ValueError(f"the URL {url!r} is too long to print as a QR of at least 25 mm")
    symbol_left = left + QUIET_ZONE * module
    symbol_top = top - QUIET_ZONE * module
    path = canvas.beginPath()
    for row_number, row in enumerate(matrix):
        y = symbol_top - (row_number + 1) * module
        column = 0
        while column < modules:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < modules and row[column]:
                column += 1
            path.rect(symbol_left + start * module, y, (column - start) * module, module)
    canvas.setFillColorRGB(*_INK)
    canvas.drawPath(path, stroke=0, fill=1)
    return symbol_top - modules * module


def _draw_cut_lines(canvas: Canvas, *, rows: int) -> None:
    canvas.saveState()
    canvas.setStrokeColorRGB(*_CUT_LINE)
    canvas.setLineWidth(0.5)
    canvas.setDash(4, 3)
    top = PAGE_HEIGHT - MARGIN_TOP
    bottom = top - rows * SLIP_HEIGHT
    for row in range(rows + 1):
        y = top - row * SLIP_HEIGHT
        canvas.line(MARGIN_X, y, PAGE_WIDTH - MARGIN_X, y)
    for column in range(COLUMNS + 1):
        x = MARGIN_X + column * SLIP_WIDTH
        canvas.line(x, top, x, bottom)
    canvas.restoreState()


def _draw_footer(canvas: Canvas, *, title: str, page: int, pages: int) -> None:
    y = MARGIN_BOTTOM / 2 - 3
    canvas.setFillColorRGB(*_MUTED)
    right = f"第 {page} / {pages} 页"
    canvas.setFont(CJK_FONT, 8)
    room = PAGE_WIDTH - 2 * MARGIN_X - pdfmetrics.stringWidth(right, CJK_FONT, 8) - 10 * mm
    canvas.drawString(MARGIN_X, y, _fit(f"{title}　沿虚线裁开", room, sizes=(8,), max_lines=1).lines[0])
    canvas.drawRightString(PAGE_WIDTH - MARGIN_X, y, right)


def _fit(text: str, width: float, *, sizes: Sequence[float], max_lines: int) -> _Text:
    """Wrap ``text`` at the largest of ``sizes`` that fits in ``max_lines`` lines; at the
    smallest size, cut the last line short with "…" when it still does not fit."""
    for size in sizes:
        lines = _wrap(text, width, size)
        if len(lines) <= max_lines:
            return _Text(tuple(lines), size)
    size = sizes[-1]
    lines = _wrap(text, width, size)[:max_lines]
    last = lines[-1]
    while last and _width(last + "…", size) > width:
        last = last[:-1]
    return _Text((*lines[:-1], last.rstrip() + "…"), size)


def _wrap(text: str, width: float, size: float) -> list[str]:
    """Greedy line breaking for mixed Chinese and Latin text: break between Chinese
    characters, and inside a Latin run (such as a URL) only when it is wider than a line."""
    lines: list[str] = []
    line = ""
    for token in _WRAP_TOKEN.findall(" ".join(text.split())):
        if _width(line + token, size) <= width:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = token.lstrip()
        while _width(line, size) > width:
            cut = len(line) - 1
            while cut > 1 and _width(line[:cut], size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def _width(text: str, size: float) -> float:
    return pdfmetrics.stringWidth(text, CJK_FONT, size)
