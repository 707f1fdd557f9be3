"""The printable report of a closed round (scorecard.pdf), for a committee meeting.

A4, Chinese throughout, in the embedded 文泉驿微米黑 (``survey.pdf_fonts``): a summary page
with the scorecard table and the composite chart, then one page per subject with its figures,
flags in words, per-group figures (blanked as everywhere else), the answer distribution of
each item, its 公开承诺, the 领导点评 and its 整改 entries; then the 意见建议 appendix (the
comments per subject, in random order, a small group's never marked with its name, as on the
subject pages: ``detail.subject_comments``) and the signature block (审核人, date, 单位盖章)
that makes the printed report an approved document.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    KeepTogether,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from xml.sax.saxutils import escape

from ..models import LeaderRemark, Rectification
from ..pdf_fonts import register_cjk_font
from ..timefmt import beijing_today
from .charts import CompositeRow, DistributionRow, composite_chart, distribution_chart, to_drawing
from .detail import SubjectDetail, fmt_score, fmt_share, subject_detail
from .services import RoundResults
from .words import common_notes, flag_notes, vocabulary

PAGE_W, PAGE_H = A4
MARGIN = 16 * mm
FRAME_W = PAGE_W - 2 * MARGIN
#: what a drawing may fill: the frame less its 6 pt padding on either side
CONTENT_W = FRAME_W - 12
#: composite chart rows per drawing, so that a long round's chart flows over pages
CHART_ROWS = 20
HEAD_FILL = colors.HexColor("#dde8f3")
RULE = colors.HexColor("#9aa7b4")


@dataclass(frozen=True)
class ReportInputs:
    """What the report shows beside the scores: remarks and 整改 entries per subject code."""

    remarks: Mapping[str, Sequence[LeaderRemark]]
    rectifications: Mapping[str, Sequence[Rectification]]
    made_on: date | None = None
    #: the appendix's comments per subject code, as (group name or None, text): the group
    #: name None where the subject page leaves it out; None: no appendix (a round without
    #: comments)
    comments: Mapping[str, Sequence[tuple[str | None, str]]] | None = None


def _styles(font: str) -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=font, fontSize=9.5, leading=13.5, wordWrap="CJK")
    return {
        "body": base,
        "small": ParagraphStyle("small", parent=base, fontSize=8, leading=10.5),
        "cell": ParagraphStyle("cell", parent=base, fontSize=8, leading=10),
        "note": ParagraphStyle("note", parent=base, fontSize=7.5, leading=9.5, textColor=colors.HexColor("#7a4a00"),
                               leftIndent=6),
        "title": ParagraphStyle("title", parent=base, fontSize=17, leading=23, alignment=TA_CENTER, spaceAfter=4),
        "subtitle": ParagraphStyle("subtitle", parent=base, fontSize=9.5, alignment=TA_CENTER,
                                   textColor=colors.HexColor("#444444"), spaceAfter=8),
        "h1": ParagraphStyle("h1", parent=base, fontSize=14, leading=19, spaceBefore=2, spaceAfter=6),
        "h2": ParagraphStyle("h2", parent=base, fontSize=11, leading=15, spaceBefore=8, spaceAfter=3,
                             textColor=colors.HexColor("#1f3d5c")),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def _table(rows: list[list[object]], widths: list[float], style: ParagraphStyle, *, align_right: Sequence[int] = ()) -> Table:
    cells = [[c if not isinstance(c, str) else _p(c, style) for c in row] for row in rows]
    table = Table(cells, colWidths=widths, repeatRows=1)
    commands = [
        ("FONTNAME", (0, 0), (-1, -1), style.fontName),
        ("BACKGROUND", (0, 0), (-1, 0), HEAD_FILL),
        ("LINEBELOW", (0, 0), (-1, 0), 0.6, RULE),
        ("LINEBELOW", (0, 1), (-1, -1), 0.25, colors.HexColor("#d5dbe1")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    table.setStyle(TableStyle(commands))
    return table


def _interval(row: Mapping[str, object]) -> str:
    low, high = row.get("ci_low"), row.get("ci_high")
    return "—" if low is None or high is None else f"{low:.2f}–{high:.2f}"


def composite_rows(results: RoundResults) -> list[CompositeRow]:
    """The composite chart's rows, in rank order, as on the scorecard page."""
    return [CompositeRow(label=f"{r['rank'] or '—'}. {r['name']}", composite=r["composite"], public=r["public_score"],
                         ci_low=r["ci_low"], ci_high=r["ci_high"], note=r["grade"] or "")
            for r in results.scorecard.records()]


def distribution_rows(detail: SubjectDetail) -> list[DistributionRow]:
    """One bar per item: the counted groups combined (rows left out where they are blanked)."""
    keys = [k for k, _, _ in detail.levels]
    return [DistributionRow(label=item.text, counts=[item.overall.counts[k] for k in keys], unknown=item.overall.unknown)
            for item in detail.items if item.overall is not None]


