"""Casting a ballot: one short transaction that spends the code (if any) and stores the answers.

The code is spent by deleting its row, conditionally (``DELETE ... WHERE id = :id``): of two
phones sending one code at the same moment, exactly one sees a row go, the other none
(see ``BallotCode`` for why a spent code is deleted rather than flagged). The ballot gets a random id and
only the day it was cast. Its receipt and its comments go to tables of their own with no ballot id.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlalchemy import TextClause, select, text
from sqlalchemy.exc import IntegrityError

from ..codes.services import ALPHABET
from ..errors import ServiceError
from ..extensions import db
from ..models import Answer, Group, Receipt, Round, random_id
from ..timefmt import BEIJING


USED_MESSAGE = "此评议码已经使用过，或者无效。每个评议码只能提交一次；请核对评议条上的评议码。"


class CodeAlreadyUsed(ServiceError):
    """The code was spent by an earlier ballot."""


class GroupFull(ServiceError):
    """An open link has taken as many ballots as its cap (``expected`` × ``cap_factor``)."""


FULL_MESSAGE = "本群体收到的评议票数已达到上限（超过应参与人数），不再接收新的评议。如您尚未参加评议，请联系组织者。"


@dataclass(frozen=True)
class Cast:
    receipt: str
    repeated: bool  #: True when this was a retry of a ballot already stored


def new_receipt() -> str:
    """A receipt like ``K7QM-4XPA``: random, so it tells nothing about when or who."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def receipt_exists(round_: Round, receipt: str) -> bool:
    return db.session.scalar(
        select(Receipt.id).where(Receipt.round_id == round_.id, Receipt.receipt == receipt)
    ) is not None


#: answers per INSERT statement (four parameters each, well under any database's limit)
ANSWERS_PER_STATEMENT = 200


@lru_cache(maxsize=64)
def _insert_answers(rows: int) -> TextClause:
    """One INSERT of ``rows`` answers of one ballot (SQLite; on PostgreSQL the answers past
    the first ``ANSWERS_PER_STATEMENT``): one statement instead of one per answer."""
    values = ", ".join(f"(:ballot_id, :s{n}, :i{n}, :l{n})" for n in range(rows))
    return text(f"INSERT INTO {Answer.__tablename__} (ballot_id, subject_id, item_id, level) VALUES {values}")


@lru_cache(maxsize=64)
def _ballot_statement(guard: str, answers: int, comments: int) -> TextClause:
    """PostgreSQL: a whole ballot in one statement, stored only when its ``guard`` returns a
    row: the spent code's (``code``), the open link's counter raised under its cap (``cap``),
    or always (``none``). Four statements and their round trips become one; the guard's row
    lock and the statement's atomicity keep single use and the cap as before."""
    guards = {
        "code": "DELETE FROM ballot_codes WHERE id = :code_id RETURNING 1",
        "cap": "UPDATE round_groups SET open_ballots = open_ballots + 1 "
               "WHERE id = :group_id AND open_ballots < :cap RETURNING 1",
        "none": "SELECT 1",
    }
    answer_rows = ", ".join(f"(CAST(:s{n} AS integer), CAST(:i{n} AS integer), CAST(:l{n} AS varchar))"
                            for n in range(answers))
    parts = [
        f"guard AS ({guards[guard]})",
        "new_ballot AS (INSERT INTO ballots (id, round_id, group_id, cast_on) "
        "SELECT CAST(:ballot_id AS varchar), CAST(:round_id AS integer), CAST(:group_id AS integer), "
        "CAST(:cast_on AS date) FROM guard)",
        "new_receipt AS (INSERT INTO receipts (id, round_id, receipt) "
        "SELECT CAST(:receipt_id AS varchar), CAST(:round_id AS integer), CAST(:receipt AS varchar) FROM guard)",
    ]
    if answers:
        parts.append("new_answers AS (INSERT INTO answers (ballot_id, subject_id, item_id, level) "
                     f"SELECT CAST(:ballot_id AS varchar), v.s, v.i, v.l FROM guard, (VALUES {answer_rows}) AS v(s, i, l))")
    if comments:
        comment_rows = ", ".join(f"(CAST(:cid{n} AS varchar), CAST(:cs{n} AS integer), CAST(:ct{n} AS text))"
                                 for n in range(comments))
        parts.append("new_comments AS (INSERT INTO comments (id, round_id, subject_id, group_id, text) "
                     "SELECT v.id, CAST(:round_id AS integer), v.s, CAST(:group_id AS integer), v.t "
                     f"FROM guard, (VALUES {comment_rows}) AS v(id, s, t))")
    return text("WITH " + ",\n".join(parts) + "\nSELECT count(*) FROM guard")


