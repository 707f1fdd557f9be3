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
from .lifecycle import transition
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
        slug=spec.slug, title=spec.title, year=spec.year, status="draft",
        opens_at=_utc(spec.opens_at), closes_at=_utc(spec.closes_at), takes_comments=spec.comments,
        spec=dict(spec.raw),
    )
    subjects = {
        s.code: Subject(code=s.code, name=s.name, commitment=s.commitment, position=i)
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


def compact_storage() -> None:
    """Leave no old copy on disk (run after ``close_round`` or a reseal commits): SQLite's log
    is emptied and its file rebuilt; PostgreSQL's dropped files are removed at a checkpoint
    (issued here when the account may, else PostgreSQL's own within minutes; their content was
    truncated away at commit already)."""
    engine = db.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
            conn.execute(text("VACUUM"))
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        elif engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE ballot_codes, ballots, answers, comments, receipts"))
            try:
                conn.execute(text("CHECKPOINT"))
            except DBAPIError:  # needs superuser or pg_checkpoint; PostgreSQL checkpoints by itself
                pass
