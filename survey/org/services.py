"""Importing organizational ratings (组织评价): CSV ``subject,rater,score`` with scores 0–100."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from sqlalchemy import delete, insert

from ..errors import ServiceError
from ..extensions import db
from ..models import OrgRating, Round, RoundStatus

COLUMNS = ("subject", "rater", "score")
RATER_MAX = OrgRating.__table__.c.rater.type.length


class OrgRatingsRefused(ServiceError):
    """The ratings file has an error; nothing of it was stored."""


def read_org_csv(path: Path, subject_codes: set[str]) -> list[tuple[str, str, float]]:
    """Rows of a ratings file, checked; errors name the file and line (the header is line 1)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise OrgRatingsRefused(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise OrgRatingsRefused(f"{path}: not UTF-8 text (save it as CSV UTF-8)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or [h.strip() for h in header] != list(COLUMNS):
        raise OrgRatingsRefused(f"{path}:1: the header must be {','.join(COLUMNS)}")
    rows: list[tuple[str, str, float]] = []
    seen: set[tuple[str, str]] = set()
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 3:
            raise OrgRatingsRefused(f"{path}:{line}: expected 3 fields (subject,rater,score), found {len(row)}")
        subject, rater, raw_score = (cell.strip() for cell in row)
        if subject not in subject_codes:
            raise OrgRatingsRefused(f"{path}:{line}: the round has no subject {subject!r}")
        if not rater:
            raise OrgRatingsRefused(f"{path}:{line}: the rater is empty")
        if len(rater) > RATER_MAX:
            raise OrgRatingsRefused(f"{path}:{line}: the rater is longer than {RATER_MAX} characters")
        if any(ord(ch) < 32 for ch in rater):
            raise OrgRatingsRefused(f"{path}:{line}: the rater contains a control character")
        try:
            score = float(raw_score)
        except ValueError:
            raise OrgRatingsRefused(f"{path}:{line}: score {raw_score!r} is not a number") from None
        if not math.isfinite(score) or not 0 <= score <= 100:
            raise OrgRatingsRefused(f"{path}:{line}: score {raw_score} is outside 0–100")
        if (subject, rater) in seen:
            raise OrgRatingsRefused(f"{path}:{line}: rater {rater!r} rates subject {subject!r} twice")
        seen.add((subject, rater))
        rows.append((subject, rater, score))
    if not rows:
        raise OrgRatingsRefused(f"{path}: no ratings in the file")
    return rows


def import_org_ratings(round_: Round, path: Path) -> int:
    """Replace the round's organizational ratings with those in ``path``; returns how many."""
    if round_.status == RoundStatus.published.value:
        raise OrgRatingsRefused(f"round {round_.slug!r} is published: its ratings can no longer change")
    ids = {s.code: s.id for s in round_.subjects}
    rows = read_org_csv(path, set(ids))
    db.session.execute(delete(OrgRating).where(OrgRating.round_id == round_.id))
    db.session.execute(
        insert(OrgRating),
        [{"round_id": round_.id, "subject_id": ids[s], "rater": r, "score": score} for s, r, score in rows],
    )
    return len(rows)
