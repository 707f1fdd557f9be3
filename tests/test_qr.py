"""QR output of survey.qr, checked by decoding it the way a phone would: every image is
read back with zbarimg, including the SVG and the terminal text, which the tests paint to
PNG themselves."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

import pytest

from survey.qr import qr_png, qr_svg, terminal_qr, write_qr

URL = "https://pingyi.example.edu.cn/r/2012-branches/staff"

needs_zbarimg = pytest.mark.skipif(
    shutil.which("zbarimg") is None,
    reason="zbarimg is not installed (apt-get install zbar-tools); CI installs it",
)


def decode_qr(png: Path) -> list[str]:
    """Every QR that zbarimg finds in ``png``, as text."""
    result = subprocess.run(
        ["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"zbarimg found no QR in {png.name}: {result.stderr}"
    return result.stdout.splitlines()


def write_png(path: Path, dark: list[list[bool]], *, scale: int = 8) -> None:
    """Paint a module matrix (True = dark) as a greyscale PNG, ``scale`` pixels a module."""
    raw = bytearray()
    for row in dark:
        line = bytes(0 if module else 255 for module in row for _ in range(scale))
        for _ in range(scale):
            raw += b"\x00" + line

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", len(dark[0]) * scale, len(dark) * scale, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(raw)))
        + chunk(b"IEND", b"")
    )


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def terminal_to_matrix(text: str, *, painted_is_dark: bool) -> list[list[bool]]:
    """Read half-block text back into module rows (True = dark)."""
    halves = {
        " ": (False, False),
        "\u2580": (True, False),
        "\u2584": (False, True),
        "\u2588": (True, True),
    }
    rows: list[list[bool]] = []
    for line in text.splitlines():
        top = [halves[ch][0] == painted_is_dark for ch in line]
        bottom = [halves[ch][1] == painted_is_dark for ch in line]
        rows += [top, bottom]
    return rows


def svg_to_matrix(svg: Path) -> list[list[bool]]:
    """Rasterize segno's SVG: one path of horizontal strokes at half-module heights."""
    root = ET.parse(svg).getroot()
    paths = root.findall("{http://www.w3.org/2000/svg}path")
    assert len(paths) == 1
    scale = float(re.fullmatch(r"scale\((\d+)\)", paths[0].get("transform", "scale(1)")).group(1))
    size = round(float(root.get("width")) / scale)
    dark = [[False] * size for _ in range(size)]
    x = y = 0.0
    for command, args in re.findall(r"([MmHh])([-\d. ]+)", paths[0].get("d")):
        numbers = [float(n) for n in args.split()]
        if command == "M":
            x, y = numbers
        elif command == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            end = numbers[0] if command == "H" else x + numbers[0]
            for column in range(round(x), round(end)):
                dark[int(y)][column] = True
            x = end
    return dark


@needs_zbarimg
def test_png_decodes_to_the_url(tmp_path: Path) -> None:
    out = tmp_path / "group.png"
    qr_png(URL, out)
    assert decode_qr(out) == [URL]


def test_png_has_quiet_zone_and_scale(tmp_path: Path) -> None:
    out = tmp_path / "group.png"
    qr_png(URL, out, scale=3)
    width, height = png_size(out)
    assert width == height
    assert width % 3 == 0
    modules = width // 3
    assert (modules - 8 - 17) % 4 == 0, "a QR symbol is 17 + 4·version modules, plus 2 × 4 quiet"


def test_svg_is_well_formed_and_sized(tmp_path: Path) -> None:
    out = tmp_path / "group.svg"
    qr_svg(URL, out)
    root = ET.parse(out).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert float(root.get("width")) == float(root.get("height")) >= 250


@needs_zbarimg
def test_svg_decodes_after_rasterizing(tmp_path: Path) -> None:
    out = tmp_path / "group.svg"
    qr_svg(URL, out)
    matrix = svg_to_matrix(out)
    assert not any(matrix[0]) and not any(row[0] for row in matrix), "quiet zone is blank"
    write_png(tmp_path / "from-svg.png", matrix)
    assert decode_qr(tmp_path / "from-svg.png") == [URL]


@pytest.mark.parametrize(
    "name, magic", [("a.png", b"\x89PNG"), ("b.SVG", b"<?xml"), ("c.Png", b"\x89PNG")]
)
def test_write_qr_chooses_format_by_suffix(tmp_path: Path, name: str, magic: bytes) -> None:
    write_qr(URL, tmp_path / name)
    assert (tmp_path / name).read_bytes().startswith(magic)


@pytest.mark.parametrize("name", ["qr.jpg", "qr", "qr.png.txt"])
def test_write_qr_refuses_other_suffixes(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"\.png or \.svg"):
        write_qr(URL, tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        qr_png("x" * 5000, tmp_path / "too-long.png")
    with pytest.raises(ValueError, match="empty"):
        qr_svg("", tmp_path / "empty.svg")
    assert list(tmp_path.iterdir()) == []


def test_terminal_qr_shape() -> None:
    text = terminal_qr(URL)
    lines = text.splitlines()
    assert text.endswith("\n")
    assert len({len(line) for line in lines}) == 1
    assert set(text) <= {" ", "\u2580", "\u2584", "\u2588", "\n"}
    assert lines[0] == lines[1] == "\u2588" * len(lines[0]), "light quiet zone on a dark terminal"
    assert set(terminal_qr(URL, dark_background=False).splitlines()[0]) == {" "}


@needs_zbarimg
@pytest.mark.parametrize("dark_background", [True, False])
def test_terminal_qr_decodes_when_painted(tmp_path: Path, dark_background: bool) -> None:
    text = terminal_qr(URL, dark_background=dark_background)
    matrix = terminal_to_matrix(text, painted_is_dark=not dark_background)
    write_png(tmp_path / "terminal.png", matrix)
    assert decode_qr(tmp_path / "terminal.png") == [URL]