def render_report_pdf(results: RoundResults, inputs: ReportInputs) -> bytes:
    """The report as PDF bytes."""
    font = register_cjk_font()
    st = _styles(font)
    spec = results.spec
    words = vocabulary(spec)
    buffer = io.BytesIO()
    title = results.round.title
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN,
                            bottomMargin=MARGIN + 4 * mm, title=f"{title} · 评议结果报告",
                            author="群众评议 survey service", invariant=True)

    def footer(canvas, doc_) -> None:  # noqa: ANN001
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.setFillColor(colors.HexColor("#666666"))
        canvas.drawString(MARGIN, MARGIN * 0.6, f"{title} · 评议结果报告 · 内部资料，注意保密")
        canvas.drawRightString(PAGE_W - MARGIN, MARGIN * 0.6, f"第 {doc_.page} 页")
        canvas.restoreState()

    story: list[object] = []
    story.append(_p(f"{title}", st["title"]))
    summary = results.summary
    turnout = "；".join(
        f"{g['name']} {g['received']}票" + (f"（应参与{g['expected']}人，参与率{g['participation'] * 100:.1f}%）"
                                            if g["expected"] else "")
        for g in summary["groups"])
    made_on = (inputs.made_on or beijing_today()).isoformat()
    story.append(_p(f"{words.title}结果报告 · 共{len(spec.subjects)}个{words.subject} · 收到{summary['ballots_received']}张评议票 · "
                    f"生成于 {made_on}", st["subtitle"]))
    story.append(_p(f"参评情况：{turnout}", st["small"]))
    story.append(Spacer(1, 4))

    records = results.scorecard.records()
    common, own = common_notes([flag_notes(spec, results.scorecard.flags_of(r["subject"])) for r in records])
    if common:
        story.append(_p(f"说明（全部{words.subject}）：" + "；".join(common), st["small"]))
        story.append(Spacer(1, 3))
    story.append(_summary_table(records, own, words.subject, st))
    story.append(Spacer(1, 8))
    bands = [(b.grade, b.min) for b in spec.scheme.grades]
    all_rows = composite_rows(results)
    for start in range(0, len(all_rows), CHART_ROWS):
        chart = composite_chart(all_rows[start:start + CHART_ROWS], width=CONTENT_W, bands=bands, size=9)
        heading = "综合得分（条形）与公众评分（◇）及其95%区间（横线）" + ("（续）" if start else "")
        story.append(KeepTogether([_p(heading, st["h2"]), to_drawing(chart, font)]))

    remarks, rectifications = inputs.remarks, inputs.rectifications
    for record in results.scorecard.records():
        code = record["subject"]
        detail = subject_detail(results, code)
        story.append(PageBreak())
        story.extend(_subject_page(results, detail, remarks.get(code, ()), rectifications.get(code, ()), st, font))

    if inputs.comments is not None:
        story.append(PageBreak())
        story.extend(_comments_appendix(results, inputs.comments, st))
    story.append(Spacer(1, 10))
    story.append(_signature_block(st))
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _summary_table(records: Sequence[Mapping[str, object]], notes: Sequence[Sequence[str]], subject_word: str,
                   st: dict[str, ParagraphStyle]) -> Table:
    """Page 1's table: one row of figures per subject, and under a subject with notes of its
    own a row across the whole width with them, one per line (a narrow 说明 column wrapped
    every note into a column of fragments)."""
    header = ["排名", subject_word, "等次", "综合得分", "公众评分", "95%区间", "组织评分", "有效票"]
    widths = [11 * mm, 52 * mm, 14 * mm, 18 * mm, 18 * mm, 25 * mm, 18 * mm]
    widths.append(FRAME_W - sum(widths))
    rows: list[list[object]] = [header]
    spans: list[int] = []
    for r, own in zip(records, notes):
        rows.append([str(r["rank"] or "—"), f"{r['name']}（{r['subject']}）", r["grade"] or "—",
                     fmt_score(r["composite"]), fmt_score(r["public_score"]), _interval(r),
                     fmt_score(r["org_score"]), str(r["n"])])
        if own:
            spans.append(len(rows))
            rows.append([_p("\n".join(f"· {note}" for note in own), st["note"])] + [""] * (len(header) - 1))
    table = _table(rows, widths, st["cell"])
    style = []
    for row in spans:
        style += [("SPAN", (0, row), (-1, row)), ("LINEBELOW", (0, row - 1), (-1, row - 1), 0, colors.white)]
    table.setStyle(TableStyle(style))
    return table


