"""Reading text files people bring: CSV saved by Excel on a Chinese Windows is GBK (GB18030),
elsewhere UTF-8 with or without a byte order mark. We detect which, and say which we read."""

from __future__ import annotations

from .errors import ServiceError

#: the encodings tried in order, with the name shown to the user
ENCODINGS = [("utf-8-sig", "UTF-8"), ("gb18030", "GB18030 (GBK)")]


class UnreadableText(ServiceError):
    pass


def decode_text(data: bytes, name: str) -> tuple[str, str]:
    """(text, encoding name) of a file's bytes: UTF-8 (BOM or not) if it decodes as such,
    else GB18030, which is what Excel on a Chinese Windows saves as "CSV"."""
    for codec, label in ENCODINGS:
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        if codec == "utf-8-sig" and data.startswith(b"\xef\xbb\xbf"):
            label = "UTF-8 (with BOM)"
        return text, label
    raise UnreadableText(f"{name}：不是 UTF-8 或 GBK 编码的文本，请在 Excel 中另存为 CSV 后重试 "
                         f"(neither UTF-8 nor GB18030 text; save it as CSV (UTF-8) and try again)")
