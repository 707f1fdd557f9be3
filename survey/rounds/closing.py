"""Closing a large round from the console: the ballot box opened in a thread of the worker that
took the request, its progress kept on the round for the round page to show.

A round with few sealed ballots closes within the request (``SYNC_LIMIT``): the organizer sees
the result at once. A larger one (20,000 ballots take longer than a request may) is handed to a
thread: the key is checked first, in the request, so a wrong key is refused at once; the round
page then shows 计票中 with how many boxes are open, refreshing itself. If the worker dies half-way
the round stays ``closing`` and the close page offers to finish the close (``close_round``
resumes with the boxes still sealed).
"""

from __future__ import annotations

import threading

from flask import Flask, current_app
from sqlalchemy import func, select, update

from ..ballotbox.box import opening_key
from ..database import unit_of_work
from ..extensions import db
from ..models import Round, SealedBallot
from .services import close_round, get_round

#: a round with at most this many sealed ballots is closed within the request
SYNC_LIMIT = 3000


def sealed_count(round_: Round) -> int:
    return db.session.scalar(select(func.count()).select_from(SealedBallot).where(SealedBallot.round_id == round_.id)) or 0


def record_progress(round_id: int, done: int, total: int) -> None:
    """Keep how far the opening is, in a transaction of its own (Core: the round's definition is
    not touched, so its questionnaire caches stay valid)."""
    with unit_of_work():
        db.session.execute(update(Round).where(Round.id == round_id).values(close_done=done, close_total=total))


def close_in_background(round_: Round, key: bytes | None) -> threading.Thread:
    """Check the key now (``WrongKey`` refuses at once, nothing changed), then close ``round_``
    in a thread of this worker. Returns the thread (tests wait for it)."""
    opening_key(round_, key)
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    slug, round_id = round_.slug, round_.id

    def run() -> None:
        with app.app_context():
            try:
                close_round(get_round(slug), key, progress=lambda done, total: record_progress(round_id, done, total))
            except Exception:  # noqa: BLE001  (the round stays closing; the page offers to finish)
                app.logger.exception("closing round %s failed; it stays closing until closed again", slug)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, name=f"close-{slug}", daemon=True)
    thread.start()
    return thread
