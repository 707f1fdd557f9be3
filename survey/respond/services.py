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
from functools import lru_cache
from datetime import datetime

from sqlalchemy import TextClause, bindparam, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from ..codes.services import ALPHABET
from ..errors import ServiceError
from ..extensions import db
from ..models import Answer, Ballot, BallotCode, Comment, Group, Receipt, Round, random_id
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


#: the statements of a ballot, built once (Core: no ORM unit of work for rows never read back)
_SPEND_CODE = delete(BallotCode.__table__).where(BallotCode.__table__.c.id == bindparam("code_id"))
_INSERT_BALLOT = insert(Ballot.__table__)
#: one more ballot on an open link, unless it has taken its cap already (no row changes then)
_TAKE_OPEN_BALLOT = (
    update(Group.__table__)
    .where(Group.__table__.c.id == bindparam("group_id"), Group.__table__.c.open_ballots < bindparam("cap"))
    .values(open_ballots=Group.__table__.c.open_ballots + 1)
)
_INSERT_RECEIPT = insert(Receipt.__table__)
_INSERT_COMMENTS = insert(Comment.__table__)
#: answers per INSERT statement (four parameters each, well under any database's limit)
ANSWERS_PER_STATEMENT = 200


@lru_cache(maxsize=64)
def _insert_answers(rows: int) -> TextClause:
    """One INSERT of ``rows`` answers of one ballot. PostgreSQL runs one statement for the
    ballot instead of one per answer (each its own parse, plan and execution in the server)."""
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
    """
    conn = db.session.connection()
    round_id, group_id = round_.id, group.id
    if subject_ids is None:
        subject_ids = {s.code: s.id for s in round_.subjects}
    if item_ids is None:
        item_ids = {i.key: i.id for i in round_.items}
    if conn.dialect.name == "postgresql" and len(answers) <= ANSWERS_PER_STATEMENT and len(comments) <= 100:
        return _cast_in_one_statement(conn, round_, group, answers=answers, comments=comments, receipt=receipt,
                                      code_id=code_id, cap=cap, subject_ids=subject_ids, item_ids=item_ids,
                                      retry_is_error=retry_is_error)
    if conn.dialect.name == "sqlite" and len(answers) <= ANSWERS_PER_STATEMENT:
        return _cast_on_sqlite(conn, round_, group, answers=answers, comments=comments, receipt=receipt,
                               code_id=code_id, cap=cap, subject_ids=subject_ids, item_ids=item_ids,
                               retry_is_error=retry_is_error)
    if code_id is not None:
        spent = conn.execute(_SPEND_CODE, {"code_id": code_id})
        if spent.rowcount != 1:
            if not retry_is_error and receipt_exists(round_, receipt):
                return Cast(receipt, repeated=True)
            raise CodeAlreadyUsed(USED_MESSAGE)
    ballot_id = random_id()
    conn.execute(_INSERT_BALLOT, {"id": ballot_id, "round_id": round_id, "group_id": group_id,
                                  "cast_on": datetime.now(BEIJING).date()})
    conn.execute(_INSERT_RECEIPT, {"id": random_id(), "round_id": round_id, "receipt": receipt})
    rows = list(answers.items())
    for start in range(0, len(rows), ANSWERS_PER_STATEMENT):
        chunk = rows[start:start + ANSWERS_PER_STATEMENT]
        params: dict[str, object] = {"ballot_id": ballot_id}
        for n, ((s, i), level) in enumerate(chunk):
            params[f"s{n}"], params[f"i{n}"], params[f"l{n}"] = subject_ids[s], item_ids[i], level
        conn.execute(_insert_answers(len(chunk)), params)
    if comments:
        conn.execute(
            _INSERT_COMMENTS,
            [
                {"id": random_id(), "round_id": round_id, "subject_id": subject_ids[s], "group_id": group_id,
                 "text": text}
                for s, text in comments.items()
            ],
        )
    # last, so that on PostgreSQL the group's row is locked only until the commit
    if cap is not None and conn.execute(_TAKE_OPEN_BALLOT, {"group_id": group_id, "cap": cap}).rowcount != 1:
        raise GroupFull(FULL_MESSAGE)
    return Cast(receipt, repeated=False)


def _cast_in_one_statement(conn, round_: Round, group: Group, *, answers: dict[tuple[str, str], str],  # noqa: ANN001
                           comments: dict[str, str], receipt: str, code_id: int | None, cap: int | None,
                           subject_ids: dict[str, int], item_ids: dict[str, int], retry_is_error: bool) -> Cast:
    """``cast_ballot`` on PostgreSQL: the same rows, in one statement (``_ballot_statement``)."""
    guard = "code" if code_id is not None else "cap" if cap is not None else "none"
    params: dict[str, object] = {
        "code_id": code_id, "cap": cap, "round_id": round_.id, "group_id": group.id, "ballot_id": random_id(),
        "cast_on": datetime.now(BEIJING).date(), "receipt_id": random_id(), "receipt": receipt,
    }
    for n, ((s, i), level) in enumerate(answers.items()):
        params[f"s{n}"], params[f"i{n}"], params[f"l{n}"] = subject_ids[s], item_ids[i], level
    for n, (s, comment) in enumerate(comments.items()):
        params[f"cid{n}"], params[f"cs{n}"], params[f"ct{n}"] = random_id(), subject_ids[s], comment
    stored = conn.execute(_ballot_statement(guard, len(answers), len(comments)), params).scalar_one()
    if stored:
        return Cast(receipt, repeated=False)
    if guard == "cap":
        raise GroupFull(FULL_MESSAGE)
    if not retry_is_error and receipt_exists(round_, receipt):
        return Cast(receipt, repeated=True)
    raise CodeAlreadyUsed(USED_MESSAGE)


#: the statements of ``_cast_on_sqlite``, in SQLite's own named-parameter form
_SQLITE_SPEND_CODE = "DELETE FROM ballot_codes WHERE id = :code_id"
_SQLITE_INSERT_BALLOT = ("INSERT INTO ballots (id, round_id, group_id, cast_on) "
                         "VALUES (:ballot_id, :round_id, :group_id, :cast_on)")
_SQLITE_INSERT_RECEIPT = "INSERT INTO receipts (id, round_id, receipt) VALUES (:receipt_id, :round_id, :receipt)"
_SQLITE_INSERT_COMMENT = ("INSERT INTO comments (id, round_id, subject_id, group_id, text) "
                          "VALUES (:id, :round_id, :subject_id, :group_id, :text)")
_SQLITE_TAKE_OPEN_BALLOT = ("UPDATE round_groups SET open_ballots = open_ballots + 1 "
                            "WHERE id = :group_id AND open_ballots < :cap")


def _cast_on_sqlite(conn, round_: Round, group: Group, *, answers: dict[tuple[str, str], str],  # noqa: ANN001
                    comments: dict[str, str], receipt: str, code_id: int | None, cap: int | None,
                    subject_ids: dict[str, int], item_ids: dict[str, int], retry_is_error: bool) -> Cast:
    """``cast_ballot`` on SQLite: the same rows, through the driver's own connection.

    The write lock is held from ``BEGIN IMMEDIATE`` to the commit, and the other worker waits
    for it: SQLAlchemy's work per statement (about 0.7 ms per ballot in all, measured under the
    ballot benchmark) was most of that time. Everything is prepared before the first
    statement; what runs under the lock is the statements alone.
    """
    params: dict[str, object] = {
        "code_id": code_id, "cap": cap, "round_id": round_.id, "group_id": group.id, "ballot_id": random_id(),
        "cast_on": datetime.now(BEIJING).date().isoformat(), "receipt_id": random_id(), "receipt": receipt,
    }
    answer_params: dict[str, object] = {"ballot_id": params["ballot_id"]}
    for n, ((s, i), level) in enumerate(answers.items()):
        answer_params[f"s{n}"], answer_params[f"i{n}"], answer_params[f"l{n}"] = subject_ids[s], item_ids[i], level
    comment_rows = [{"id": random_id(), "round_id": round_.id, "subject_id": subject_ids[s], "group_id": group.id,
                     "text": text} for s, text in comments.items()]
    driver = conn.connection.driver_connection
    try:
        if code_id is not None and driver.execute(_SQLITE_SPEND_CODE, params).rowcount != 1:
            if not retry_is_error and receipt_exists(round_, receipt):
                return Cast(receipt, repeated=True)
            raise CodeAlreadyUsed(USED_MESSAGE)
        driver.execute(_SQLITE_INSERT_BALLOT, params)
        driver.execute(_SQLITE_INSERT_RECEIPT, params)
        if answers:
            driver.execute(_insert_answers(len(answers)).text, answer_params)
        if comment_rows:
            driver.executemany(_SQLITE_INSERT_COMMENT, comment_rows)
        if cap is not None and driver.execute(_SQLITE_TAKE_OPEN_BALLOT, params).rowcount != 1:
            raise GroupFull(FULL_MESSAGE)
    except sqlite3.IntegrityError as exc:  # as SQLAlchemy would raise it: the callers catch that
        raise IntegrityError("INSERT", None, exc) from exc
    return Cast(receipt, repeated=False)
