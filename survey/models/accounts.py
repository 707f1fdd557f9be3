"""Console accounts, the rounds a reviewer may read, and the audit log (failed sign-ins are
counted with the installation's other limits: ``LimitCount``).

Nothing here is about respondents: these tables hold organizers, reviewers and
administrators, and what they did.
"""

from __future__ import annotations

import enum
from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .rounds import Round


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Role(str, enum.Enum):
    """What an account may do (survey.auth.access.RIGHTS says it right by right)."""

    admin = "admin"
    organizer = "organizer"
    reviewer = "reviewer"

    @property
    def label(self) -> str:
        return {"admin": "管理员", "organizer": "组织者", "reviewer": "评阅人"}[self.value]


reviewer_rounds = Table(
    "reviewer_rounds",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("round_id", ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A console account. The password is kept only as a salted scrypt hash."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: raised when the account is disabled or its password reset: sessions signed in under an
    #: older epoch end at their next request
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    rounds: Mapped[list[Round]] = relationship(secondary=reviewer_rounds, order_by="Round.id")

    __table_args__ = (CheckConstraint("role IN ('admin', 'organizer', 'reviewer')", name="role_known"),)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class AuditEntry(Base):
    """One line of the audit log. ``hash`` covers this entry's fields and ``prev_hash``, the
    hash of the entry before it, so changing or removing any entry breaks the chain from there
    (``flask --app survey audit verify``)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    round_slug: Mapped[str | None] = mapped_column(String(32))
    #: canonical JSON of the details (sorted keys), exactly as hashed
    detail: Mapped[str] = mapped_column(Text, default="{}")
    #: unique: two writers that read the same last entry cannot both append after it
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64))
