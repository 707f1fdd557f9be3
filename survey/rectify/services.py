"""整改 follow-up: results used to improve work.

From a closed round's results an organizer or reviewer draws up a 整改 list: subjects whose
grade is at or below a level they pick, subjects flagged for review, and items whose negative
share passes a threshold each get an entry with the problem written out from the figures.
People then fill in the measure, who is responsible, the due date, the status and a note.

Entries name the subject by its code, so when a later round rates the same code, each entry
shows its figure before and after (整改成效): the composite for a subject entry, the item's
negative share and mean for an item entry.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import select

from ..errors import NotFound, ServiceError
from ..extensions import db
from ..models import Rectification, RectificationStatus, Round
from ..scorecard.detail import subject_detail
from ..scorecard.history import round_order, rounds_with_subject
from ..scorecard.services import RoundResults, round_results
from ..scorecard.words import metric_words, rule_words

TEXT_MAX = 2000
NAME_MAX = 100


class RectificationRefused(ServiceError):
    """A 整改 entry or setting that cannot be used as given."""


@dataclass(frozen=True)
class Triggers:
    """What puts a subject or an item on the list."""

    grade_at_or_below: str | None = None  #: a grade of the round's scheme, e.g. 一般
    negative_share_above: float | None = None  #: e.g. 0.2: an item with more negative answers
    review: bool = True  #: subjects flagged review:<n>


@dataclass(frozen=True)
class Proposal:
    subject_code: str
    item_key: str | None
    reason: str  #: grade, review or negative_share
    figure: float | None
    problem: str


def propose(results: RoundResults, triggers: Triggers) -> list[Proposal]:
    """The entries the triggers call for, in scorecard order (figures as the scorecard and the
    subject pages show them, blanked groups never used on their own)."""
    spec = results.spec
    grades = [band.grade for band in spec.scheme.grades]
    if triggers.grade_at_or_below is not None and triggers.grade_at_or_below not in grades:
        raise RectificationRefused(f"等次「{triggers.grade_at_or_below}」不在本轮等次中（{'、'.join(grades)}）")
    if triggers.negative_share_above is not None and not 0 <= triggers.negative_share_above < 1:
        raise RectificationRefused("负面评价比例阈值应在 0 到 1 之间")
    out: list[Proposal] = []
    for row in results.scorecard.records():
        code = row["subject"]
        grade, composite = row["grade"], row["composite"]
        if (triggers.grade_at_or_below is not None and grade in grades
                and grades.index(grade) >= grades.index(triggers.grade_at_or_below)):
            out.append(Proposal(code, None, "grade", composite,
                                f"综合得分{composite:.2f}，等次「{grade}」"
                                f"（在「{triggers.grade_at_or_below}」及以下）"))
        if triggers.review:
            for flag in results.scorecard.flags_of(code):
                if flag.startswith("review:"):
                    n = int(flag.partition(":")[2])
                    rule = spec.scheme.rules[n - 1]
                    out.append(Proposal(code, None, "review", composite,
                                        f"第{n}条规则触发（{rule_words(spec, rule)}），等次需复核"))
        if triggers.negative_share_above is not None:
            detail = subject_detail(results, code)
            for item in detail.items:
                share = item.overall.negative_share if item.overall else None
                if share is not None and share > triggers.negative_share_above:
                    out.append(Proposal(
                        code, item.key, "negative_share", share,
                        f"「{item.text}」{metric_words(spec, 'negative_share')}{share * 100:.1f}%"
                        f"（超过{triggers.negative_share_above * 100:g}%），平均分{item.overall.mean:.2f}"))
    return out


def draw_up(results: RoundResults, triggers: Triggers) -> list[Rectification]:
    """Add an entry for each proposal the round does not have yet (same subject, item and
    reason); returns the new entries. Entries already there keep what people wrote in them."""
    existing = {(e.subject_code, e.item_key, e.reason) for e in entries_of(results.round)}
    added = []
    for p in propose(results, triggers):
        if (p.subject_code, p.item_key, p.reason) in existing:
            continue
        existing.add((p.subject_code, p.item_key, p.reason))
        entry = Rectification(round_id=results.round.id, subject_code=p.subject_code, item_key=p.item_key,
                              reason=p.reason, figure=p.figure, problem=p.problem, measure="",
                              responsible="", status=RectificationStatus.not_started.value, note="")
        db.session.add(entry)
        added.append(entry)
    db.session.flush()
    return added


def entries_of(round_: Round) -> list[Rectification]:
    """The round's entries, by subject position then item order."""
    subjects = {s.code: s.position for s in round_.subjects}
    items = {i.key: i.position for i in round_.items}
    rows = db.session.scalars(select(Rectification).where(Rectification.round_id == round_.id)).all()
    return sorted(rows, key=lambda e: (subjects.get(e.subject_code, 1 << 30), e.item_key is not None,
                                       items.get(e.item_key or "", -1), e.id))


