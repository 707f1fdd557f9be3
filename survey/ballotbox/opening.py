"""Opening a round's ballot box at close: every sealed ballot decrypted in memory, checked
against the round, and written as a ballot with its answers and comments, in random order
under fresh random ids; then the sealed rows and the spent codes go with their tables' files.

The work is done in chunks of ``CHUNK`` ballots, each its own short transaction that writes the
opened ballots and deletes their sealed rows, so a large round (20,000 ballots) neither holds
the database's write lock for long nor loses work when interrupted: closing again resumes with
the rows still sealed. The chunks are random subsets of the box, so even the transaction that
wrote a ballot says nothing of when it was cast. A box that does not open, or whose content is
not a valid ballot of its group, is counted (``Round.box_unreadable``), never dropped silently.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from nacl.public import PrivateKey
from sqlalchemy import Connection, delete, insert, select, text, update

from scoring.scales import UNKNOWN

from ..database import write_unit_of_work
from ..extensions import db
from ..models import Answer, Ballot, BallotCode, Base, Comment, Receipt, Round, SealedBallot, random_id, round_spec
from .seal import COMMENT_MAX, BallotContent, Unreadable, unseal

#: sealed ballots opened per transaction
CHUNK = 500
#: tables whose files hold what a ballot's transaction wrote while the round was open
#: (the spent code's deleted row, the sealed row): rebuilt at close on PostgreSQL, where a
#: deleted row stays in the file, stamped with its transaction, until vacuumed. Locked in the
#: order a ballot's transaction takes them, so the two never wait for each other in a circle.
SWAPPED_TABLES = ("ballot_codes", "sealed_ballots")

_rng = random.SystemRandom()

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RoundShape:
    """What a ballot of each group may contain: checked for every opened box."""

    subjects_of_group: dict[int, frozenset[int]]
    items: frozenset[int]
    levels: frozenset[str]

    @classmethod
    def of(cls, round_: Round) -> RoundShape:

        spec = round_spec(round_)
        ids = {s.code: s.id for s in round_.subjects}
        return cls(
            subjects_of_group={g.id: frozenset(ids[c] for c in spec.group(g.key).subjects) for g in round_.groups},
            items=frozenset(i.id for i in round_.items),
            levels=frozenset([*(level.key for level in spec.scale.levels), UNKNOWN]),
        )

    def check(self, content: BallotContent, group_id: int) -> None:
        """``Unreadable`` unless ``content`` is a ballot its group's questionnaire could send."""
        subjects = self.subjects_of_group.get(group_id)
        if subjects is None:
            raise Unreadable("the box names no group of this round")
        seen = set()
        for subject, item, level in content.answers:
            if subject not in subjects or item not in self.items or level not in self.levels:
                raise Unreadable("an answer names no subject, item or level of its questionnaire")
            if (subject, item) in seen:
                raise Unreadable("an item is answered twice")
            seen.add((subject, item))
        if not seen:
            raise Unreadable("the ballot holds no answer")
        commented = set()
        for subject, comment in content.comments:
            if subject not in subjects or subject in commented or not comment or len(comment) > COMMENT_MAX or "\x00" in comment:
                raise Unreadable("a comment is not one the questionnaire could send")
            commented.add(subject)


@dataclass(frozen=True)
class Opened:
    """What opening the box did."""

    ballots: int  #: opened and written as ballots
    unreadable: int  #: did not open or did not check (this time)


