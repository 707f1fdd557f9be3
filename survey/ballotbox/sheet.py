"""The key sheet: the A4 page a 监票人 prints and keeps, holding the ballot box's private key
(or one share of it) as a QR code and as 33 numbered words, with the round, the key's
fingerprint and a plain warning that a lost key loses the round.

Made where the key is made (the ``ballot-box keygen`` command on the 监票人's computer), never
on the server. ``read_back`` renders a sheet and reads its QR again, as a check that what was
printed gives the key back.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from ..codes.sheet import draw_qr, draw_text, register_fonts, wrap
from ..qr import QUIET_ZONE, make_qr

PAGE_WIDTH, PAGE_HEIGHT = A4
MARGIN = 18 * mm
QR_WIDTH = 72 * mm
WORD_FONT = "Courier-Bold"

WARNING = (
    "请妥善保管本页（锁入保险柜或密封存档），不要拍照、复印、上传或发给任何人。"
    "这把密钥是打开本轮评议投票箱的唯一钥匙：服务器上没有它的副本。"
    "密钥丢失，本轮评议的选票将永远无法打开、无法计票，任何人（包括系统管理员）都无法找回。"
)
SHARE_WARNING = (
    "请妥善保管本页，不要拍照、复印、上传或发给任何人。本页是投票箱密钥的一份分片：单独一份看不出密钥，"
    "任意 {threshold} 份合在一起才能打开投票箱。监票小组中同时丢失 {lost} 份及以上，本轮评议将无法计票，任何人都无法找回。"
)
USE = (
    "结束评议时：在管理后台“结束评议”页上传密钥文件，或逐词输入下面的 33 个词（也可扫描二维码得到这些词）；"
    "或用命令 flask --app survey rounds close {slug} --key 密钥文件。"
)
SHARE_USE = (
    "结束评议时：任意 {threshold} 位监票小组成员在管理后台“结束评议”页各自输入本页的 33 个词（或扫描二维码），"
    "或用命令 flask --app survey rounds close {slug} --share 分片文件 --share 分片文件。"
)


@dataclass(frozen=True)
class SheetShare:
    """Which share a sheet holds: number ``number`` of ``count``, any ``threshold`` open."""

    number: int
    count: int
    threshold: int


def key_sheet_pdf(*, mnemonic: str, fingerprint: str, round_slug: str | None, round_title: str | None = None,
                  share: SheetShare | None = None, made_on: date | None = None) -> bytes:
    """The key sheet as the bytes of a one-page A4 PDF."""
    register_fonts()
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=True, pageCompression=True)
    heading = "评议投票箱密钥" if share is None else f"评议投票箱密钥 · 分片 {share.number}/{share.count}"
    canvas.setTitle(heading)
    canvas.setCreator("群众评议 survey service")
    width = PAGE_WIDTH - 2 * MARGIN
    y = PAGE_HEIGHT - MARGIN - 8 * mm
    draw_text(canvas, MARGIN, y, heading, 22)
    y -= 9 * mm
    subtitle = "监票人保管" if share is None else f"监票小组保管：共 {share.count} 份，任意 {share.threshold} 份可开箱"
    canvas.setFillColorRGB(0.35, 0.35, 0.35)
    draw_text(canvas, MARGIN, y, subtitle, 12)
    canvas.setFillColorRGB(0, 0, 0)
    y -= 10 * mm
    round_line = f"评议：{round_title}" if round_title else "评议："
    for line in wrap(round_line, width, 13):
        draw_text(canvas, MARGIN, y, line, 13)
        y -= 6 * mm
    draw_text(canvas, MARGIN, y, f"标识：{round_slug or '（未指定）'}", 13)
    y -= 10 * mm
    draw_text(canvas, MARGIN, y, "密钥指纹", 11)
    canvas.setFont(WORD_FONT, 20)
    canvas.drawString(MARGIN + 20 * mm, y - 1, fingerprint)
    y -= 6 * mm
    canvas.setFillColorRGB(0.35, 0.35, 0.35)
    for line in wrap("开始评议后，管理后台、海报和问卷页底部显示的投票箱指纹应与此相同；不同则说明公钥被调换，请立即告知组织者。",
                      width, 9.5):
        draw_text(canvas, MARGIN, y, line, 9.5)
        y -= 4.6 * mm
    canvas.setFillColorRGB(0, 0, 0)
    y -= 3 * mm

    warning = WARNING if share is None else SHARE_WARNING.format(
        threshold=share.threshold, lost=share.count - share.threshold + 1)
    lines = wrap(warning, width - 8 * mm, 11)
    box = len(lines) * 5.6 * mm + 6 * mm
    canvas.saveState()
    canvas.setStrokeColorRGB(0.64, 0.09, 0.10)
    canvas.setFillColorRGB(1, 0.96, 0.96)
    canvas.setLineWidth(1.5)
    canvas.rect(MARGIN, y - box, width, box, stroke=1, fill=1)
    canvas.restoreState()
    ty = y - 6 * mm
    canvas.setFillColorRGB(0.64, 0.09, 0.10)
    for line in lines:
        draw_text(canvas, MARGIN + 4 * mm, ty, line, 11)
        ty -= 5.6 * mm
    canvas.setFillColorRGB(0, 0, 0)
    y -= box + 8 * mm

    modules = make_qr(mnemonic).symbol_size(border=0)[0]
    module = QR_WIDTH / (modules + 2 * QUIET_ZONE)
    draw_qr(canvas, mnemonic, MARGIN + QUIET_ZONE * module, y - QUIET_ZONE * module, modules * module)
    words = mnemonic.split()
    left = MARGIN + QR_WIDTH + 6 * mm
    column = (PAGE_WIDTH - MARGIN - left) / 3
    per_column = -(-len(words) // 3)
    row_height = (QR_WIDTH - 2 * QUIET_ZONE * module) / per_column
    for i, word in enumerate(words):
        x = left + (i // per_column) * column
        wy = y - QUIET_ZONE * module - (i % per_column + 0.75) * row_height
        canvas.setFillColorRGB(0.35, 0.35, 0.35)
        canvas.setFont("Helvetica", 8)
        canvas.drawRightString(x + 6 * mm, wy, f"{i + 1}")
        canvas.setFillColorRGB(0, 0, 0)
        canvas.setFont(WORD_FONT, 11.5)
        canvas.drawString(x + 8 * mm, wy, word)
    y -= QR_WIDTH + 6 * mm

    use = (USE if share is None else SHARE_USE).format(slug=round_slug or "SLUG", threshold=(share or SheetShare(1, 1, 1)).threshold)
    for line in wrap(use, width, 10.5):
        draw_text(canvas, MARGIN, y, line, 10.5)
        y -= 5.2 * mm
    y -= 2 * mm
    canvas.setFillColorRGB(0.35, 0.35, 0.35)
    made = (made_on or date.today()).isoformat()
    footer = f"生成于 {made}，在监票人自己的电脑上生成；服务器只收到公钥（指纹 {fingerprint}）。"
    for line in wrap(footer, width, 9):
        draw_text(canvas, MARGIN, y, line, 9)
        y -= 4.4 * mm
    if y < MARGIN:
        raise ValueError("the key sheet does not fit on one page")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def read_back(pdf: bytes, *, dpi: int = 200) -> str | None:
    """The text of the QR on a sheet, read from the rendered page (pdftoppm, zbarimg); None
    when those programs are not installed here. Raises ``ValueError`` when they are and no
    QR can be read."""
    if not (shutil.which("pdftoppm") and shutil.which("zbarimg")):
        return None
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "sheet.pdf"
        source.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-singlefile", str(source), str(Path(folder) / "page")],
                       check=True, capture_output=True, timeout=60)
        found = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(Path(folder) / "page.png")],
                               capture_output=True, timeout=60)
    text = found.stdout.decode("utf-8", "replace").strip()
    if found.returncode != 0 or not text:
        raise ValueError("the key sheet's QR code could not be read back")
    return text

