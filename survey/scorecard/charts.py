"""Chart geometry shared by the pages and the PDF report.

A chart is computed once, here, as a list of plain shapes (rectangles, lines, text) in a box
whose origin is the top left corner, y growing downwards, as in SVG. Two thin renderers draw
it: the Jinja macro ``_macros/charts.html`` writes inline SVG for the pages, and
``to_drawing`` builds a reportlab ``Drawing`` for the PDF. So a page and the printed report
show the same chart, and the geometry, the only part with arithmetic in it, is tested once
without a browser or a PDF reader. (A plotting library would add a large dependency for two
kinds of chart, and would still need a second path into reportlab.)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

#: colours by polarity, best level first; readable in greyscale print as well
POSITIVE = ("#1a6b3c", "#4f9d69", "#8cc49a", "#bfe0c6")
NEUTRAL = "#c9c9c9"
NEGATIVE = ("#c0392b", "#e07b67", "#f0b1a4")
INK = "#222222"
MUTED = "#666666"
GRID = "#d0d0d0"
BAR = "#3d6fa8"
MARK = "#111111"


@dataclass(frozen=True)
class Rect:
    kind: ClassVar[str] = "rect"
    x: float
    y: float
    w: float
    h: float
    fill: str
    title: str = ""  #: a tooltip in SVG


@dataclass(frozen=True)
class Line:
    kind: ClassVar[str] = "line"
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str = INK
    width: float = 1.0
    dash: bool = False


@dataclass(frozen=True)
class Text:
    kind: ClassVar[str] = "text"
    x: float
    y: float  #: the baseline
    text: str
    size: float = 12.0
    anchor: str = "start"  #: start, middle or end
    fill: str = INK


@dataclass(frozen=True)
class Chart:
    width: float
    height: float
    label: str  #: what the chart shows, for screen readers
    shapes: list[Rect | Line | Text] = field(default_factory=list)


def text_width(text: str, size: float) -> float:
    """An estimate of a text's width: wide (CJK) characters take one em, others about half."""
    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.55 for ch in text)


def scale_x(value: float, left: float, width: float, low: float = 0.0, high: float = 100.0) -> float:
    """The x of ``value`` on an axis from ``low`` at ``left`` to ``high`` at ``left + width``,
    clamped to the axis."""
    value = min(max(value, low), high)
    return left + (value - low) / (high - low) * width


@dataclass(frozen=True)
class CompositeRow:
    label: str
    composite: float | None
    public: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    note: str = ""  #: printed after the value, e.g. the grade


