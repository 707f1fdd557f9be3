"""领导点评 (leaders' remarks): a reviewer's remark on a subject of a closed round, shown on the
subject page, in the PDF report and in the console's workbook."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import select

from ..errors import NotFound, ServiceError
from ..extensions import db
from ..models import LeaderRemark, Round, Subject
from ..timefmt import beijing_today
from ..rounds.lifecycle import refuse_while_sealed
from .services import REMARK_COLUMNS

TEXT_MAX = 2000
NAME_MAX = 100


class RemarkRefused(ServiceError):
    """A remark that cannot be stored as given."""


def remarks_by_subject(round_: Round) -> dict[str, list[LeaderRemark]]:
    """The round's remarks per subject code, oldest first."""
    rows = db.session.scalars(
        select(LeaderRemark).join(Subject, Subject.id == LeaderRemark.subject_id)
        .where(LeaderRemark.round_id == round_.id)
        .order_by(Subject.position, LeaderRemark.written_on, LeaderRemark.id)
    ).all()
    out: dict[str, list[LeaderRemark]] = {}
    for remark in rows:
        out.setdefault(remark.subject.code, []).append(remark)
    return out


def remarks_frame(round_: Round) -> pd.DataFrame:
    """The remarks as the workbook's 领导点评 sheet: ``subject, name, reviewer, date, remark``."""
    rows = [
        {"subject": code, "name": r.subject.name, "reviewer": r.reviewer_name,
         "date": r.written_on.isoformat(), "remark": r.text}
        for code, remarks in remarks_by_subject(round_).items() for r in remarks
    ]
    return pd.DataFrame(rows, columns=list(REMARK_COLUMNS))


def save_remark(round_: Round, code: str, *, text: str, reviewer_name: str, author: str | None,
                on: date | None = None) -> tuple[LeaderRemark | None, dict[str, Any]]:
    """Store ``author``'s remark on subject ``code`` (replacing their earlier one), dated ``on``
    (default: today in Beijing); an empty text deletes it. Returns the remark (None when deleted) and what changed, for the audit log."""
    refuse_while_sealed(round_)
    subject = next((s for s in round_.subjects if s.code == code), None)
    if subject is None:
        raise NotFound(f"本轮评议没有代码为“{code}”的对象 (round {round_.slug!r} has no subject {code!r})")
    text = (text or "").strip()
    reviewer_name = (reviewer_name or "").strip()
    if len(text) > TEXT_MAX:
        raise RemarkRefused(f"点评不能超过{TEXT_MAX}字")
    if text and not reviewer_name:
        raise RemarkRefused("请填写点评人姓名")
    if len(reviewer_name) > NAME_MAX:
        raise RemarkRefused(f"点评人姓名不能超过{NAME_MAX}字")
    if "\x00" in text + reviewer_name:
        raise RemarkRefused("点评含有无效字符")
    remark = db.session.scalar(select(LeaderRemark).where(
        LeaderRemark.subject_id == subject.id,
        LeaderRemark.author.is_(None) if author is None else LeaderRemark.author == author))
    before = None if remark is None else {"text": remark.text, "reviewer_name": remark.reviewer_name}
    change = {"round": round_.slug, "subject": code, "before": before}
    if not text:
        if remark is not None:
            db.session.delete(remark)
            db.session.flush()
        change["after"] = None
        return None, change
    if remark is None:
        remark = LeaderRemark(round_id=round_.id, subject_id=subject.id, author=author,
                              text=text, reviewer_name=reviewer_name, written_on=on or beijing_today())
        db.session.add(remark)
    else:
        remark.text, remark.reviewer_name, remark.written_on = text, reviewer_name, on or beijing_today()
    db.session.flush()
    change["after"] = {"text": text, "reviewer_name": reviewer_name}
    return remark, change