def get_entry(round_: Round, entry_id: int) -> Rectification:
    entry = db.session.get(Rectification, entry_id)
    if entry is None or entry.round_id != round_.id:
        raise NotFound(f"没有第 {entry_id} 号整改事项 (round {round_.slug!r} has no 整改 entry {entry_id})")
    return entry


def update_entry(entry: Rectification, *, problem: str | None = None, measure: str = "", responsible: str = "",
                 due_on: date | None = None, status: str = "not_started", note: str = "") -> dict[str, object]:
    """Change an entry; returns the fields that changed (before, after), for the audit log."""
    try:
        status = RectificationStatus(status).value
    except ValueError:
        raise RectificationRefused("状态应为 未开始、进行中 或 已完成") from None
    values = {"measure": measure.strip(), "responsible": responsible.strip(), "due_on": due_on,
              "status": status, "note": note.strip()}
    if problem is not None:
        values["problem"] = problem.strip()
        if not values["problem"]:
            raise RectificationRefused("请填写存在的问题")
    for field in ("problem", "measure", "note"):
        if field in values and len(str(values[field])) > TEXT_MAX:
            raise RectificationRefused(f"每项内容不能超过{TEXT_MAX}字")
    if len(values["responsible"]) > NAME_MAX:
        raise RectificationRefused(f"责任人不能超过{NAME_MAX}字")
    changed = {}
    for field, value in values.items():
        old = getattr(entry, field)
        if old != value:
            changed[field] = (str(old) if old is not None else None, str(value) if value is not None else None)
            setattr(entry, field, value)
    db.session.flush()
    return changed


