"""Printable ballot slips: an A4 PDF with ten slips a page, each carrying one single-use
ballot code, the QR of its link and a short instruction, separated by dashed cut lines.

The slips carry no serial number or anything else that could tie a slip to the person who
was handed it; the code itself is the only secret on them.

Chinese text uses 文泉驿微米黑 (``survey.pdf_fonts``), embedded as a subset, so the slips read
the same on a machine without any Chinese font. Latin runs (the URL) use Helvetica, one of
the standard PDF fonts every reader has.
QR codes are drawn as vector rectangles from the segno matrix, so they stay crisp at any
print size.
"""

from __future__ import annotations

import io
import math
import os
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from ..pdf_fonts import CJK_FONT, register_cjk_font
from ..qr import QUIET_ZONE, make_qr

LATIN_FONT = "Helvetica"
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
EDGE = 1.5 * mm
GAP = 1.5 * mm
MIN_QR_WIDTH = 25 * mm
#: the "评议码" label and the code beside the bottom of the QR, at the largest code size
CODE_BLOCK_HEIGHT = 20 * 0.75 + 4 + 8 + 4

#: (font size, most lines) to try in turn: a title stays on one line if a slightly smaller
#: size allows; the instruction may shrink and wrap but is never cut short
_TITLE_ATTEMPTS = [
    (11, 1), (10.5, 1), (10, 1), (9.5, 1), (9, 1), (11, 2), (10, 2), (9, 2), (9, 3), (8, 3)
]
_GROUP_ATTEMPTS = [(9, 1), (8, 1), (8, 2)]
_INSTRUCTION_ATTEMPTS = [(8, 2), (7.5, 2), (7, 2), (7, 3), (6.5, 4)]

_INK = (0, 0, 0)
_MUTED = (0.35, 0.35, 0.35)
_CUT_LINE = (0.55, 0.55, 0.55)

#: a Latin run (a URL stays whole) or one other character, each with the closing
#: punctuation after it, so that no line starts with "，" or "。"
_WRAP_TOKEN = re.compile(r"(?:[!-~]+|\s+|.)[，。；：、）」』！？]*")

#: words of 评议 titles that a line break must not cut ("基层党组织", not "基 / 层党组织");
#: a title is cut into these (longest first), a year with its 年 or 年度, and single characters
TITLE_WORDS = sorted({
    "基层党组织", "党组织", "党总支", "党支部", "党委", "党员", "群众评议", "民主评议", "评议", "满意度", "测评",
    "创先争优", "领导班子", "领导干部", "教育系统", "教职工", "学院", "机关", "部门", "单位", "考核", "年度",
    "第一", "第二", "第三", "上半年", "下半年", "学年", "学期", "工作", "作风", "服务", "师生", "群众", "演示",
}, key=len, reverse=True)
_TITLE_TOKEN = re.compile(
    r"[（「『“]*(?:[0-9]{2,4}(?:年度|年)|" + "|".join(map(re.escape, TITLE_WORDS)) + r"|[!-~]+|\s+|.)[，。；：、）」』！？]*"
)


def title_tokens(text: str) -> list[str]:
    """``text`` cut where a line may break without splitting a word of a title."""
    return _TITLE_TOKEN.findall(" ".join(text.split()))
