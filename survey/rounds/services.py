"""Creating a round from its spec, and closing it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.exc import DBAPIError

from scoring.spec import RoundSpec, SpecError, parse_spec

from ..errors import NotFound, ServiceError
from ..extensions import db
from ..models import BallotCode, Group, Item, Round, Subject
from ..database import sqlite_file
from ..wal import RETRY_AFTER, empty_and_stamp, empty_wal, sweeper
from .lifecycle import RoundStatus, transition
from .reseal import reseal_ballot_tables


class SpecRefused(ServiceError):
    """The spec has an error; nothing of it was stored."""


def check_spec(data: Any) -> RoundSpec:
    """Validate a decoded spec for the service (slug, title and access are required here)."""
    try:
        spec = parse_spec(data, require_round=True)
    except SpecError as exc:
        raise SpecRefused(f"spec refused: {exc}") from None
    _check_storable(spec)
    return spec


def _check_storable(spec: RoundSpec) -> None:
    """Refuse text the database cannot keep: longer than its column, or holding a NUL
    (PostgreSQL would fail half-way through the import; SQLite would keep it silently)."""
    texts = [("title", spec.title, Round.__table__.c.title.type.length)]
    texts += [(f"subjects[{i}].name", s.name, Subject.__table__.c.name.type.length) for i, s in enumerate(spec.subjects)]
    texts += [(f"subjects[{i}].commitment", s.commitment, None) for i, s in enumerate(spec.subjects)]
    texts += [(f"subjects[{i}].report", s.report, None) for i, s in enumerate(spec.subjects)]
    texts += [(f"items[{i}].text", it.text, Item.__table__.c.text.type.length) for i, it in enumerate(spec.items)]
    texts += [(f"groups[{i}].name", g.name, Group.__table__.c.name.type.length) for i, g in enumerate(spec.groups)]
    for field, value, limit in texts:
        if value is not None and "\x00" in value:
            raise SpecRefused(f"spec refused: {field}: must not contain a NUL character")
        if value is not None and limit is not None and len(value) > limit:
            raise SpecRefused(f"spec refused: {field}: must be at most {limit} characters, not {len(value)}")


def import_round(data: Any) -> Round:
    """Create a draft round from a spec; the spec is refused as a whole on any error."""
    spec = check_spec(data)
    reserved = [g.key for g in spec.groups if g.key == "receipts"]
    if reserved:
        raise SpecRefused("spec refused: groups: 'receipts' is reserved for the receipts page; pick another key")
    if db.session.scalar(select(Round.id).where(Round.slug == spec.slug)) is not None:
        raise SpecRefused(f"spec refused: slug: a round {spec.slug!r} already exists")
    round_ = Round(
        slug=spec.slug, title=spec.title, year=spec.year, status=RoundStatus.draft.value,
        opens_at=_utc(spec.opens_at), closes_at=_utc(spec.closes_at), takes_comments=spec.comments,
        spec=dict(spec.raw),
    )
    subjects = {
        s.code: Subject(code=s.code, name=s.name, commitment=s.commitment, report=s.report, position=i)
        for i, s in enumerate(spec.subjects)
    }
    round_.subjects = list(subjects.values())
    round_.items = [Item(key=it.key, text=it.text, weight=it.weight, position=i) for i, it in enumerate(spec.items)]
    round_.groups = [
        Group(key=g.key, name=g.name, weight=g.weight, access=g.access, expected=g.expected,
              once_per_device=g.once_per_device, position=i,
              subjects=[subjects[c] for c in g.subjects])
        for i, g in enumerate(spec.groups)
    ]
    db.session.add(round_)
    db.session.flush()
    return round_


def _utc(moment: datetime | None) -> datetime | None:
    """Stored in UTC: SQLite keeps no offset, so every stored time means UTC."""
    return moment.astimezone(timezone.utc) if moment else None


def get_round(slug: str) -> Round:
    """The round with ``slug``, or ``NotFound`` naming it."""
    round_ = db.session.scalar(select(Round).where(Round.slug == slug))
    if round_ is None:
        raise NotFound(f"no round {slug!r}")
    return round_


def round_spec(round_: Round) -> RoundSpec:
    """The stored spec, parsed again: what scoring and the questionnaire read."""
    return parse_spec(round_.spec, require_round=True)


def close_round(round_: Round) -> int:
    """Close the round, destroy its unused codes and reseal the ballot tables; returns codes
    dropped.

    Unused codes have no purpose once no ballot can arrive, so they go. Then every table of
    ballot content is rebuilt in random order under fresh ids, in this same transaction
    (``reseal.reseal_ballot_tables``), so that no ``xmin``, ``ctid``, row id, position or row
    order follows the order of casting; ``compact_storage`` then empties SQLite's log.
    """
    transition(round_, "close")
    dropped = db.session.execute(delete(BallotCode).where(BallotCode.round_id == round_.id)).rowcount or 0
    reseal_ballot_tables()
    return dropped


#: what each lifecycle move does, said before it is done (the console's confirmation pages)
MOVE_EFFECTS: dict[str, list[str]] = {
    "open": [
        "问卷开始接受提交（在评议设定的起止时间之内）。",
        "评议的题目、对象、群体和计分方案从此冻结，不能再修改。",
        "评议进行中，任何人（包括管理员）都看不到得分、比例、等次和意见，只能看到参评人数。",
    ],
    "close": [
        "问卷不再接受提交。",
        "所有未使用的评议码被销毁，此后无法再把任何评议码与选票对应。",
        "全部选票、答案、意见建议和回执码重新打乱顺序、换用新的随机编号保存（重新封存），旧的数据表连同文件一并删除。",
        "结束后可以查看计分结果、导出数据。此操作不可撤销。",
    ],
    "publish": [
        "公开回执码列表：每位参评人可在公开页面核对自己的回执码是否被计入。",
        "组织评价从此不能再修改。此操作不可撤销。",
    ],
}


def move_round(round_: Round, action: str) -> str:
    """Open, close or publish ``round_`` and record it in the audit log; returns what
    happened, in words for the person who asked. The CLI and the console both call this.

    After a close, the caller runs ``compact_storage`` once the unit of work has committed.
    """
    from ..auth import audit
    from ..timefmt import beijing
    from .lifecycle import aware

    if action == "close":
        dropped = close_round(round_)
        audit.record("round.close", round_slug=round_.slug, codes_destroyed=dropped)
        return f"{round_.slug}: closed; {dropped} ballot codes destroyed, so no code can be matched to a ballot"
    transition(round_, action)
    audit.record(f"round.{action}", round_slug=round_.slug)
    if action == "open":
        now = datetime.now(timezone.utc)
        if round_.opens_at is not None and aware(round_.opens_at) > now:
            start = beijing(round_.opens_at).strftime("%Y-%m-%d %H:%M")
            return f"{round_.slug}: open; it takes ballots from {start} Beijing time (its opens_at), not before"
        until = f" until {beijing(round_.closes_at).strftime('%Y-%m-%d %H:%M')} Beijing time" if round_.closes_at else ""
        return f"{round_.slug}: open; it takes ballots now{until}"
    return f"{round_.slug}: {round_.status}"


def compact_storage() -> None:
    """Leave no old copy on disk (run after ``close_round`` or a reseal commits): SQLite's log
    is emptied and its file rebuilt; PostgreSQL's dropped files are removed at a checkpoint
    (issued here when the account may, else PostgreSQL's own within minutes; their content was
    truncated away at commit already)."""
    engine = db.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "sqlite":
            driver, path = conn.connection.driver_connection, sqlite_file()
            empty_wal(driver, wait=5)
            conn.execute(text("VACUUM"))
            if path is not None and not empty_and_stamp(driver, path, wait=5):  # readers for 5 s
                sweeper.after_commit(path, RETRY_AFTER)
        elif engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE ballot_codes, ballots, answers, comments, receipts"))
            try:
                conn.execute(text("CHECKPOINT"))
            except DBAPIError:  # needs superuser or pg_checkpoint; PostgreSQL checkpoints by itself
                pass