@dataclass(frozen=True)
class Effect:
    """An entry's figure before and, once a later round rated the subject, after."""

    entry: Rectification
    before: float | None
    before_mean: float | None  #: item entries: the item's mean
    later_round: str | None  #: the slug of the later round, if any
    after: float | None
    after_mean: float | None

    @property
    def change(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before


def effects(round_: Round, entries: list[Rectification] | None = None,
            cache: dict[int, RoundResults] | None = None) -> list[Effect]:
    """Before and after (整改成效) for each entry: the next closed round that rates the code."""
    cache = {} if cache is None else cache

    def results_of(r: Round) -> RoundResults:
        if r.id not in cache:
            cache[r.id] = round_results(r, with_interval=False)
        return cache[r.id]

    out = []
    here = round_order(round_)
    for entry in entries_of(round_) if entries is None else entries:
        later = next((r for r in rounds_with_subject(entry.subject_code)
                      if round_order(r) > here and not r.state.results_sealed), None)
        before, before_mean = entry.figure, None
        if entry.item_key is not None:
            before_mean = _item(results_of(round_), entry.subject_code, entry.item_key, "mean")
        after = after_mean = None
        if later is not None:
            res = results_of(later)
            if entry.item_key is None:
                after = next(r for r in res.scorecard.records() if r["subject"] == entry.subject_code)["composite"]
            else:
                after = _item(res, entry.subject_code, entry.item_key, "negative_share")
                after_mean = _item(res, entry.subject_code, entry.item_key, "mean")
        out.append(Effect(entry, before, before_mean, later.slug if later else None, after, after_mean))
    return out


def _item(results: RoundResults, code: str, item: str, attr: str) -> float | None:
    if item not in results.spec.item_keys:
        return None
    row = next(r for r in subject_detail(results, code).items if r.key == item)
    return None if row.overall is None else getattr(row.overall, attr)


LEDGER_COLUMNS = ["subject", "name", "item", "reason", "problem", "measure", "responsible", "due_on", "status",
                  "note", "later_round", "composite_before", "composite_after", "negative_share_before",
                  "negative_share_after", "mean_before", "mean_after"]

#: the ledger workbook's headers: reviewers read Chinese (the frame keeps the keys above)
LEDGER_HEADERS = {
    "subject": "代码", "name": "评议对象", "item": "评议项目", "reason": "列入原因", "problem": "存在问题",
    "measure": "整改措施", "responsible": "责任人", "due_on": "完成时限", "status": "状态", "note": "备注",
    "later_round": "对照评议", "composite_before": "整改前综合得分", "composite_after": "整改后综合得分",
    "negative_share_before": "整改前负面比例", "negative_share_after": "整改后负面比例",
    "mean_before": "整改前均分", "mean_after": "整改后均分",
}

REASON_WORDS = {"grade": "等次", "review": "需复核", "negative_share": "负面评价比例",
                "comment": "意见建议", "remark": "领导点评", "meeting": "会议"}
#: the reasons of entries added by hand, as the form offers them
BY_HAND = {"comment": "来自意见建议", "remark": "来自领导点评", "meeting": "来自会议"}


def add_entry(round_: Round, *, subject_code: str, item_key: str | None, reason: str, problem: str,
              measure: str = "", responsible: str = "", due_on: date | None = None, note: str = "") -> Rectification:
    """A 整改 entry written by hand (from a comment, a 领导点评 or a meeting), for a subject of
    the round and, if given, one of its items; it has no figure of its own, so its 整改成效 is
    the later round's."""
    if reason not in BY_HAND:
        raise RectificationRefused("来源应为 意见建议、领导点评 或 会议")
    if subject_code not in {s.code for s in round_.subjects}:
        raise RectificationRefused(f"本轮没有评议对象 {subject_code}")
    if item_key and item_key not in {i.key for i in round_.items}:
        raise RectificationRefused(f"本轮没有评议项目 {item_key}")
    entry = Rectification(round_id=round_.id, subject_code=subject_code, item_key=item_key or None, reason=reason,
                          figure=None, problem="", measure="", responsible="",
                          status=RectificationStatus.not_started.value, note="")
    update_entry(entry, problem=problem, measure=measure, responsible=responsible, due_on=due_on, note=note)
    db.session.add(entry)
    db.session.flush()
    return entry


def ledger_frame(round_: Round, effects_: list[Effect]) -> pd.DataFrame:
    """The 整改 ledger (台账) as a table: one row per entry with its figures before and after
    (the composite for a subject entry; the item's negative share and mean for an item entry)
    and the later round they come from."""
    names = {s.code: s.name for s in round_.subjects}
    items = {i.key: i.text for i in round_.items}
    rows = []
    for eff in effects_:
        e = eff.entry
        row = {
            "subject": e.subject_code, "name": names.get(e.subject_code, ""),
            "item": items.get(e.item_key, e.item_key) if e.item_key else "",
            "reason": REASON_WORDS.get(e.reason, e.reason), "problem": e.problem, "measure": e.measure,
            "responsible": e.responsible, "due_on": e.due_on.isoformat() if e.due_on else "",
            "status": e.status_label, "note": e.note, "later_round": eff.later_round or "",
        }
        if e.item_key is None:
            row.update(composite_before=eff.before, composite_after=eff.after)
        else:
            row.update(negative_share_before=eff.before, negative_share_after=eff.after,
                       mean_before=eff.before_mean, mean_after=eff.after_mean)
        rows.append(row)
    return pd.DataFrame(rows, columns=LEDGER_COLUMNS)


def ledger_xlsx(frame: pd.DataFrame) -> bytes:
    """The ledger as a workbook (the scoring library's sheet formatting), headed in Chinese."""
    from scoring.workbook import add_table_sheet, new_book

    book = new_book()
    formats = {c: None for c in frame.columns}
    formats.update(composite_before="0.00", composite_after="0.00", mean_before="0.00", mean_after="0.00",
                   negative_share_before="0.0000", negative_share_after="0.0000")
    formats = {LEDGER_HEADERS.get(c, c): f for c, f in formats.items()}
    add_table_sheet(book, "整改台账", frame.rename(columns=LEDGER_HEADERS), formats=formats, freeze="C2")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
