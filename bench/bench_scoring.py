"""Benchmark: ``python -m scoring score`` against pandas only reading ``answers.csv``.

Run from the repository root::

    .venv/bin/python bench/bench_scoring.py [--ballots 200000] [--repeat 3] [--keep]

It generates a round of N ballots × 3 subjects × 4 items (about 12·N answer rows; 2.4 million for
the default 200,000 ballots) into ``bench/out/`` (git-ignored), then reports

* the time of ``pd.read_csv(answers.csv)`` alone (best of ``--repeat``, in this process),
* the wall time of ``python -m scoring score`` on it (best of ``--repeat``, a child process,
  interpreter start-up and the bootstrap interval included),
* their ratio (target ≤ 3), and
* the scoring child's peak resident memory (``ru_maxrss`` from ``os.wait4``; target < 2 GB).

Generation and the ``read_csv`` timing run in child processes too, so that this process stays
small: Linux charges a vfork-ed child with its parent's peak memory until ``exec``. Other jobs
on the machine slow both timings alike; compare the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

READ_CSV = """
import sys, time
import pandas as pd
best = float("inf")
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    frame = pd.read_csv(sys.argv[1])
    best = min(best, time.perf_counter() - start)
    del frame
print(best)
"""


def time_read_csv(path: Path, repeat: int) -> float:
    """Best time of ``pd.read_csv(path)`` (pandas already imported), in a child process."""
    done = subprocess.run([sys.executable, "-c", READ_CSV, str(path), str(repeat)],
                          check=True, capture_output=True, text=True)
    return float(done.stdout.strip())


def time_score(spec: Path, answers: Path, out: Path, repeat: int) -> tuple[float, int]:
    """Best wall time of ``python -m scoring score`` and the largest peak RSS (bytes) of its runs."""
    command = [sys.executable, "-m", "scoring", "score", "--spec", str(spec),
               "--answers", str(answers), "--out", str(out)]
    best, peak = float("inf"), 0
    for _ in range(repeat):
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT)
        _, status, usage = os.wait4(child.pid, 0)
        best = min(best, time.perf_counter() - start)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode:
            raise SystemExit(f"python -m scoring score failed with status {child.returncode}")
        peak = max(peak, usage.ru_maxrss * 1024)  # KiB on Linux
    return best, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--outdir", type=Path, default=HERE / "out")
    parser.add_argument("--keep", action="store_true", help="keep the generated files")
    args = parser.parse_args()

    answers = args.outdir / "answers.csv"
    spec = args.outdir / "spec.json"
    start = time.perf_counter()
    subprocess.run([sys.executable, str(HERE / "generate.py"), str(args.outdir),
                    "--ballots", str(args.ballots)], check=True, capture_output=True)
    rows = sum(1 for _ in answers.open("rb")) - 1
    print(f"generated {args.ballots:,} ballots, {rows:,} answer rows "
          f"({answers.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - start:.1f} s")

    read = time_read_csv(answers, args.repeat)
    score, peak = time_score(spec, answers, args.outdir / "scorecard.csv", args.repeat)
    print(f"pd.read_csv(answers.csv):   {read:6.2f} s")
    print(f"python -m scoring score:    {score:6.2f} s")
    print(f"ratio:                      {score / read:6.2f}   (target ≤ 3)")
    print(f"peak memory (scoring):      {peak / 2**20:6.0f} MiB (target < 2048)")
    if not args.keep:
        shutil.rmtree(args.outdir, ignore_errors=True)


if __name__ == "__main__":
    main()