def _subject_page(results: RoundResults, detail: SubjectDetail, remarks: Sequence[LeaderRemark],
                  entries: Sequence[Rectification], st: dict[str, ParagraphStyle], font: str) -> list[object]:
    spec = results.spec
    r = detail.row
    out: list[object] = [_p(f"{r['rank'] or '—'}. {detail.name}（{detail.code}）", st["h1"])]
    figures = [["等次", "综合得分", "公众评分", "95%区间", "组织评分（人数）", "有效票", "正面评价", "负面评价"],
               [r["grade"] or "—", fmt_score(r["composite"]), fmt_score(r["public_score"]), _interval(r),
                f"{fmt_score(r['org_score'])}（{r['org_raters']}）", str(r["n"]),
                fmt_share(r["positive_share"]), fmt_share(r["negative_share"])]]
    out.append(_table(figures, [FRAME_W / 8] * 8, st["cell"]))
    flags = flag_notes(spec, detail.flags)
    if flags:
        out.append(Spacer(1, 3))
        out.extend(_p(f"· {text}", st["small"]) for text in flags)
    if detail.commitment:
        out.append(_p("公开承诺", st["h2"]))
        out.append(_p(detail.commitment, st["body"]))

    out.append(_p("各群体评价", st["h2"]))
    rows: list[list[object]] = [["群体", "权重", "有效票", "群体得分", "正面评价比例"]]
    for g in detail.groups:
        if g.blanked:
            rows.append([g.name, f"{g.weight:g}", str(g.n), "不予显示", "不予显示"])
        else:
            rows.append([g.name, f"{g.weight:g}", str(g.n), fmt_score(g.score), fmt_share(g.positive_share)])
    out.append(_table(rows, [FRAME_W * w for w in (0.32, 0.12, 0.14, 0.2, 0.22)], st["cell"]))

    out.append(_p("各项评价（可计入的群体合并）", st["h2"]))
    labels = {k: label for k, label, _ in detail.levels}
    rows = [["评议项目", "平均分", *[labels[k] for k, _, _ in detail.levels], "不了解", "负面评价"]]
    for item in detail.items:
        f = item.overall
        if f is None:
            rows.append([item.text, "不予显示", *["—" for _ in detail.levels], "—", "—"])
        else:
            rows.append([item.text, fmt_score(f.mean), *[str(f.counts[k]) for k, _, _ in detail.levels],
                         str(f.unknown), fmt_share(f.negative_share)])
    first = FRAME_W * 0.34
    rest = (FRAME_W - first) / (len(rows[0]) - 1)
    out.append(_table(rows, [first] + [rest] * (len(rows[0]) - 1), st["cell"]))
    bars = distribution_rows(detail)
    if bars:
        chart = distribution_chart(bars, [label for _, label, _ in detail.levels], [p for _, _, p in detail.levels],
                                   width=CONTENT_W, size=8.5)
        out.append(Spacer(1, 4))
        out.append(to_drawing(chart, font))

    out.append(_p("领导点评", st["h2"]))
    if remarks:
        for remark in remarks:
            out.append(_p(remark.text, st["body"]))
            out.append(_p(f"—— {remark.reviewer_name}，{remark.written_on.isoformat()}", st["small"]))
    else:
        out.append(_p("（暂无）", st["small"]))

    out.append(_p("整改事项", st["h2"]))
    if entries:
        rows = [["问题", "整改措施", "责任人", "完成时限", "状态"]]
        for e in entries:
            rows.append([e.problem, e.measure or "—", e.responsible or "—",
                         e.due_on.isoformat() if e.due_on else "—", e.status_label])
        out.append(_table(rows, [FRAME_W * w for w in (0.36, 0.3, 0.12, 0.12, 0.1)], st["cell"]))
    else:
        out.append(_p("（暂无）", st["small"]))
    return out


def _comments_appendix(results: RoundResults, comments: Mapping[str, Sequence[tuple[str | None, str]]],
                       st: dict[str, ParagraphStyle]) -> list[object]:
    """附录 意见建议: each subject's comments, numbered, in the order given (random)."""
    words = vocabulary(results.spec)
    out: list[object] = [_p("附录：意见建议", st["h1"]),
                         _p("意见按随机顺序排列，原文照录；人数少的群体不标出处，以免推断出个人。", st["small"])]
    for record in results.scorecard.records():
        code = record["subject"]
        listed = comments.get(code, ())
        block: list[object] = [_p(f"{record['name']}（{code}）· {len(listed)}条", st["h2"])]
        if not listed:
            block.append(_p("（无）", st["small"]))
        for number, (group, text) in enumerate(listed, start=1):
            block.append(_p(f"{number}. {text}" + (f"（{group}）" if group else ""), st["body"]))
        out.append(KeepTogether(block[:3]))
        out.extend(block[3:])
    if not any(comments.values()):
        out.append(_p(f"本次评议没有收到对任何{words.subject}的意见建议。", st["small"]))
    return out


def _signature_block(st: dict[str, ParagraphStyle]) -> KeepTogether:
    """审核人, date and 单位盖章, with room to sign and stamp, kept together on one page."""
    cell = ParagraphStyle("sign", parent=st["body"], fontSize=11, leading=16)
    rows = [[_p("审核人（签字）：________________", cell), _p("审核日期：________年_____月_____日", cell)],
            [_p("单位（盖章）：", cell), ""]]
    table = Table(rows, colWidths=[FRAME_W * 0.55, FRAME_W * 0.45], rowHeights=[16 * mm, 32 * mm])
    table.setStyle(TableStyle([
        ("FONTNAME", (0, 0), (-1, -1), st["body"].fontName),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEABOVE", (0, 0), (-1, 0), 0.6, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 8),
    ]))
    return KeepTogether([table])