def cast_ballot(
    round_: Round,
    group: Group,
    *,
    answers: dict[tuple[str, str], str],
    comments: dict[str, str],
    receipt: str,
    code_id: int | None = None,
    cap: int | None = None,
    subject_ids: dict[str, int] | None = None,
    item_ids: dict[str, int] | None = None,
    retry_is_error: bool = False,
) -> Cast:
    """Store one ballot (flushes; the caller's unit of work commits).

    ``answers`` maps (subject code, item key) to a level key or ``unknown``; the form has
    already checked them against the round. The caller has already looked for ``receipt``
    (a page sent twice shows its receipt before the once-per-browser check); a copy of the
    page racing this one is stopped by the spent code, or by the unique receipt at commit.
    ``cap``: the most ballots the group takes (open links); one more raises ``GroupFull``.
    The group's ``open_ballots`` counter is raised in the same transaction, and only while it is
    under the cap, so simultaneous ballots cannot pass the cap together.

    ``code_id``: the ballot code's row, spent by this ballot. ``subject_ids``/``item_ids`` (code → row id) save loading the round's subjects and items;
    with ``retry_is_error`` a spent code raises ``CodeAlreadyUsed`` even when this very ballot
    spent it (the caller then takes the way that tells the two apart).

    The rows are the same on both databases; the way differs, for speed: PostgreSQL stores the
    ballot in one guarded statement, SQLite runs the statements on the driver's connection.
    """
    conn = db.session.connection()
    if subject_ids is None:
        subject_ids = {s.code: s.id for s in round_.subjects}
    if item_ids is None:
        item_ids = {i.key: i.id for i in round_.items}
    ballot = _BallotRows.of(round_, group, answers, comments, receipt, code_id, cap, subject_ids, item_ids)
    if conn.dialect.name == "postgresql":
        stored = _store_on_postgresql(conn, ballot)
    else:
        stored = _store_on_sqlite(conn, ballot)
    if stored:
        return Cast(receipt, repeated=False)
    if code_id is None:
        raise GroupFull(FULL_MESSAGE)
    if not retry_is_error and receipt_exists(round_, receipt):
        return Cast(receipt, repeated=True)
    raise CodeAlreadyUsed(USED_MESSAGE)


@dataclass(frozen=True)
class _BallotRows:
    """The parameters of one ballot's statements, prepared before any of them runs."""

    params: dict[str, object]  #: ballot, receipt, code, cap (and their ids)
    answer_chunks: list[dict[str, object]]  #: ``s{n}``/``i{n}``/``l{n}``, ANSWERS_PER_STATEMENT at most each
    comments: list[dict[str, object]]
    guard: str  #: "code", "cap" or "none": what may refuse the ballot

    @classmethod
    def of(cls, round_: Round, group: Group, answers: dict[tuple[str, str], str], comments: dict[str, str],  # noqa: PLR0913
           receipt: str, code_id: int | None, cap: int | None, subject_ids: dict[str, int],
           item_ids: dict[str, int]) -> _BallotRows:
        params: dict[str, object] = {
            "code_id": code_id, "cap": cap, "round_id": round_.id, "group_id": group.id,
            "ballot_id": random_id(), "cast_on": datetime.now(BEIJING).date(), "receipt_id": random_id(),
            "receipt": receipt,
        }
        rows = list(answers.items())
        chunks = []
        for start in range(0, len(rows), ANSWERS_PER_STATEMENT):
            chunk: dict[str, object] = {}
            for n, ((s, i), level) in enumerate(rows[start:start + ANSWERS_PER_STATEMENT]):
                chunk[f"s{n}"], chunk[f"i{n}"], chunk[f"l{n}"] = subject_ids[s], item_ids[i], level
            chunks.append(chunk)
        comment_rows = [{"id": random_id(), "subject_id": subject_ids[s], "text": text} for s, text in comments.items()]
        guard = "code" if code_id is not None else "cap" if cap is not None else "none"
        return cls(params, chunks, comment_rows, guard)


