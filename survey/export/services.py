"""Writing a round out: answers.csv, comments.csv, org.csv, spec.json, and audit_head.txt (the
audit log's head when the export was made, so that whoever keeps the files can later check
that no entry up to then was removed: ``flask --app survey audit verify --head COUNT:HASH``).

``response_id`` is drawn afresh for every export and ballots are written in random order, so
an export carries no stored id and no order of arrival.
"""

from __future__ import annotations

import csv
import io
import json
import random
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from scoring.cells import inert_text

from ..extensions import db
from ..models import Answer, Ballot, Comment, Group, Item, OrgRating, Round, Subject
from ..rounds.lifecycle import refuse_while_sealed

def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    """UTF-8 with a byte order mark, so that Excel shows Chinese text correctly; text that a
    spreadsheet would run as a formula is made inert (``scoring.cells.inert_text``)."""
    count = 0
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow([inert_text(v) for v in header])
        for row in rows:
            writer.writerow([inert_text(v) for v in row])
            count += 1
    return count


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """The same CSV as ``write_csv``, as bytes: what the console streams."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([inert_text(v) for v in header])
    writer.writerows([inert_text(v) for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8-sig")


def answer_rows(round_: Round) -> list[tuple[str, str, str, str, str]]:
    """(response_id, group, subject, item, answer) with fresh ids, ballots in random order."""
    query = (
        select(Answer.ballot_id, Group.key, Subject.code, Item.key, Answer.level)
        .join(Ballot, Ballot.id == Answer.ballot_id)
        .join(Group, Group.id == Ballot.group_id)
        .join(Subject, Subject.id == Answer.subject_id)
        .join(Item, Item.id == Answer.item_id)
        .where(Ballot.round_id == round_.id)
        .order_by(Answer.ballot_id, Subject.position, Item.position)
    )
    by_ballot: dict[str, list[tuple[str, str, str, str]]] = {}
    for ballot_id, group, subject, item, level in db.session.execute(query):
        by_ballot.setdefault(ballot_id, []).append((group, subject, item, level))
    ballots = list(by_ballot.values())
    random.SystemRandom().shuffle(ballots)
    rows = []
    for answers in ballots:
        response_id = secrets.token_hex(8)
        rows.extend((response_id, *a) for a in answers)
    return rows


@dataclass(frozen=True)
class ExportFile:
    data: bytes
    rows: int  #: data rows of a CSV; 1 for spec.json


def export_files(round_: Round) -> dict[str, ExportFile]:
    """The files of an export, as bytes: the CLI writes them into a folder, the console
    streams them as a zip. Refused while the round is draft or open: results stay sealed."""
    refuse_while_sealed(round_)
    answers = answer_rows(round_)
    comments = db.session.execute(
        select(Subject.code, Group.key, Comment.text)
        .join(Subject, Subject.id == Comment.subject_id)
        .join(Group, Group.id == Comment.group_id)
        .where(Comment.round_id == round_.id)
    ).all()
    random.SystemRandom().shuffle(comments)
    org = db.session.execute(
        select(Subject.code, OrgRating.rater, OrgRating.score)
        .join(Subject, Subject.id == OrgRating.subject_id)
        .where(OrgRating.round_id == round_.id)
        .order_by(Subject.position, OrgRating.rater)
    ).all()
    return {
        "answers.csv": ExportFile(
            csv_bytes(("response_id", "group", "subject", "item", "answer"), answers), len(answers)),
        "comments.csv": ExportFile(
            csv_bytes(("subject", "group", "text"), comments),
            len(comments)),
        "org.csv": ExportFile(csv_bytes(("subject", "rater", "score"), ((s, r, f"{v:g}") for s, r, v in org)), len(org)),
        "spec.json": ExportFile(
            (json.dumps(round_.spec, ensure_ascii=False, indent=2) + "\n").encode("utf-8"), 1),
        "audit_head.txt": ExportFile(audit_head_text(), 1),
    }


def audit_head_text() -> bytes:
    """The audit log's head on the first line, what it is for on the second."""
    from ..auth.audit import head

    current = head()
    return (f"{current}\n审计日志在导出时的末条记录（条数:哈希）；核对：flask --app survey audit verify --head {current}\n"
            ).encode("utf-8")


def export_round(round_: Round, out: Path) -> dict[str, int]:
    """Write the files of ``export_files`` into ``out`` (created if missing), each
    complete or not at all; returns rows written per file."""
    files = export_files(round_)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".export-") as tmp:
        for name, file in files.items():
            (Path(tmp) / name).write_bytes(file.data)
        for name in files:
            shutil.move(Path(tmp) / name, out / name)
    return {name: file.rows for name, file in files.items()}