_SCRIPT_RUN = re.compile(r"[ -~]+|[^ -~]+")


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
    """Write the slips of ``slips_pdf`` to ``out`` (through a temporary file beside it, so a
    failure leaves no half-written PDF); returns the number of pages."""
    data, pages = slips_pdf(title=title, slips=slips, group_name=group_name, base_url=base_url, progress=progress)
    out = Path(out)
    temporary = out.with_name(f".{out.name}.{secrets.token_hex(4)}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, out)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return pages


def slips_pdf(
    *,
    title: str,
    slips: Sequence[tuple[str, str]],
    group_name: str,
    base_url: str,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[bytes, int]:
    """Printable ballot slips as an A4 PDF: its bytes and its number of pages.

    Parameters
    ----------
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
    register_fonts()
    layout = _Layout.fit(
        title=title,
        group_name=group_name,
        base_url=base_url,
        modules=max(make_qr(url).symbol_size(border=0)[0] for _, url in slips[:SLIPS_PER_PAGE]),
    )
    pages = math.ceil(len(slips) / SLIPS_PER_PAGE)
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=True)
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
    return buffer.getvalue(), pages


def register_fonts() -> None:
    register_cjk_font()


@dataclass(frozen=True)
class _Layout:
    """Everything about a slip that is the same on every slip of one document.

    The QR symbol, the instruction below it and the text beside it share the same inner
    margin; the symbol's quiet zone lies inside that margin, so nothing is drawn on it and
    it stays on the slip after cutting.
    """

    title: _Text
    group: _Text
    instruction: _Text
    symbol: float
    inset: float

    @classmethod
    def fit(cls, *, title: str, group_name: str, base_url: str, modules: int) -> _Layout:
        """Size the slip for QR symbols of ``modules`` modules a side."""
        register_fonts()
        instruction = INSTRUCTION.format(base_url=base_url.rstrip("/"))
        quiet = 4 * mm
        for _ in range(3):
            inset = EDGE + quiet
            fitted = _fit(instruction, SLIP_WIDTH - 2 * inset, _INSTRUCTION_ATTEMPTS)
            room = SLIP_HEIGHT - 2 * EDGE - GAP - len(fitted.lines) * fitted.leading
            symbol = room * modules / (modules + 2 * QUIET_ZONE)
            quiet = symbol * QUIET_ZONE / modules
        if symbol < MIN_QR_WIDTH:
            raise ValueError("the slip URLs are too long to print as QR codes at least 25 mm wide")
        text_width = SLIP_WIDTH - 2 * inset - symbol - quiet - GAP
        group = _fit(f"参评群体：{group_name}", text_width, _GROUP_ATTEMPTS)
        room = symbol - CODE_BLOCK_HEIGHT - group.size * 0.4 - len(group.lines) * group.leading
        title_attempts = [(size, n) for size, n in _TITLE_ATTEMPTS if n * size * 1.25 <= room]
        return cls(
            title=_fit(title, text_width, title_attempts or [(8, 1)], words=True),
            group=group,
            instruction=fitted,
            symbol=symbol,
            inset=inset,
        )

    def draw_slip(self, canvas: Canvas, left: float, top: float, *, code: str, url: str) -> None:
        """Draw one slip whose top left corner is at (``left``, ``top``)."""
        symbol_left = left + self.inset
        symbol_top = top - self.inset
        symbol_bottom = symbol_top - self.symbol
        draw_qr(canvas, url, symbol_left, symbol_top, self.symbol)

        quiet = self.inset - EDGE
        text_left = symbol_left + self.symbol + quiet + GAP
        text_width = left + SLIP_WIDTH - self.inset - text_left
        y = symbol_top - self.title.size * 0.88
        canvas.setFillColorRGB(*_INK)
        for line in self.title.lines:
            draw_text(canvas, text_left, y, line, self.title.size)
            y -= self.title.leading
        canvas.setFillColorRGB(*_MUTED)
        y -= self.group.size * 0.4
        for line in self.group.lines:
            draw_text(canvas, text_left, y, line, self.group.size)
            y -= self.group.leading

        code_size = min(20.0, text_width / (0.6 * max(len(code), 1)))
        canvas.setFillColorRGB(*_INK)
        canvas.setFont(CODE_FONT, code_size)
        canvas.drawString(text_left, symbol_bottom, code)
        canvas.setFillColorRGB(*_MUTED)
        canvas.setFont(CJK_FONT, 8)
        canvas.drawString(text_left, symbol_bottom + code_size * 0.75 + 4, "评议码")

        y = symbol_bottom - quiet - GAP - self.instruction.size * 0.88
        canvas.setFillColorRGB(*_INK)
        for line in self.instruction.lines:
            draw_text(canvas, symbol_left, y, line, self.instruction.size)
            y -= self.instruction.leading


def draw_qr(canvas: Canvas, url: str, left: float, top: float, width: float) -> None:
    """Draw the QR symbol of ``url``, ``width`` wide, its top left corner at (``left``,
    ``top``).

    The symbol is one filled path of horizontal runs of dark modules, written in module
    units under a transform: a single fill leaves no hairline seams between modules in
    on-screen viewers, and integer operands keep 2,000 slips fast to write.
    """
    matrix = make_qr(url).matrix
    module = width / len(matrix)
    runs = []
    for row_number, row in enumerate(matrix):
        column, modules = 0, len(row)
        while column < modules:
            if not row[column]:
                column += 1
                continue
            start = column
            while column < modules and row[column]:
                column += 1
            runs.append(f"{start} {row_number} {column - start} 1 re")
    canvas.saveState()
    canvas.setFillColorRGB(*_INK)
    canvas.transform(module, 0, 0, -module, left, top)
    canvas.addLiteral("\n".join(runs) + "\nf")
    canvas.restoreState()


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
    room = PAGE_WIDTH - 2 * MARGIN_X - string_width(right, 8) - 10 * mm
    left = _fit(f"{title}　请沿虚线裁开", room, [(8, 1)]).lines[0]
    draw_text(canvas, MARGIN_X, y, left, 8)
    draw_text(canvas, PAGE_WIDTH - MARGIN_X - string_width(right, 8), y, right, 8)


def _fit(text: str, width: float, attempts: Sequence[tuple[float, int]], *, words: bool = False) -> _Text:
    """Wrap ``text`` by the first ``(size, max_lines)`` attempt that fits ``width``; if none
    does, use the last one and cut its last line short with "…". ``words``: break only
    between the words of a title (``title_tokens``)."""
    for size, max_lines in attempts:
        lines = wrap(text, width, size, words=words)
        if len(lines) <= max_lines:
            return _Text(tuple(_balance(text, width, size, lines, words=words)), size)
    size, max_lines = attempts[-1]
    lines = wrap(text, width, size, words=words)[:max_lines]
    last = lines[-1]
    while last and string_width(last + "…", size) > width:
        last = last[:-1]
    return _Text((*lines[:-1], last.rstrip() + "…"), size)


def _balance(text: str, width: float, size: float, lines: list[str], *, words: bool = False) -> list[str]:
    """Narrow the measure while the text keeps its number of lines and no word (a URL)
    has to be split, so that a wrapped text does not end in a single orphaned character."""
    if len(lines) < 2:
        return lines
    tokens = title_tokens(text) if words else _WRAP_TOKEN.findall(text)
    widest_word = max(string_width(token.strip(), size) for token in tokens)
    while width - size / 2 >= widest_word:
        narrower = wrap(text, width - size / 2, size, words=words)
        if len(narrower) > len(lines):
            break
        lines, width = narrower, width - size / 2
    return lines


def wrap(text: str, width: float, size: float, *, words: bool = False) -> list[str]:
    """Greedy line breaking for mixed Chinese and Latin text: break between Chinese
    characters (between the words of a title, with ``words``), and inside a Latin run (such
    as a URL) or a word only when it is wider than a line."""
    lines: list[str] = []
    line = ""
    tokens = title_tokens(text) if words else _WRAP_TOKEN.findall(" ".join(text.split()))
    for token in tokens:
        if string_width(line + token, size) <= width:
            line += token
            continue
        if line.strip():
            lines.append(line.rstrip())
        line = token.lstrip()
        while string_width(line, size) > width:
            cut = len(line) - 1
            while cut > 1 and string_width(line[:cut], size) > width:
                cut -= 1
            lines.append(line[:cut])
            line = line[cut:]
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return lines


def _runs(text: str) -> list[tuple[str, str]]:
    """Split text into (font, run): Latin in Helvetica, everything else in the CJK font.

    Helvetica keeps URLs in the face they had before the Chinese font was embedded."""
    return [(LATIN_FONT if run[0] <= "~" else CJK_FONT, run) for run in _SCRIPT_RUN.findall(text)]


def string_width(text: str, size: float) -> float:
    return sum(pdfmetrics.stringWidth(run, font, size) for font, run in _runs(text))


def draw_text(canvas: Canvas, x: float, y: float, text: str, size: float) -> None:
    for font, run in _runs(text):
        canvas.setFont(font, size)
        canvas.drawString(x, y, run)
        x += pdfmetrics.stringWidth(run, font, size)