def open_box(round_: Round, key: PrivateKey, *, progress: Progress | None = None) -> Opened:
    """Open every sealed ballot of ``round_`` (closing) with ``key``; each chunk commits."""
    shape = RoundShape.of(round_)
    ids = list(db.session.scalars(select(SealedBallot.id).where(SealedBallot.round_id == round_.id)))
    db.session.rollback()
    _rng.shuffle(ids)
    opened = unreadable = 0
    if progress:
        progress(0, len(ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        with write_unit_of_work():
            good, bad = _open_chunk(round_.id, chunk, key, shape)
        opened, unreadable = opened + good, unreadable + bad
        if progress:
            progress(start + len(chunk), len(ids))
    return Opened(opened, unreadable)


def _open_chunk(round_id: int, ids: list[str], key: PrivateKey, shape: RoundShape) -> tuple[int, int]:
    # locked (PostgreSQL; SQLite's write lock is already held): of two closes running at once,
    # the second finds the rows the first opened gone, instead of writing their ballots twice
    rows = db.session.execute(
        select(SealedBallot.id, SealedBallot.group_id, SealedBallot.cast_on, SealedBallot.box)
        .where(SealedBallot.id.in_(ids)).with_for_update()
    ).all()
    _rng.shuffle(rows)
    ballots: list[dict] = []
    answers: list[dict] = []
    comments: list[dict] = []
    bad = 0
    for row in rows:
        try:
            content = unseal(key, row.box)
            shape.check(content, row.group_id)
        except Unreadable:
            bad += 1
            continue
        ballot_id = random_id()
        ballots.append({"id": ballot_id, "round_id": round_id, "group_id": row.group_id, "cast_on": row.cast_on})
        answers += [{"ballot_id": ballot_id, "subject_id": s, "item_id": i, "level": level}
                    for s, i, level in content.answers]
        comments += [{"id": random_id(), "round_id": round_id, "subject_id": s, "group_id": row.group_id, "text": t}
                     for s, t in content.comments]
    _rng.shuffle(comments)
    conn = db.session.connection()  # Core executemany: the ORM's per-row work tripled the time
    if ballots:
        conn.execute(insert(Ballot.__table__), ballots)
        conn.execute(insert(Answer.__table__), answers)
    if comments:
        conn.execute(insert(Comment.__table__), comments)
    db.session.execute(delete(SealedBallot).where(SealedBallot.id.in_([r.id for r in rows])))
    if bad:
        db.session.execute(update(Round).where(Round.id == round_id).values(box_unreadable=Round.box_unreadable + bad))
    return len(ballots), bad


def seal_the_past(round_: Round) -> int:
    """The rest of the close, in the caller's transaction: the round's receipts rewritten in
    random order under fresh ids, its unused codes destroyed, and on PostgreSQL the tables that
    held sealed rows and codes rebuilt (``SWAPPED_TABLES``). Returns the codes destroyed."""
    conn = db.session.connection()
    postgres = conn.dialect.name == "postgresql"
    if postgres:
        conn.execute(text("SET LOCAL lock_timeout = '15s'"))
        conn.execute(text(f"LOCK TABLE {', '.join(SWAPPED_TABLES)} IN ACCESS EXCLUSIVE MODE"))
    receipts = list(db.session.scalars(select(Receipt.receipt).where(Receipt.round_id == round_.id)))
    db.session.execute(delete(Receipt).where(Receipt.round_id == round_.id))
    _rng.shuffle(receipts)
    if receipts:
        db.session.execute(insert(Receipt), [{"id": random_id(), "round_id": round_.id, "receipt": r} for r in receipts])
    dropped = db.session.execute(delete(BallotCode).where(BallotCode.round_id == round_.id)).rowcount or 0
    db.session.execute(delete(SealedBallot).where(SealedBallot.round_id == round_.id))
    if postgres:
        for name in SWAPPED_TABLES:
            _rebuild(conn, name)
    return dropped


def _rebuild(conn: Connection, name: str) -> None:
    """Copy ``name``'s live rows (other rounds') into a new table of the same definition, in
    random order, and drop the old one with its file."""
    table = Base.metadata.tables[name]
    columns = ", ".join(c.name for c in table.columns)
    conn.execute(text(f"CREATE TEMPORARY TABLE rebuild_{name} ON COMMIT DROP AS SELECT {columns} FROM {name}"))
    conn.execute(text(f"DROP TABLE {name}"))
    table.create(conn)
    conn.execute(text(f"INSERT INTO {name} ({columns}) SELECT {columns} FROM rebuild_{name} ORDER BY random()"))