def _store_on_postgresql(conn, ballot: _BallotRows) -> bool:  # noqa: ANN001
    """The ballot in one statement (``_ballot_statement``), its answers beyond the first
    ``ANSWERS_PER_STATEMENT`` after it; False, with nothing stored, when the guard refused."""
    first, *rest = ballot.answer_chunks or [{}]
    params = {**ballot.params, **first}
    for n, comment in enumerate(ballot.comments):
        params[f"cid{n}"], params[f"cs{n}"], params[f"ct{n}"] = comment["id"], comment["subject_id"], comment["text"]
    statement = _ballot_statement(ballot.guard, len(first) // 3, len(ballot.comments))
    if not conn.execute(statement, params).scalar_one():
        return False
    for chunk in rest:
        conn.execute(_insert_answers(len(chunk) // 3), {"ballot_id": ballot.params["ballot_id"], **chunk})
    return True


#: the statements of ``_store_on_sqlite``, in SQLite's own named-parameter form
_SQLITE_SPEND_CODE = "DELETE FROM ballot_codes WHERE id = :code_id"
_SQLITE_INSERT_BALLOT = ("INSERT INTO ballots (id, round_id, group_id, cast_on) "
                         "VALUES (:ballot_id, :round_id, :group_id, :cast_on)")
_SQLITE_INSERT_RECEIPT = "INSERT INTO receipts (id, round_id, receipt) VALUES (:receipt_id, :round_id, :receipt)"
_SQLITE_INSERT_COMMENT = ("INSERT INTO comments (id, round_id, subject_id, group_id, text) "
                          "VALUES (:id, :round_id, :subject_id, :group_id, :text)")
_SQLITE_TAKE_OPEN_BALLOT = ("UPDATE round_groups SET open_ballots = open_ballots + 1 "
                            "WHERE id = :group_id AND open_ballots < :cap")


def _store_on_sqlite(conn, ballot: _BallotRows) -> bool:  # noqa: ANN001
    """The ballot's statements through the driver's own connection; False, with nothing
    stored, when the guard refused.

    The write lock is held from ``BEGIN IMMEDIATE`` to the commit, and the other worker waits
    for it: SQLAlchemy's work per statement (about 0.7 ms per ballot in all, measured under the
    ballot benchmark) was most of that time. Everything is prepared before the first
    statement; what runs under the lock is the statements alone.
    """
    params = {**ballot.params, "cast_on": ballot.params["cast_on"].isoformat()}  # as SQLAlchemy stores a Date
    driver = conn.connection.driver_connection
    try:
        if ballot.guard == "code" and driver.execute(_SQLITE_SPEND_CODE, params).rowcount != 1:
            return False
        driver.execute(_SQLITE_INSERT_BALLOT, params)
        driver.execute(_SQLITE_INSERT_RECEIPT, params)
        for chunk in ballot.answer_chunks:
            driver.execute(_insert_answers(len(chunk) // 3).text, {"ballot_id": params["ballot_id"], **chunk})
        if ballot.comments:
            driver.executemany(_SQLITE_INSERT_COMMENT, [
                {**comment, "round_id": params["round_id"], "group_id": params["group_id"]}
                for comment in ballot.comments
            ])
        # last, so that the group's counter is raised only for a ballot otherwise stored
        return ballot.guard != "cap" or driver.execute(_SQLITE_TAKE_OPEN_BALLOT, params).rowcount == 1
    except sqlite3.IntegrityError as exc:  # as SQLAlchemy would raise it: the callers catch that
        raise IntegrityError("INSERT", None, exc) from exc
