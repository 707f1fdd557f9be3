"""Chart geometry (survey.scorecard.charts) and its two renderers: inline SVG and reportlab."""

from __future__ import annotations

import re

import pytest

from survey.scorecard.charts import (
    NEGATIVE,
    NEUTRAL,
    POSITIVE,
    CompositeRow,
    DistributionRow,
    Line,
    Rect,
    Text,
    composite_chart,
    distribution_chart,
    level_colours,
    scale_x,
    segments,
    text_width,
    to_drawing,
)


def test_scale_maps_0_to_100_onto_the_axis_and_clamps() -> None:
    assert scale_x(0, 10, 200) == 10
    assert scale_x(100, 10, 200) == 210
    assert scale_x(25, 10, 200) == 60
    assert scale_x(-5, 10, 200) == 10 and scale_x(130, 10, 200) == 210


def test_segments_are_proportional_and_fill_the_bar_exactly() -> None:
    parts = segments([1, 2, 0, 1], 10, 100)
    assert parts[0] == (10, 25) and parts[1] == (35, 50)
    assert parts[2][1] == 0
    assert parts[3][0] + parts[3][1] == pytest.approx(110)
    assert sum(w for _, w in parts) == pytest.approx(100)
    assert all(w == 0 for _, w in segments([0, 0], 0, 50))


def test_level_colours_follow_polarity() -> None:
    assert level_colours(["positive", "positive", "negative"]) == [POSITIVE[0], POSITIVE[1], NEGATIVE[0]]
    # the worst negative level is the darkest red
    assert level_colours(["positive", "neutral", "negative", "negative"]) == [POSITIVE[0], NEUTRAL, NEGATIVE[1], NEGATIVE[0]]


def test_text_width_counts_chinese_as_one_em() -> None:
    assert text_width("评议", 10) == 20
    assert text_width("ab", 10) == pytest.approx(11)


def test_composite_chart_bar_and_interval_positions() -> None:
    chart = composite_chart([CompositeRow("甲", 80.0, public=75.0, ci_low=60.0, ci_high=90.0, note="良好"),
                             CompositeRow("乙", None)], width=208)
    axis_left, axis_w = 10.0, 208 - 10 - 16
    bars = [s for s in chart.shapes if isinstance(s, Rect)]
    assert len(bars) == 1 and bars[0].x == axis_left and bars[0].w == pytest.approx(0.8 * axis_w)
    whisker = [s for s in chart.shapes if isinstance(s, Line) and s.y1 == s.y2 and s.stroke == "#111111"]
    assert whisker[0].x1 == pytest.approx(axis_left + 0.6 * axis_w) and whisker[0].x2 == pytest.approx(axis_left + 0.9 * axis_w)
    texts = [s.text for s in chart.shapes if isinstance(s, Text)]
    assert "80.00 良好" in texts and "乙　无综合得分" in texts
    assert chart.height > 0


def test_distribution_chart_writes_unknown_apart() -> None:
    chart = distribution_chart([DistributionRow("服务师生", [5, 2, 1], unknown=3)], ["满意", "基本满意", "不满意"],
                               ["positive", "positive", "negative"], width=400)
    bars = [s for s in chart.shapes if isinstance(s, Rect) and s.title]
    assert [b.title for b in bars] == ["满意 5 (62.5%)", "基本满意 2 (25.0%)", "不满意 1 (12.5%)"]
    assert sum(b.w for b in bars) == pytest.approx(bars[0].w / 0.625)
    assert "不了解 3" in [s.text for s in chart.shapes if isinstance(s, Text)]


def test_svg_macro_draws_every_shape_and_escapes_text(app) -> None:  # noqa: ANN001
    from flask import render_template_string

    chart = composite_chart([CompositeRow("<b>甲&乙</b>", 50.0, public=50.0, ci_low=40.0, ci_high=60.0)])
    svg = render_template_string('{% from "_macros/charts.html" import svg %}{{ svg(chart) }}', chart=chart)
    assert svg.count("<rect") == sum(isinstance(s, Rect) for s in chart.shapes)
    assert svg.count("<line") == sum(isinstance(s, Line) for s in chart.shapes)
    assert svg.count("<text") == sum(isinstance(s, Text) for s in chart.shapes)
    assert "&lt;b&gt;甲&amp;乙&lt;/b&gt;" in svg and "<b>" not in svg
    assert re.search(r'viewBox="0 0 480.0 [0-9.]+"', svg)


def test_reportlab_drawing_flips_y() -> None:
    from reportlab.graphics.shapes import Rect as RLRect

    from survey.pdf_fonts import register_cjk_font

    chart = composite_chart([CompositeRow("甲", 50.0)], width=200)
    drawing = to_drawing(chart, register_cjk_font())
    bar = next(s for s in chart.shapes if isinstance(s, Rect))
    rect = next(s for s in drawing.contents[0].contents if isinstance(s, RLRect))
    assert rect.y == pytest.approx(chart.height - bar.y - bar.h) and rect.width == pytest.approx(bar.w)


def test_shares_of_a_bar_add_up_to_100_by_largest_remainder() -> None:
    from survey.scorecard.charts import rounded_shares

    assert rounded_shares([1, 1, 1]) == [33.4, 33.3, 33.3]  # not 33.3 × 3 = 99.9
    assert rounded_shares([2, 1, 0]) == [66.7, 33.3, 0.0]
    assert rounded_shares([1, 1, 1], 0) == [34.0, 33.0, 33.0]
    assert rounded_shares([0, 0]) == [0.0, 0.0]


def test_shares_add_up_for_any_counts() -> None:
    from hypothesis import given
    from hypothesis import strategies as st

    from survey.scorecard.charts import rounded_shares

    @given(st.lists(st.integers(0, 10_000), min_size=1, max_size=6).filter(lambda c: sum(c) > 0), st.sampled_from([0, 1, 2]))
    def check(counts: list[int], decimals: int) -> None:
        shares = rounded_shares(counts, decimals)
        units = [round(s * 10 ** decimals) for s in shares]
        assert sum(units) == 100 * 10 ** decimals
        for count, share in zip(counts, shares):  # each within one unit of its exact share
            assert abs(share - 100 * count / sum(counts)) < 10 ** -decimals

    check()


def test_distribution_bar_labels_add_up_to_100() -> None:
    chart = distribution_chart([DistributionRow("服务师生", [1, 1, 1], 0)], ["满意", "基本满意", "不满意"],
                               ["positive", "positive", "negative"], width=900)
    tips = [s.title for s in chart.shapes if isinstance(s, Rect) and s.title]
    assert tips == ["满意 1 (33.4%)", "基本满意 1 (33.3%)", "不满意 1 (33.3%)"]
    labels = [s.text for s in chart.shapes if isinstance(s, Text) and s.text.endswith("%")]
    assert labels == ["34%", "33%", "33%"]
