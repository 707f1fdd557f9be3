"""Importing organizational ratings (组织评价): CSV ``subject,rater,score`` with scores 0–100.

The file is read and checked by ``scoring.io.read_org``, the same reader ``python -m scoring``
uses, so a file the service accepts is one the library accepts, with the same messages.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, insert

from scoring.errors import InputError
from scoring.io import read_org

from ..errors import ServiceError
from ..extensions import db
from ..models import OrgRating, Round
from ..models import round_spec


class OrgRatingsRefused(ServiceError):
    """The ratings file has an error; nothing of it was stored. ``line`` and ``reason`` say
    where and what, as the library said it (the console words them, and marks the cell)."""

    def __init__(self, message: str, *, line: int | None = None, reason: str | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.reason = reason if reason is not None else message


def import_org_ratings(round_: Round, path: Path) -> int:
    """Replace the round's organizational ratings with those in ``path``; returns how many.
    A closed round's kept results are scored again with them, in the same unit of work."""
    if not round_.state.org_ratings_editable:
        raise OrgRatingsRefused(f"评议“{round_.title}”已公布，组织评价不能再修改 "
                                f"(round {round_.slug!r} is published: its ratings can no longer change)")
    try:
        ratings = read_org(path, round_spec(round_))
    except InputError as exc:
        raise OrgRatingsRefused(str(exc), line=exc.line, reason=exc.message) from None
    if ratings.empty:  # replacing with nothing would silently drop every rating
        raise OrgRatingsRefused(f"{path}: no ratings in the file", reason="no ratings in the file")
    ids = {s.code: s.id for s in round_.subjects}
    db.session.execute(delete(OrgRating).where(OrgRating.round_id == round_.id))
    db.session.execute(
        insert(OrgRating),
        [{"round_id": round_.id, "subject_id": ids[s], "rater": r, "score": float(v)}
         for s, r, v in ratings.itertuples(index=False)],
    )
    from ..scorecard.services import rescore_kept_results

    rescore_kept_results(round_)  # a closed round's kept results follow its new ratings
    return len(ratings)


@dataclass(frozen=True)
class OrgImport:
    count: int
    encoding: str  #: which encoding the file was read as, said back to the user


def import_org_csv(round_: Round, data: bytes, name: str) -> OrgImport:
    """Replace the round's ratings with a CSV given as bytes (an upload, a file the CLI read,
    the console's table): UTF-8 with or without BOM, or GB18030 as Excel saves it, detected.
    Errors name ``name``, the file as the user knows it, never a temporary copy."""
    from ..textfiles import decode_text

    text, encoding = decode_text(data, name)
    with tempfile.TemporaryDirectory(prefix="org-") as folder:
        path = Path(folder) / "org.csv"
        path.write_text(text, encoding="utf-8")
        try:
            count = import_org_ratings(round_, path)
        except OrgRatingsRefused as exc:
            raise OrgRatingsRefused(str(exc).replace(str(path), name), line=exc.line, reason=exc.reason) from None
    return OrgImport(count, encoding)
