"""What closing costs: ``python bench/bench_close.py [--ballots N] [--subjects S]``.

Fills a round with N sealed ballots (S subjects × 5 items each, one comment in ten) the way the
ballot path stores them (``seal_vote`` + ``store_vote``, without HTTP), then times
``close_round``: every box opened, checked and written as ballots in random order, the receipts
rewritten, the codes destroyed, the sealed rows dropped with their tables' files. On SQLite, and
on a throw-away PostgreSQL server when the machine has its binaries. Also prints the sealed
rows' size. Numbers depend on the machine and its load; the script prints what it measured.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from survey import create_app  # noqa: E402


def make_spec(subjects: int) -> dict:
    return {
        "slug": "bench", "title": "计票基准", "scale": "satisfaction3",
        "subjects": [{"code": f"B{n:02d}", "name": f"对象{n}"} for n in range(1, subjects + 1)],
        "items": [{"key": f"i{n}", "text": f"项目{n}", "weight": 1} for n in range(1, 6)],
        "groups": [{"key": "staff", "name": "教职工", "weight": 1, "access": "open", "expected": 1_000_000,
                    "once_per_device": False}],
        "comments": True,
    }


def close_time(url: str, folder: Path, ballots: int, subjects: int) -> tuple[float, float, int]:
    from flask_migrate import upgrade

    from survey.ballotbox.box import box_floor, public_key_of
    from survey.database import unit_of_work, write_unit_of_work
    from survey.extensions import db
    from survey.models import SealedBallot
    from survey.respond.services import new_receipt, seal_vote, store_vote
    from survey.rounds.services import close_round, get_round, import_round, move_round

    folder.mkdir(exist_ok=True)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "CODE_KEY": "bench", "BALLOT_BOX_KEY": "bench",
                      "INSTANCE_PATH": str(folder)})
    rng = random.Random(7)
    with app.app_context():
        upgrade()
        with unit_of_work():
            round_ = import_round(make_spec(subjects))
            move_round(round_, "open")
        round_ = get_round("bench")
        group = round_.groups[0]
        subject_ids = {s.code: s.id for s in round_.subjects}
        item_ids = {i.key: i.id for i in round_.items}
        public, floor = public_key_of(round_), box_floor(round_)
        started = time.perf_counter()
        for start in range(0, ballots, 500):
            with write_unit_of_work():
                for n in range(start, min(start + 500, ballots)):
                    answers = {(s, i): rng.choice(("satisfied", "basic", "dissatisfied", "unknown"))
                               for s in subject_ids for i in item_ids}
                    comments = {"B01": "希望进一步改进工作作风。" * 10} if n % 10 == 0 else {}
                    store_vote(seal_vote(round_, group, answers=answers, comments=comments, receipt=new_receipt(),
                                         public_key=public, floor=floor, subject_ids=subject_ids,
                                         item_ids=item_ids, cap=None))
        fill = time.perf_counter() - started
        size = db.session.scalar(sa.select(sa.func.sum(sa.func.length(SealedBallot.box))))
        db.session.remove()
        started = time.perf_counter()
        closed = close_round(get_round("bench"))
        elapsed = time.perf_counter() - started
        assert closed.ballots == ballots and closed.unreadable == 0, closed
        db.session.remove()
        db.engine.dispose()
    return fill, elapsed, size or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=20000, help="sealed ballots in the round (default 20000)")
    parser.add_argument("--subjects", type=int, default=8, help="subjects, 5 items each (default 8)")
    args = parser.parse_args()
    answers = args.ballots * args.subjects * 5
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fill, seconds, size = close_time(f"sqlite:///{root / 'close.db'}", root / "sqlite", args.ballots, args.subjects)
        print(f"SQLite: {args.ballots} sealed ballots ({answers} answers) stored in {fill:.1f} s "
              f"({size / args.ballots:.0f} bytes a box); close: {seconds:.1f} s")
        from pg_server import find_bindir, start_server

        if find_bindir() is None:
            print("PostgreSQL: no server binaries, skipped")
            return
        server = start_server()
        try:
            fill, seconds, size = close_time(server.url, root / "pg", args.ballots, args.subjects)
            print(f"PostgreSQL: {args.ballots} sealed ballots stored in {fill:.1f} s; close: {seconds:.1f} s "
                  "(test server: fsync off)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