def composite_chart(rows: Sequence[CompositeRow], *, width: float = 480, bands: Sequence[tuple[str, float]] = (),
                    size: float = 13) -> Chart:
    """Composites as horizontal bars on a 0–100 axis, each subject's label above its bar; the
    public score as a diamond with its 95 % interval as a whisker; grade thresholds as dashed
    lines. Rows without a composite get a label and "无综合得分"."""
    left, right = 10.0, 16.0
    axis_w = width - left - right
    row_h = size * 1.3 + 16
    top = size + 8
    shapes: list[Rect | Line | Text] = []
    height = top + len(rows) * row_h + size + 14
    bottom = top + len(rows) * row_h
    for value in range(0, 101, 20):
        x = scale_x(value, left, axis_w)
        shapes.append(Line(x, top - 4, x, bottom, GRID, 0.6))
        shapes.append(Text(x, bottom + size + 4, str(value), size * 0.85, "middle", MUTED))
    for grade, minimum in bands:
        if 0 < minimum < 100:
            x = scale_x(minimum, left, axis_w)
            shapes.append(Line(x, top - 4, x, bottom, MUTED, 0.8, dash=True))
            shapes.append(Text(x, top - 6, f"{grade}≥{minimum:g}", size * 0.75, "middle", MUTED))
    for k, row in enumerate(rows):
        y = top + k * row_h
        label_y = y + size
        bar_y = y + size * 1.3 + 2
        bar_h = 10.0
        if row.composite is None:
            shapes.append(Text(left, label_y, f"{row.label}　无综合得分", size, "start", MUTED))
            continue
        value = f"{row.composite:.2f}" + (f" {row.note}" if row.note else "")
        shapes.append(Text(left, label_y, row.label, size))
        shapes.append(Text(width - right, label_y, value, size, "end"))
        shapes.append(Rect(left, bar_y, scale_x(row.composite, left, axis_w) - left, bar_h, BAR,
                           f"{row.label} 综合得分 {row.composite:.2f}"))
        if row.ci_low is not None and row.ci_high is not None:
            x1, x2 = scale_x(row.ci_low, left, axis_w), scale_x(row.ci_high, left, axis_w)
            mid = bar_y + bar_h / 2
            shapes += [Line(x1, mid, x2, mid, MARK, 1.4), Line(x1, mid - 4, x1, mid + 4, MARK, 1.4),
                       Line(x2, mid - 4, x2, mid + 4, MARK, 1.4)]
        if row.public is not None:
            x, mid = scale_x(row.public, left, axis_w), bar_y + bar_h / 2
            shapes += [Line(x - 4, mid, x, mid - 4, MARK, 1.4), Line(x, mid - 4, x + 4, mid, MARK, 1.4),
                       Line(x + 4, mid, x, mid + 4, MARK, 1.4), Line(x, mid + 4, x - 4, mid, MARK, 1.4)]
    return Chart(width, height, "综合得分及公众评分95%区间", shapes)


@dataclass(frozen=True)
class DistributionRow:
    label: str
    counts: Sequence[int]  #: per level, scale order (best first)
    unknown: int = 0


def level_colours(polarities: Sequence[str]) -> list[str]:
    """A colour per level: greens for positive levels (darkest first), grey for neutral,
    reds for negative ones (the worst darkest)."""
    positives = [i for i, p in enumerate(polarities) if p == "positive"]
    negatives = [i for i, p in enumerate(polarities) if p == "negative"]
    colours = [NEUTRAL] * len(polarities)
    for rank, i in enumerate(positives):
        colours[i] = POSITIVE[min(rank, len(POSITIVE) - 1)]
    for rank, i in enumerate(reversed(negatives)):
        colours[i] = NEGATIVE[min(rank, len(NEGATIVE) - 1)]
    return colours


