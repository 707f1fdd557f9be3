"""Printable ballot slips (survey.codes.sheet), checked the way a person uses them: each slip
is rendered with pdftoppm and its QR read with zbarimg, and each slip's text is read back
with pdftotext."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from survey.codes.sheet import (
    COLUMNS,
    INSTRUCTION,
    MARGIN_TOP,
    MARGIN_X,
    SLIP_HEIGHT,
    SLIP_WIDTH,
    SLIPS_PER_PAGE,
    render_slips_pdf,
)
from survey.qr import make_qr

TITLE = "2012年基层党组织群众评议"
GROUP = "教职工"
BASE_URL = "https://pingyi.example.edu.cn"
DPI = 150
MM = 72 / 25.4


def make_slips(count: int, base_url: str = BASE_URL) -> list[tuple[str, str]]:
    alphabet = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
    slips = []
    for number in range(count):
        letters = "".join(alphabet[(number * 7 + i * 13) % len(alphabet)] for i in range(6))
        code = f"Q{number:04d}-{letters[:5]}"
        slips.append((code, f"{base_url}/b/{code}"))
    return slips


Sheet = tuple[Path, list[tuple[str, str]], int]


def require(*tools: str) -> None:
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed "
            "(apt-get install zbar-tools poppler-utils); CI installs them"
        )


def run(*command: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{command[0]} failed: {result.stderr}"
    return result.stdout


def slip_box(index: int, *, dpi: float) -> list[str]:
    """pdftoppm/pdftotext crop options for slip ``index`` on its page, 1 mm inside the cut lines."""
    row, column = divmod(index % SLIPS_PER_PAGE, COLUMNS)
    scale = dpi / 72
    left = (MARGIN_X + column * SLIP_WIDTH + MM) * scale
    top = (MARGIN_TOP + row * SLIP_HEIGHT + MM) * scale
    width = (SLIP_WIDTH - 2 * MM) * scale
    height = (SLIP_HEIGHT - 2 * MM) * scale
    crop = {"-x": left, "-y": top, "-W": width, "-H": height}
    return [part for option, value in crop.items() for part in (option, str(round(value)))]


def render(
    pdf: Path, out: Path, *, page: int, crop: list[str] | None = None, grey: bool = False
) -> Path:
    """Render one page (or the ``crop`` of it) at DPI with pdftoppm, as PNG or as greyscale
    PGM; return the image file."""
    options = ["-r", str(DPI), "-singlefile", "-f", str(page), "-l", str(page), *(crop or [])]
    run("pdftoppm", "-gray" if grey else "-png", *options, str(pdf), str(out))
    return out.with_suffix(".pgm" if grey else ".png")


def decode_qr(png: Path) -> list[str]:
    """Every QR that zbarimg finds in ``png``, as text."""
    return run("zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)).split()


def slip_text(pdf: Path, index: int) -> str:
    page = str(index // SLIPS_PER_PAGE + 1)
    return run("pdftotext", "-f", page, "-l", page, *slip_box(index, dpi=72), str(pdf), "-")


def flat(text: str) -> str:
    return "".join(text.split())


def read_pgm(path: Path) -> tuple[int, int, bytes]:
    data = path.read_bytes()
    magic, width, height, maximum, pixels = data.split(maxsplit=4)
    assert magic == b"P5" and maximum == b"255"
    return int(width), int(height), pixels


@pytest.fixture(scope="module")
def sheet(tmp_path_factory: pytest.TempPathFactory) -> Sheet:
    slips = make_slips(23)
    pdf = tmp_path_factory.mktemp("sheet") / "slips.pdf"
    pages = render_slips_pdf(pdf, title=TITLE, slips=slips, group_name=GROUP, base_url=BASE_URL)
    return pdf, slips, pages


def test_page_count(sheet: Sheet) -> None:
    pdf, _, pages = sheet
    assert pages == 3
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert not [p for p in pdf.parent.iterdir() if p != pdf], "no temporary file is left"
    require("pdfinfo")
    assert re.search(r"^Pages:\s+3$", run("pdfinfo", str(pdf)), re.MULTILINE)


def decode_slips(pdf: Path, indexes: range, folder: Path) -> list[list[str]]:
    """The QR text found on each slip, each slip rendered and read on its own (zbar now and
    then misses one symbol when a whole page of ten is read at once)."""
    return [
        decode_qr(
            render(
                pdf,
                folder / f"slip{index}",
                page=index // SLIPS_PER_PAGE + 1,
                crop=slip_box(index, dpi=DPI),
            )
        )
        for index in indexes
    ]


def test_every_qr_on_page_one_decodes_to_its_slip_url(sheet: Sheet, tmp_path: Path) -> None:
    require("pdftoppm", "zbarimg")
    pdf, slips, _ = sheet
    decoded = decode_slips(pdf, range(SLIPS_PER_PAGE), tmp_path)
    assert decoded == [[url] for _, url in slips[:SLIPS_PER_PAGE]]


def test_last_page_holds_the_remaining_slips_in_order(sheet: Sheet, tmp_path: Path) -> None:
    require("pdftoppm", "zbarimg")
    pdf, slips, _ = sheet
    assert decode_slips(pdf, range(20, 23), tmp_path) == [[url] for _, url in slips[20:]]


def test_qr_is_at_least_25_mm_with_a_blank_quiet_zone(sheet: Sheet, tmp_path: Path) -> None:
    require("pdftoppm")
    pdf, slips, _ = sheet
    pgm = render(pdf, tmp_path / "slip", page=1, crop=slip_box(0, dpi=DPI), grey=True)
    width, height, pixels = read_pgm(pgm)

    def dark(x: int, y: int) -> bool:
        return pixels[y * width + x] < 128

    # The QR is the dark area in the slip's upper left, above the instruction.
    region = [
        (x, y) for y in range(int(height * 0.8)) for x in range(int(width * 0.45)) if dark(x, y)
    ]
    left, right = min(x for x, _ in region), max(x for x, _ in region) + 1
    top, bottom = min(y for _, y in region), max(y for _, y in region) + 1
    mm_px = DPI / 25.4
    assert right - left >= 25 * mm_px and bottom - top >= 25 * mm_px
    assert abs((right - left) - (bottom - top)) <= 2

    modules = make_qr(slips[0][1]).symbol_size(border=0)[0]
    quiet = round(4 * (right - left) / modules) - 1
    assert left - quiet >= 0 and top - quiet >= 0, "the quiet zone lies inside the slip"
    for y in range(top - quiet, bottom + quiet):
        for x in range(left - quiet, right + quiet):
            if not (left <= x < right and top <= y < bottom):
                assert not dark(x, y), f"ink in the quiet zone at ({x}, {y})"


def test_each_slip_shows_title_group_code_and_instruction(sheet: Sheet) -> None:
    require("pdftotext")
    pdf, slips, _ = sheet
    instruction = flat(INSTRUCTION.format(base_url=BASE_URL))
    for index in (0, 1, 9, 10, 22):
        text = slip_text(pdf, index)
        code = slips[index][0]
        assert code in text.split(), f"slip {index} shows its code on a line of its own"
        assert TITLE in flat(text) and GROUP in flat(text)
        assert instruction in flat(text)
        for other, _ in slips:
            assert other == code or other not in text


def test_all_codes_and_page_footers_are_in_the_text(sheet: Sheet) -> None:
    require("pdftotext")
    pdf, slips, _ = sheet
    text = run("pdftotext", str(pdf), "-")
    assert [code for code, _ in slips if code not in text] == []
    pages = text.split("\f")
    for number in (1, 2, 3):
        assert f"第{number}/3页" in flat(pages[number - 1])
        assert TITLE in flat(pages[number - 1])


def test_long_texts_wrap_without_losing_the_instruction(tmp_path: Path) -> None:
    require("pdftotext", "pdftoppm", "zbarimg")
    base_url = "https://pingyi.dept-of-organization.example.edu.cn/"
    slips = make_slips(3, base_url.rstrip("/"))
    pdf = tmp_path / "long.pdf"
    render_slips_pdf(
        pdf,
        title="中国共产党某某大学委员会2012年度基层党组织书记抓党建工作述职评议暨群众满意度测评",
        slips=slips,
        group_name="离退休教职工及其他相关人员代表（含校外兼职人员）",
        base_url=base_url,
    )
    text = slip_text(pdf, 0)
    assert flat(INSTRUCTION.format(base_url=base_url.rstrip("/"))) in flat(text)
    assert "离退休教职工" in text and slips[0][0] in text
    assert decode_slips(pdf, range(3), tmp_path) == [[url] for _, url in slips]


def test_progress_is_reported_after_every_page(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    pages = render_slips_pdf(
        tmp_path / "s.pdf",
        title=TITLE,
        slips=make_slips(21),
        group_name=GROUP,
        base_url=BASE_URL,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert pages == 3
    assert calls == [(1, 3), (2, 3), (3, 3)]


def test_a_failure_leaves_no_half_file_and_keeps_an_older_one(tmp_path: Path) -> None:
    out = tmp_path / "slips.pdf"
    out.write_bytes(b"older sheet")

    def fail_on_page_two(done: int, total: int) -> None:
        if done == 2:
            raise RuntimeError("printer on fire")

    with pytest.raises(RuntimeError, match="printer on fire"):
        render_slips_pdf(
            out, title=TITLE, slips=make_slips(25), group_name=GROUP, base_url=BASE_URL,
            progress=fail_on_page_two,
        )
    assert list(tmp_path.iterdir()) == [out]
    assert out.read_bytes() == b"older sheet"


@pytest.mark.parametrize(
    "slips, message",
    [([], "no slips"), ([("ABCDE-FGHJK", "")], "slip 1"), ([("A", "u"), ("", "u")], "slip 2")],
)
def test_bad_slips_are_refused(tmp_path: Path, slips: list[tuple[str, str]], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_slips_pdf(
            tmp_path / "s.pdf", title=TITLE, slips=slips, group_name=GROUP, base_url=BASE_URL
        )
    assert list(tmp_path.iterdir()) == []


def test_chinese_font_is_embedded(sheet: Sheet) -> None:
    """Slips must read on a phone or PC without a Chinese font: pdffonts says emb yes."""
    from .pdf_fonts_check import assert_chinese_font_embedded

    pdf, _, _ = sheet
    assert_chinese_font_embedded(pdf)


@pytest.mark.parametrize("title", [
    "2026年基层党组织创先争优群众评议",
    "2026年教育系统创先争优群众评议（演示）",
    "2026年度第一党支部党员民主评议暨领导班子满意度测评",
])
def test_a_title_on_two_lines_is_not_broken_inside_a_word(title: str, tmp_path: Path) -> None:
    """Read back from the PDF: each of the title's lines ends between words, never
    "…基 / 层党组织…"."""
    require("pdftotext")
    pdf = tmp_path / "slips.pdf"
    render_slips_pdf(pdf, title=title, slips=make_slips(1), group_name=GROUP, base_url=BASE_URL)
    lines = [line.replace(" ", "") for line in slip_text(pdf, 0).splitlines()]
    title_lines = []
    rest = title
    for line in lines:
        if line and rest.startswith(line):
            title_lines.append(line)
            rest = rest[len(line):]
    assert rest == "", f"the title is on the slip in whole lines: {lines}"
    assert len(title_lines) >= 2, "this title needs two lines on a slip"
    for before, after in zip(title_lines, title_lines[1:]):
        for word in ("基层党组织", "党组织", "创先争优", "群众评议", "民主评议", "党支部", "领导班子", "满意度", "教育系统"):
            if word in title:
                joined = before + after
                cut = len(before)
                starts = [i for i in range(len(joined)) if joined.startswith(word, i)]
                assert all(not (i < cut < i + len(word)) for i in starts), f"{word} is broken: {before} / {after}"
