"""What the anonymity measures cost: ``python bench/bench_anonymity.py [--ballots N] [--pool M]``.

1. The ballot path on SQLite with the ``-wal`` never emptied, emptied at the end of every
   ballot request (``WAL_SWEEP_MS=0``) and as shipped (``survey.wal``: by the request when the
   server has nothing else to do, as here, else within 20 ms): N ballots cast one after
   another through the app.
2. Rebuilding the ballot tables (``flask rounds reseal``, and the same step inside ``close``)
   with a pool of M ballots of 8 answers each, on SQLite and, when the server binaries are
   there, on a throw-away PostgreSQL server.

Numbers depend on the machine and its load; the script prints what it measured.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from survey import create_app  # noqa: E402

SPEC = {
    "slug": "bench", "title": "基准", "scale": "satisfaction3",
    "subjects": [{"code": f"B{n:02d}", "name": f"对象{n}"} for n in range(1, 5)],
    "items": [{"key": "service", "text": "服务", "weight": 1}, {"key": "conduct", "text": "作风", "weight": 1}],
    "groups": [{"key": "staff", "name": "教职工", "weight": 1, "access": "codes", "expected": 100000}],
    "comments": True,
}
TOKENS = re.compile(r'name="(csrf_token|ticket)" value="([^"]*)"')


def make_app(url: str, folder: Path, **config: object):  # noqa: ANN201
    from flask_migrate import upgrade

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "CODE_KEY": "bench", "TESTING": True,
                      "INSTANCE_PATH": str(folder), **config})
    with app.app_context():
        upgrade()
    return app


#: how each run empties the -wal: never, at the end of every ballot request, as shipped
MODES = {"never": None, "every request": 0, "as shipped": 20}


def ballot_path(folder: Path, ballots: int, mode: str) -> float:
    import survey.database as database
    from survey.codes.services import issue_ballot_codes
    from survey.database import unit_of_work
    from survey.extensions import db
    from survey.rounds.lifecycle import transition
    from survey.rounds.services import import_round

    folder.mkdir()
    sweep_ms = MODES[mode]
    app = make_app(f"sqlite:///{folder / 'survey.db'}", folder, WAL_SWEEP_MS=sweep_ms or 0)
    empty_and_stamp = database.empty_and_stamp
    if sweep_ms is None:
        database.empty_and_stamp = lambda conn, path, wait=None: True
    with app.app_context():
        with unit_of_work():
            round_ = import_round(dict(SPEC))
            transition(round_, "open")
            codes = [c.code for c in issue_ballot_codes(round_, "staff", ballots)]
        db.session.remove()
    answers = {f"a:B{s:02d}:{i}": "satisfied" for s in range(1, 5) for i in ("service", "conduct")}
    start = time.perf_counter()
    for code in codes:  # outside the app context: each request has its own, as in a server
        phone = app.test_client()
        page = phone.get(f"/b/{code}").get_data(as_text=True)
        response = phone.post(f"/b/{code}", data={**dict(TOKENS.findall(page)), **answers, "c:B01": "好"})
        assert response.status_code == 200, response.get_data(as_text=True)[-400:]
    elapsed = time.perf_counter() - start
    with app.app_context():
        db.engine.dispose()
    database.empty_and_stamp = empty_and_stamp
    return elapsed


def fill_pool(ballots: int) -> None:
    """``ballots`` ballots of 8 answers and one comment each, straight into the tables."""
    from survey.extensions import db
    from survey.models import Answer, Ballot, Comment, Receipt, Round, random_id

    round_ = db.session.scalar(sa.select(Round))
    subjects = [s.id for s in round_.subjects]
    items = [i.id for i in round_.items]
    group = round_.groups[0].id
    import datetime

    day = datetime.date(2026, 12, 1)
    for start in range(0, ballots, 2000):
        n = min(2000, ballots - start)
        ids = [random_id() for _ in range(n)]
        db.session.execute(sa.insert(Ballot), [{"id": b, "round_id": round_.id, "group_id": group, "cast_on": day} for b in ids])
        db.session.execute(sa.insert(Answer), [
            {"ballot_id": b, "subject_id": s, "item_id": i, "level": random.choice(("satisfied", "basic"))}
            for b in ids for s in subjects for i in items])
        db.session.execute(sa.insert(Comment), [
            {"id": random_id(), "round_id": round_.id, "subject_id": subjects[0], "group_id": group, "text": "意见" * 20}
            for _ in ids])
        db.session.execute(sa.insert(Receipt), [
            {"id": random_id(), "round_id": round_.id, "receipt": f"{start + k:09d}"} for k in range(n)])
        db.session.commit()


def reseal_time(url: str, folder: Path, ballots: int) -> float:
    from survey.database import unit_of_work
    from survey.extensions import db
    from survey.rounds.lifecycle import transition
    from survey.rounds.reseal import reseal_ballot_tables
    from survey.rounds.services import compact_storage, import_round

    folder.mkdir(exist_ok=True)
    app = make_app(url, folder)
    with app.app_context():
        with unit_of_work():
            transition(import_round(dict(SPEC)), "open")
        fill_pool(ballots)
        start = time.perf_counter()
        with unit_of_work():
            reseal_ballot_tables()
        compact_storage()
        elapsed = time.perf_counter() - start
        db.session.remove()
        db.engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=300, help="ballots cast through the app (default 300)")
    parser.add_argument("--pool", type=int, default=20000, help="ballots in the pool to reseal (default 20000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        runs: dict[str, list[float]] = {mode: [] for mode in MODES}
        for n in range(3):  # alternated, best of three: the machine may be busy
            for i, mode in enumerate(MODES):
                runs[mode].append(ballot_path(root / f"path-{n}-{i}", args.ballots, mode))
        plain = min(runs["never"])
        print(f"SQLite ballot path, {args.ballots} ballots (GET + POST each, one after another), best of 3:")
        for mode, times in runs.items():
            best = min(times)
            print(f"  -wal emptied {mode + ':':<14} {best / args.ballots * 1000:5.2f} ms/ballot "
                  f"({(best / plain - 1) * 100:+.0f} %)")
        seconds = reseal_time(f"sqlite:///{root / 'pool.db'}", root / "pool", args.pool)
        print(f"SQLite reseal of {args.pool} ballots ({args.pool * 8} answers, {args.pool} comments, "
              f"{args.pool} receipts), with VACUUM: {seconds:.2f} s")
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from pg_server import find_bindir, start_server

        if find_bindir() is None:
            print("PostgreSQL: no server binaries, skipped")
            return
        server = start_server()
        try:
            admin = sa.create_engine(server.url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text("CREATE DATABASE bench"))
            admin.dispose()
            seconds = reseal_time(server.url_for("bench"), root / "pg", args.pool)
            print(f"PostgreSQL reseal of {args.pool} ballots (same pool): {seconds:.2f} s "
                  "(test server: fsync off)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
