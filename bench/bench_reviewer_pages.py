"""How fast the reviewer pages answer: ``python bench/bench_reviewer_pages.py [--ballots N] [--subjects S]``.

Builds a closed round of S subjects (default 30) × 5 items in three groups with N ballots
(default 20,000; every ballot answers every subject it may, about N·S·5 answer rows) and one
comment in ten ballots, written straight into the tables and closed through ``close_round``.
Then it times, on SQLite (and on a throw-away PostgreSQL server with ``--postgres``):

* ``keep_results``: what the close computes once and keeps (SQL tallies, ballot patterns, the
  bootstrap interval, the scorecard, the summary);
* each reviewer page and download, signed in, through the app (Flask's test client, so no
  network): "cold", the very first request for it (templates compiled, the PDF font loaded);
  "fresh", as another process answers it (nothing read back in memory: the kept results are read
  from the database); then the median of three more requests;
* for comparison, the first scorecard page of the same round with nothing kept, which scores
  the round in the request (what every process did before results were kept).

Numbers depend on the machine and its load; the script prints what it measured.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from survey import create_app  # noqa: E402

LEVELS = np.array(["satisfied", "basic", "dissatisfied", "unknown"])
GROUPS = [("staff", "教职工", 0.5, 0.45), ("students", "学生", 0.3, 0.45), ("retirees", "离退休同志", 0.2, 0.10)]


def make_spec(subjects: int, ballots: int) -> dict:
    codes = [f"B{n:02d}" for n in range(1, subjects + 1)]
    return {
        "slug": "bench", "title": "评阅页面基准", "scale": "satisfaction3",
        "subjects": [{"code": c, "name": f"第{n}党支部"} for n, c in enumerate(codes, start=1)],
        "items": [{"key": f"i{n}", "text": f"项目{n}", "weight": 1 + (n == 1)} for n in range(1, 6)],
        "groups": [{"key": k, "name": name, "weight": w, "access": "open", "expected": int(ballots * share * 1.2),
                    "once_per_device": False, **({"subjects": codes[: subjects // 2]} if k == "retirees" else {})}
                   for k, name, w, share in GROUPS],
        "comments": True,
        "scheme": {"combine": {"organizational": 0.4, "public": 0.6}, "org_trim": 1, "min_group_responses": 5,
                   "grades": [{"grade": "优秀", "min": 90}, {"grade": "良好", "min": 80},
                              {"grade": "一般", "min": 60}, {"grade": "较差", "min": 0}],
                   "rules": [{"metric": "negative_share", "above": 0.3333, "grade": "较差", "review": True}],
                   "top_share_cap": 0.2},
    }


def build_round(subjects: int, ballots: int) -> float:
    """The closed round, its ballots written straight into the tables; returns the seconds."""
    import sqlalchemy as sa

    from survey.database import unit_of_work
    from survey.extensions import db
    from survey.models import Answer, Ballot, Comment, OrgRating, random_id
    from survey.rounds.services import close_round, get_round, import_round, move_round

    started = time.perf_counter()
    with unit_of_work():
        round_ = import_round(make_spec(subjects, ballots))
        move_round(round_, "open")
    round_ = get_round("bench")
    rng = np.random.default_rng(2012)
    items = [i.id for i in round_.items]
    shares = [share for *_, share in GROUPS]
    for start in range(0, ballots, 1000):
        ballot_rows, answer_rows, comment_rows = [], [], []
        for _ in range(min(1000, ballots - start)):
            group = round_.groups[rng.choice(len(GROUPS), p=shares)]
            ballot_id = random_id()
            ballot_rows.append({"id": ballot_id, "round_id": round_.id, "group_id": group.id, "cast_on": date(2026, 12, 1)})
            rated = group.subjects or round_.subjects
            leaning = rng.dirichlet([6, 3, 1, 1])
            levels = LEVELS[rng.choice(4, size=(len(rated), len(items)), p=leaning)]
            for s, subject in enumerate(rated):
                for i, item in enumerate(items):
                    answer_rows.append({"ballot_id": ballot_id, "subject_id": subject.id, "item_id": item,
                                        "level": str(levels[s, i])})
            if rng.random() < 0.1:
                comment_rows.append({"id": random_id(), "round_id": round_.id, "subject_id": rated[0].id,
                                     "group_id": group.id, "text": "希望进一步改进工作作风，多听取群众意见。"})
        with unit_of_work():
            db.session.execute(sa.insert(Ballot), ballot_rows)
            db.session.execute(sa.insert(Answer), answer_rows)
            if comment_rows:
                db.session.execute(sa.insert(Comment), comment_rows)
    with unit_of_work():
        db.session.execute(sa.insert(OrgRating), [
            {"round_id": round_.id, "subject_id": s.id, "rater": f"委员{r}", "score": float(70 + (r * 7 + k) % 30)}
            for k, s in enumerate(round_.subjects) for r in range(1, 8)])
    close_round(get_round("bench"))
    return time.perf_counter() - started


PAGES = ["scorecard", "scorecard?sort=negative&order=desc", "subjects/B01", "subjects/B{last}", "scorecard.csv",
         "scorecard.xlsx", "scorecard.pdf", "rectify", "rectify.xlsx", "annual", "feedback"]


def timed(client, url: str) -> float:  # noqa: ANN001
    started = time.perf_counter()
    answer = client.get(url)
    seconds = time.perf_counter() - started
    assert answer.status_code == 200, (url, answer.status_code, answer.get_data(as_text=True)[:500])
    return seconds


def run(url: str, folder: Path, subjects: int, ballots: int) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import delete

    import survey.scorecard.services as services
    from console_helpers import make_user, sign_in
    from survey.database import unit_of_work
    from survey.extensions import db
    from survey.models import KeptResults
    from survey.rounds.services import get_round

    folder.mkdir(exist_ok=True)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "CODE_KEY": "bench", "BALLOT_BOX_KEY": "bench",
                      "AUDIT_KEY": "bench", "INSTANCE_PATH": str(folder), "BASE_URL": "https://pingyi.example.edu.cn"})
    with app.app_context():
        upgrade()
        built = build_round(subjects, ballots)
        answers = db.session.execute(db.text("SELECT count(*) FROM answers")).scalar()
        print(f"  round: {subjects} subjects, {ballots} ballots, {answers} answer rows; built and closed in {built:.1f} s")
        started = time.perf_counter()
        with unit_of_work():
            services.keep_results(get_round("bench"))
        print(f"  keep_results (once, at close): {time.perf_counter() - started:.2f} s")
        make_user("root", "admin")
        client = app.test_client()
        sign_in(client, "root")
        print(f"  {'page':<52} {'cold':>6} {'fresh':>6} {'median':>7}   (seconds)")
        worst = 0.0
        for page in PAGES:
            address = f"/console/rounds/bench/{page.format(last=f'{subjects:02d}')}"
            services._RECENT.clear()
            cold = timed(client, address)  # the first request of all: templates compiled, fonts loaded
            services._RECENT.clear()  # as another process: the kept results read from the database
            fresh = timed(client, address)
            warm = statistics.median(timed(client, address) for _ in range(3))
            worst = max(worst, fresh, warm)
            print(f"  {address:<52} {cold:>6.3f} {fresh:>6.3f} {warm:>7.3f}")
        print(f"  slowest answer once templates are compiled (fresh or median): {worst:.3f} s")
        with unit_of_work():
            db.session.execute(delete(KeptResults))
        services._RECENT.clear()
        before = timed(client, "/console/rounds/bench/scorecard")
        print(f"  for comparison, nothing kept: first scorecard page {before:.2f} s (it scores the round)")
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=20_000, help="ballots in the round (default 20000)")
    parser.add_argument("--subjects", type=int, default=30, help="subjects, 5 items each (default 30)")
    parser.add_argument("--postgres", action="store_true", help="also on a throw-away PostgreSQL server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("SQLite:")
        run(f"sqlite:///{root / 'pages.db'}", root / "sqlite", args.subjects, args.ballots)
        if args.postgres:
            from pg_server import find_bindir, start_server

            if find_bindir() is None:
                print("PostgreSQL: no server binaries, skipped")
                return
            server = start_server()
            try:
                print("PostgreSQL (test server: fsync off):")
                run(server.url, root / "pg", args.subjects, args.ballots)
            finally:
                server.stop()


if __name__ == "__main__":
    main()