def rounded_shares(counts: Sequence[int], decimals: int = 1) -> list[float]:
    """Each count's share of the total as a percentage rounded to ``decimals``, the shares adding
    up to exactly 100 (largest remainder: each share rounded down, then the units still missing
    go to the largest remainders, earlier levels first on a tie). Shares rounded one by one add
    up to 99.9 or 100.1 under a bar that shows them side by side.

    >>> rounded_shares([1, 1, 1])
    [33.4, 33.3, 33.3]
    """
    total = sum(counts)
    if total <= 0:
        return [0.0 for _ in counts]
    unit = 10 ** decimals
    whole = 100 * unit
    floors = [count * whole // total for count in counts]
    remainders = [count * whole % total for count in counts]
    missing = whole - sum(floors)
    for k in sorted(range(len(counts)), key=lambda k: (-remainders[k], k))[:missing]:
        floors[k] += 1
    return [f / unit for f in floors]


def segments(counts: Sequence[int], left: float, width: float) -> list[tuple[float, float]]:
    """(x, w) of each level's part of a 100 % bar: widths proportional to the counts, adding up
    to ``width`` exactly (the last segment takes the rounding remainder)."""
    total = sum(counts)
    if total <= 0:
        return [(left, 0.0) for _ in counts]
    out: list[tuple[float, float]] = []
    x = left
    for k, count in enumerate(counts):
        w = (left + width - x) if k == len(counts) - 1 else width * count / total
        out.append((x, w if count else 0.0))
        x += w
    return out


def distribution_chart(rows: Sequence[DistributionRow], labels: Sequence[str], polarities: Sequence[str],
                       *, width: float = 480, size: float = 13, title: str = "答案分布") -> Chart:
    """Stacked 100 % bars of the level answers, one per row, the label above each bar; 不了解
    is not part of the bar but written beside it; a legend of the levels at the top."""
    colours = level_colours(polarities)
    left, right = 4.0, 4.0
    unknown_w = text_width("不了解 0000", size * 0.85) + 6
    bar_w = width - left - right - unknown_w
    shapes: list[Rect | Line | Text] = []
    x = left
    legend_y = size + 2
    for label, colour in zip(labels, colours):
        item_w = 12 + 4 + text_width(label, size * 0.85) + 12
        if x + item_w > width:
            x = left
            legend_y += size + 6
        shapes.append(Rect(x, legend_y - size * 0.8, 12, size * 0.8, colour))
        shapes.append(Text(x + 16, legend_y, label, size * 0.85))
        x += item_w
    top = legend_y + 10
    row_h = size * 1.3 + 22
    for k, row in enumerate(rows):
        y = top + k * row_h
        shapes.append(Text(left, y + size, row.label, size))
        bar_y, bar_h = y + size * 1.3 + 2, 16.0
        total = sum(row.counts)
        if total == 0:
            shapes.append(Rect(left, bar_y, bar_w, bar_h, "#f2f2f2", "没有答案"))
        tenths, wholes = rounded_shares(row.counts, 1), rounded_shares(row.counts, 0)
        for (sx, sw), count, label, colour, tenth, whole in zip(segments(row.counts, left, bar_w), row.counts, labels,
                                                                 colours, tenths, wholes):
            if sw <= 0:
                continue
            shapes.append(Rect(sx, bar_y, sw, bar_h, colour, f"{label} {count} ({tenth:.1f}%)"))
            text = f"{whole:.0f}%"
            if text_width(text, size * 0.75) + 4 <= sw:
                ink = "#ffffff" if colour in (POSITIVE[0], NEGATIVE[0], POSITIVE[1]) else INK
                shapes.append(Text(sx + sw / 2, bar_y + bar_h - 4, text, size * 0.75, "middle", ink))
        shapes.append(Text(width - right, bar_y + bar_h - 3, f"不了解 {row.unknown}", size * 0.85, "end", MUTED))
    height = top + len(rows) * row_h + 4
    return Chart(width, height, title, shapes)


def to_drawing(chart: Chart, font: str, scale: float = 1.0):  # noqa: ANN201
    """The chart as a reportlab ``Drawing`` (y flipped to PDF's upward axis), ``scale`` times
    its size, with text in ``font``."""
    from reportlab.graphics.shapes import Drawing, Group
    from reportlab.graphics.shapes import Line as RLLine
    from reportlab.graphics.shapes import Rect as RLRect
    from reportlab.graphics.shapes import String
    from reportlab.lib.colors import HexColor

    drawing = Drawing(chart.width * scale, chart.height * scale)
    group = Group()
    h = chart.height
    for shape in chart.shapes:
        if isinstance(shape, Rect):
            group.add(RLRect(shape.x, h - shape.y - shape.h, shape.w, shape.h,
                             fillColor=HexColor(shape.fill), strokeColor=None))
        elif isinstance(shape, Line):
            group.add(RLLine(shape.x1, h - shape.y1, shape.x2, h - shape.y2, strokeColor=HexColor(shape.stroke),
                             strokeWidth=shape.width, strokeDashArray=[3, 2] if shape.dash else None))
        else:
            group.add(String(shape.x, h - shape.y, shape.text, fontName=font, fontSize=shape.size,
                             fillColor=HexColor(shape.fill), textAnchor=shape.anchor))
    group.scale(scale, scale)
    drawing.add(group)
    return drawing
