"""A round of 群众评议 (mass evaluation) and what it is made of: subjects, items, groups,
and the organizational ratings (组织评价) entered for its subjects."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
    false,
    inspect,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from scoring.io import RATER_MAX
from scoring.spec import GroupAccess, RoundSpec, parse_spec  # GroupAccess re-exported: groups use the spec's enum

from ..rounds.lifecycle import RoundStatus
from .base import Base


group_subjects = Table(
    "group_subjects",
    Base.metadata,
    Column("group_id", ForeignKey("round_groups.id", ondelete="CASCADE"), primary_key=True),
    Column("subject_id", ForeignKey("round_subjects.id", ondelete="CASCADE"), primary_key=True),
)


class Round(Base):
    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    year: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default=RoundStatus.draft.value)
    opens_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closes_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    takes_comments: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the spec as imported: the source of truth for the scale and the scoring scheme
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: a random stamp, new whenever the round's definition (spec, subjects, items, groups) is
    #: stored: what the questionnaire's caches are keyed by, so an edit is never served stale
    spec_version: Mapped[str] = mapped_column(String(16), default=lambda: new_spec_version(), server_default="0")
    #: who holds the private key of the ballot box: "server" (derived from the installation's
    #: ballot box secret) or "teller" (a 监票人, until close); ``survey.ballotbox.keys``
    box_custody: Mapped[str] = mapped_column(String(8), default="server", server_default="server")
    #: the ballot box public key (X25519, hex), set when the round opens; never the private key
    box_public_key: Mapped[str | None] = mapped_column(String(64))
    #: server custody: what the round's key pair is derived from, with the server's secret
    box_key_id: Mapped[str | None] = mapped_column(String(32))
    #: sealed ballots that did not open or did not check at close: counted, never dropped silently
    box_unreadable: Mapped[int] = mapped_column(default=0, server_default="0")
    #: while closing: sealed ballots opened so far, of how many (the round page's progress)
    close_done: Mapped[int] = mapped_column(default=0, server_default="0")
    close_total: Mapped[int] = mapped_column(default=0, server_default="0")
    #: when the round was closed (the planned end is ``closes_at``)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    subjects: Mapped[list[Subject]] = relationship(
        back_populates="round", order_by="Subject.position", cascade="all, delete-orphan"
    )
    items: Mapped[list[Item]] = relationship(
        back_populates="round", order_by="Item.position", cascade="all, delete-orphan"
    )
    groups: Mapped[list[Group]] = relationship(
        back_populates="round", order_by="Group.position", cascade="all, delete-orphan"
    )

    __table_args__ = (
        CheckConstraint("status IN ('draft', 'open', 'closing', 'closed', 'published')", name="status_known"),
        CheckConstraint("box_custody IN ('server', 'teller')", name="box_custody_known"),
    )

    @property
    def state(self) -> RoundStatus:
        """The status as the enum, whose predicates say what the round allows now."""
        return RoundStatus(self.status)

    def group(self, key: str) -> Group | None:
        return next((g for g in self.groups if g.key == key), None)

    def __repr__(self) -> str:
        return f"<Round {self.slug} {self.status}>"


def new_spec_version() -> str:
    return secrets.token_hex(8)


@event.listens_for(Session, "before_flush")
def _stamp_edited_rounds(session: Session, flush_context, instances) -> None:  # noqa: ANN001
    """Give a round a new ``spec_version`` whenever it or a part of it is changed or removed."""
    rounds = set()
    for obj in [*session.dirty, *session.new, *session.deleted]:
        if isinstance(obj, Round):
            if obj not in session.new and session.is_modified(obj, include_collections=False):
                rounds.add(obj)
        elif isinstance(obj, (Subject, Item, Group)) and obj.round is not None:
            if obj in session.dirty and not _definition_changed(obj):
                continue
            rounds.add(obj.round)
    for round_ in rounds:
        if round_ not in session.deleted:
            round_.spec_version = new_spec_version()


#: columns that say how a group is running, not what the round asks: changing them (pausing
#: an open link) leaves the questionnaire as it is
_RUNNING_STATE = frozenset({"paused"})


def _definition_changed(obj: object) -> bool:
    state = inspect(obj)
    return any(attr.key not in _RUNNING_STATE and attr.history.has_changes() for attr in state.attrs)


class Subject(Base):
    """A party branch, office or leader being rated; ``code`` is stable across years."""

    __tablename__ = "round_subjects"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    #: the subject's published 公开承诺, shown to respondents under its name
    commitment: Mapped[str | None] = mapped_column(Text)
    #: its 述职, its own account of the year, shown folded under its name for raters to read first
    report: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int]

    round: Mapped[Round] = relationship(back_populates="subjects")

    __table_args__ = (UniqueConstraint("round_id", "code"),)


class Item(Base):
    __tablename__ = "round_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(String(500))
    weight: Mapped[float] = mapped_column(Float)
    position: Mapped[int]

    round: Mapped[Round] = relationship(back_populates="items")

    __table_args__ = (UniqueConstraint("round_id", "key"),)


class Group(Base):
    """A respondent group (教职工, 学生, ...) and how it reaches the questionnaire."""

    __tablename__ = "round_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    weight: Mapped[float] = mapped_column(Float)
    #: a ``GroupAccess`` value, stored as its string; read it as ``mode``
    access: Mapped[str] = mapped_column(String(8))
    #: the group's size, for participation
    expected: Mapped[int | None]
    once_per_device: Mapped[bool] = mapped_column(Boolean, default=True)
    #: ballot codes issued so far; those still stored are the unused ones
    codes_issued: Mapped[int] = mapped_column(default=0)
    #: ballots taken through the open link, counted in each ballot's transaction: what its cap
    #: (``expected`` × ``cap_factor``) is checked against, without counting the ballots
    open_ballots: Mapped[int] = mapped_column(default=0, server_default="0")
    #: ballots one client address may cast on the open link per minute (the spec's
    #: ``per_address_per_minute``, or its default, raised for an ``on_site`` group)
    per_address_per_minute: Mapped[int] = mapped_column(default=60, server_default="60")
    #: an on-site session (现场测评): the whole group answers in one hall, on one network
    on_site: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: an organizer has paused the open link: it takes no ballot until resumed
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    position: Mapped[int]

    round: Mapped[Round] = relationship(back_populates="groups")
    subjects: Mapped[list[Subject]] = relationship(secondary=group_subjects, order_by="Subject.position")

    @property
    def mode(self) -> GroupAccess:
        """How its respondents reach the questionnaire, as the enum."""
        return GroupAccess(self.access)

    @property
    def is_open(self) -> bool:
        """Answered through one open link (QR) rather than single-use codes."""
        return self.mode is GroupAccess.open

    __table_args__ = (
        UniqueConstraint("round_id", "key"),
        CheckConstraint(f"access IN ({', '.join(repr(a.value) for a in GroupAccess)})", name="access_known"),
    )


class OrgRating(Base):
    """One organizational rating (组织评价): a rater's 0–100 score for a subject."""

    __tablename__ = "org_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    subject_id: Mapped[int] = mapped_column(ForeignKey("round_subjects.id", ondelete="CASCADE"))
    rater: Mapped[str] = mapped_column(String(RATER_MAX))
    score: Mapped[float] = mapped_column(Float)

    subject: Mapped[Subject] = relationship()

    __table_args__ = (
        UniqueConstraint("subject_id", "rater"),
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
    )


def round_spec(round_: Round) -> RoundSpec:
    """The stored spec, parsed again: what scoring, the ballot box and the questionnaire read."""
    return parse_spec(round_.spec, require_round=True)
