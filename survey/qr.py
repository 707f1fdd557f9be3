"""QR codes of the links that respondents open on their phones: PNG and SVG files for
posters and slides, and a text rendering that an organizer can scan straight from a terminal.

Every QR uses error correction level "M" (segno may raise it when that costs no extra size)
and a quiet zone of 4 modules, the width the QR standard asks for so that phones find the
symbol reliably on a busy page.
"""

from __future__ import annotations

import io
import os
import secrets
from pathlib import Path

import segno

ERROR_CORRECTION = "M"
QUIET_ZONE = 4

# Half-block glyphs indexed by (top painted, bottom painted).
_HALF_BLOCKS = {
    (False, False): " ",
    (True, False): "\u2580",
    (False, True): "\u2584",
    (True, True): "\u2588",
}


def make_qr(url: str) -> segno.QRCode:
    """The QR symbol of ``url`` (level M or better, never a Micro QR).

    Raises ``ValueError`` when the url is empty or too long for any QR version.
    """
    if not url:
        raise ValueError("cannot make a QR code of an empty URL")
    return segno.make(url, error=ERROR_CORRECTION, micro=False)


def qr_png(url: str, path: str | Path, *, scale: int = 10) -> None:
    """Write the QR of ``url`` as a black-on-white PNG, ``scale`` pixels per module.

    segno writes the PNG itself, so no imaging library is needed. The file appears
    complete or not at all.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1 pixel per module, got {scale}")
    _save(make_qr(url), Path(path), kind="png", scale=scale)


def qr_svg(url: str, path: str | Path, *, scale: int = 10) -> None:
    """Write the QR of ``url`` as an SVG (one path, ``scale`` user units per module).

    Vector output stays sharp at any print size; the file appears complete or not at all.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1 unit per module, got {scale}")
    _save(make_qr(url), Path(path), kind="svg", scale=scale)


def write_qr(url: str, path: str | Path) -> None:
    """Write the QR of ``url`` as PNG or SVG, chosen by the suffix of ``path``.

    Raises ``ValueError`` for any other suffix, before anything is written.
    """
    path = Path(path)
    kind = path.suffix.lower().lstrip(".")
    if kind == "png":
        qr_png(url, path)
    elif kind == "svg":
        qr_svg(url, path)
    else:
        shown = path.suffix or "no suffix"
        raise ValueError(
            f"cannot tell the QR image format from {path.name!r} ({shown}); "
            "use a file name ending in .png or .svg"
        )


def qr_bytes(url: str, kind: str, *, scale: int = 10) -> bytes:
    """The QR of ``url`` as the bytes of a PNG or SVG file (``kind`` is "png" or "svg")."""
    if kind not in ("png", "svg"):
        raise ValueError(f"QR image format must be png or svg, not {kind!r}")
    buffer = io.BytesIO()
    make_qr(url).save(buffer, kind=kind, scale=scale, border=QUIET_ZONE)
    return buffer.getvalue()


def qr_svg_inline(url: str, *, label: str) -> str:
    """The QR of ``url`` as an ``<svg>`` element to put in a page: black on white (quiet zone
    included), sized by its container (a viewBox, no width or height), named for screen
    readers by ``label``."""
    from markupsafe import escape

    svg = make_qr(url).svg_inline(scale=1, border=QUIET_ZONE, omitsize=True, light="#fff", dark="#000",
                                  svgclass="qr", lineclass=None)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)


def terminal_qr(url: str, *, dark_background: bool = True) -> str:
    """The QR of ``url`` drawn with Unicode half blocks, two module rows per text line.

    Terminals paint glyphs in the foreground colour. On a dark background that colour is
    light, so by default the light modules and the quiet zone are painted (``█``, ``▀``,
    ``▄``) and the dark modules are left as spaces: the terminal shows dark modules on a
    light field, which is what phone scanners expect. Pass ``dark_background=False`` for
    a light terminal, where the dark modules are painted instead.

    The result has no colour escapes, so it survives logs and copy and paste; every line
    has the same width and the string ends with a newline.
    """
    symbol = make_qr(url)
    rows = [[bool(module) for module in row] for row in symbol.matrix_iter(border=QUIET_ZONE)]
    if len(rows) % 2:
        rows.append([False] * len(rows[0]))
    paint_dark = not dark_background
    lines = []
    for top, bottom in zip(rows[::2], rows[1::2]):
        lines.append(
            "".join(
                _HALF_BLOCKS[(upper == paint_dark, lower == paint_dark)]
                for upper, lower in zip(top, bottom)
            )
        )
    return "\n".join(lines) + "\n"


def _save(qr: segno.QRCode, path: Path, *, kind: str, scale: int) -> None:
    """Save through a temporary file beside ``path`` so that a failure leaves no half file."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        qr.save(str(temporary), kind=kind, scale=scale, border=QUIET_ZONE)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
