"""What reviewers add to a closed round's results: 领导点评 (leaders' remarks), 整改 entries
(rectification: what is done about a weak result) and the feedback links that hand a rated
subject its own results (向本人反馈)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, random_id
from .rounds import Round, Subject


class LeaderRemark(Base):
    """A leader's remark (领导点评) on one subject of a closed round."""

    __tablename__ = "leader_remarks"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("round_subjects.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    #: the name printed under the remark (e.g. 王书记), as the reviewer gives it
    reviewer_name: Mapped[str] = mapped_column(String(100))
    written_on: Mapped[date] = mapped_column(Date)
    #: the account that wrote it; one remark per account and subject, edited in place
    author: Mapped[str | None] = mapped_column(String(64))

    subject: Mapped[Subject] = relationship()

    __table_args__ = (UniqueConstraint("subject_id", "author"),)


class RectificationStatus(str, enum.Enum):
    """Where a 整改 entry stands."""

    not_started = "not_started"
    in_progress = "in_progress"
    done = "done"

    @property
    def label(self) -> str:
        return {"not_started": "未开始", "in_progress": "进行中", "done": "已完成"}[self.value]


class Rectification(Base):
    """One 整改 entry: a problem a round's results showed, and what is done about it.

    It names the subject by its code, which stays the same across years, so that a later
    round that rates the same code shows the figure before and after (整改成效).
    """

    __tablename__ = "rectifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the round whose results raised the problem
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    subject_code: Mapped[str] = mapped_column(String(32))
    #: the item the problem is about; None for the subject as a whole (its grade or a review flag)
    item_key: Mapped[str | None] = mapped_column(String(32))
    #: what raised it: drawn up from the results, "grade", "review" or "negative_share"; added
    #: by hand, "comment" (an 意见建议), "remark" (a 领导点评) or "meeting" (a meeting's decision)
    reason: Mapped[str] = mapped_column(String(16))
    #: the figure that raised it (composite, or the item's negative share), for before/after
    figure: Mapped[float | None] = mapped_column(Float)
    problem: Mapped[str] = mapped_column(Text)
    measure: Mapped[str] = mapped_column(Text, default="")
    responsible: Mapped[str] = mapped_column(String(100), default="")
    due_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default=RectificationStatus.not_started.value)
    note: Mapped[str] = mapped_column(Text, default="")

    round: Mapped[Round] = relationship()

    __table_args__ = (
        CheckConstraint("status IN ('not_started', 'in_progress', 'done')", name="status_known"),
        CheckConstraint("reason IN ('grade', 'review', 'negative_share', 'comment', 'remark', 'meeting')",
                        name="reason_known"),
        Index("ix_rectifications_subject_code", "subject_code"),
        Index("ix_rectifications_round_id", "round_id"),
    )

    @property
    def status_label(self) -> str:
        return RectificationStatus(self.status).label


class FeedbackLink(Base):
    """A link that shows one subject its own results (向本人反馈) until it expires.

    The address carries a signed token of ``id``; the row says which subject it shows, until
    when, and whether an organizer withdrew it.
    """

    __tablename__ = "feedback_links"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=random_id)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("round_subjects.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str | None] = mapped_column(String(64))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    round: Mapped[Round] = relationship()
    subject: Mapped[Subject] = relationship()


__all__ = ["FeedbackLink", "LeaderRemark", "Rectification", "RectificationStatus"]
