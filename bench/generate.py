"""Generate a synthetic round for the scoring benchmark (not part of the library).

``python bench/generate.py OUTDIR [--ballots N]`` writes ``spec.json`` and ``answers.csv``:
N ballots (default 200,000) in three groups, each answering 3 subjects × 4 items with the
satisfaction3 scale plus 不了解, about 12·N answer rows. About 1 % of ballots are straight-line
(废票) ballots, so that the ``exclude`` path is exercised.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

SUBJECTS = ["B01", "B02", "B03"]
ITEMS = ["service", "integrity", "conduct", "results"]
GROUPS = [("staff", 0.5, 90_000), ("students", 0.3, 150_000), ("retirees", 0.2, 20_000)]
ANSWERS = ["satisfied", "basic", "dissatisfied", "unknown"]


def make_spec() -> dict:
    return {
        "slug": "bench",
        "title": "基准测试",
        "scale": "satisfaction3",
        "subjects": [{"code": c, "name": f"第{k + 1}党支部"} for k, c in enumerate(SUBJECTS)],
        "items": [{"key": k, "text": k, "weight": w} for k, w in zip(ITEMS, [2, 1, 1, 1])],
        "groups": [{"key": k, "name": k, "weight": w, "expected": e} for k, w, e in GROUPS],
        "scheme": {
            "combine": {"organizational": 0, "public": 1},
            "min_group_responses": 5,
            "uniform_ballots": "exclude",
            "grades": [{"grade": "优秀", "min": 90}, {"grade": "良好", "min": 80},
                       {"grade": "一般", "min": 60}, {"grade": "较差", "min": 0}],
            "top_share_cap": 0.34,
        },
    }


def make_answers(n_ballots: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows_per_ballot = len(SUBJECTS) * len(ITEMS)
    ids = np.char.add("r", rng.integers(16**11, 16**12, size=n_ballots).astype("U16"))
    group = rng.choice(len(GROUPS), size=n_ballots, p=[0.35, 0.55, 0.10])
    # subject-dependent answer probabilities: satisfied, basic, dissatisfied, unknown
    probs = np.array([[0.70, 0.20, 0.05, 0.05], [0.55, 0.30, 0.10, 0.05], [0.40, 0.35, 0.20, 0.05]])
    answer = np.empty((n_ballots, len(SUBJECTS), len(ITEMS)), dtype=np.int8)
    for s in range(len(SUBJECTS)):
        answer[:, s, :] = rng.choice(4, size=(n_ballots, len(ITEMS)), p=probs[s])
    straight = rng.random(n_ballots) < 0.01
    answer[straight] = 0
    return pd.DataFrame({
        "response_id": np.repeat(ids, rows_per_ballot),
        "group": np.repeat(np.array([g for g, _, _ in GROUPS])[group], rows_per_ballot),
        "subject": np.tile(np.repeat(SUBJECTS, len(ITEMS)), n_ballots),
        "item": np.tile(ITEMS, n_ballots * len(SUBJECTS)),
        "answer": np.array(ANSWERS)[answer.reshape(-1)],
    })


def generate(outdir: Path, n_ballots: int = 200_000) -> tuple[Path, Path]:
    """Write spec.json and answers.csv into ``outdir``; return their paths."""
    outdir.mkdir(parents=True, exist_ok=True)
    spec_path = outdir / "spec.json"
    spec_path.write_text(json.dumps(make_spec(), ensure_ascii=False, indent=1), encoding="utf-8")
    answers_path = outdir / "answers.csv"
    make_answers(n_ballots).to_csv(answers_path, index=False, encoding="utf-8-sig")
    return spec_path, answers_path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--ballots", type=int, default=200_000)
    args = parser.parse_args()
    print(*generate(args.outdir, args.ballots))
