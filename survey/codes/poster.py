"""The A4 poster of an open group's link: the round's title, the group, one line of
instructions and a QR large enough to scan from a few steps away on a wall.

It reuses the slips' drawing helpers (CID font for Chinese, QR as one vector path with its
quiet zone left blank).
"""

from __future__ import annotations

import io
from datetime import datetime

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ..qr import QUIET_ZONE, make_qr
from .sheet import draw_qr, draw_text, register_fonts, string_width, wrap

POSTER_INSTRUCTION = "请用手机扫描二维码参加评议（微信、相机均可），评议不记名，每台手机限提交一次。"
#: the symbol's side, quiet zone included: about 16 cm, readable from 2–3 metres
QR_WIDTH = 160 * mm


def window_words(opens_at: datetime | None, closes_at: datetime | None) -> str | None:
    """The round's window for the poster, in Beijing time: "评议时间：2026年12月01日 08:00 至
    2026年12月15日 18:00（北京时间）"; None when the round has neither."""
    from ..timefmt import beijing

    fmt = "%Y年%m月%d日 %H:%M"
    if opens_at and closes_at:
        start, end = beijing(opens_at), beijing(closes_at)
        until = end.strftime("%m月%d日 %H:%M" if end.year == start.year else fmt)
        return f"评议时间：{start.strftime(fmt)} 至 {until}（北京时间）"
    if closes_at:
        return f"评议截止：{beijing(closes_at).strftime(fmt)}（北京时间）"
    if opens_at:
        return f"评议开始：{beijing(opens_at).strftime(fmt)}（北京时间）"
    return None


def poster_pdf(*, title: str, group_name: str, url: str, window: str | None = None,
               instruction: str = POSTER_INSTRUCTION, fingerprint: str | None = None) -> bytes:
    """The poster as the bytes of a one-page A4 PDF; ``window`` (``window_words``) is
    printed under the group, large enough to read from where the QR is scanned; the ballot box
    key's ``fingerprint`` at its foot, so that anyone can compare it with the console and the
    监票人's key sheet."""
    register_fonts()
    width, height = A4
    margin = 18 * mm
    text_width = width - 2 * margin
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=True)
    canvas.setTitle(f"{title} · {group_name} · 评议二维码")
    canvas.setCreator("群众评议 survey service")
    y = height - margin - 10 * mm
    # one line at the largest size that allows it, else two lines, else as many as it takes
    attempts = [(size, 1) for size in (30, 27, 24)] + [(size, 2) for size in (30, 26, 22)] + [(20, 99)]
    for size, most in attempts:
        lines = wrap(title, text_width, size, words=True)
        if len(lines) <= most:
            break
    for line in lines:
        draw_text(canvas, (width - string_width(line, size)) / 2, y, line, size)
        y -= size * 1.3
    y -= 4 * mm
    group_line = f"参评群体：{group_name}"
    draw_text(canvas, (width - string_width(group_line, 22)) / 2, y, group_line, 22)
    if window:
        y -= 22 * 1.3
        size = 18 if string_width(window, 18) <= text_width else 14
        draw_text(canvas, (width - string_width(window, size)) / 2, y, window, size)
        y -= 6 * mm
    y -= 12 * mm
    symbol = make_qr(url)
    modules = symbol.symbol_size(border=0)[0]
    module = QR_WIDTH / (modules + 2 * QUIET_ZONE)
    # the quiet zone stays blank: draw only the symbol, inset by it
    draw_qr(canvas, url, (width - modules * module) / 2, y - QUIET_ZONE * module, modules * module)
    y -= QR_WIDTH + 6 * mm
    for line in wrap(instruction, text_width, 16):
        draw_text(canvas, (width - string_width(line, 16)) / 2, y, line, 16)
        y -= 16 * 1.4
    y -= 2 * mm
    canvas.setFont("Helvetica", 11)
    canvas.setFillColorRGB(0.35, 0.35, 0.35)
    canvas.drawCentredString(width / 2, y, url)
    if fingerprint:
        line = f"选票加密封存 · 投票箱密钥指纹 {fingerprint}"
        draw_text(canvas, (width - string_width(line, 12)) / 2, y - 9 * mm, line, 12)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()
