"""Benchmark: ``python -m scoring score`` against pandas only reading ``answers.csv``.

Run from the repository root::

    .venv/bin/python bench/bench_scoring.py [--ballots 200000] [--repeat 3] [--jobs N] [--keep]

It generates a round of N ballots × 3 subjects × 4 items (about 12·N answer rows; 2.4 million for
the default 200,000 ballots) into ``bench/out/`` (git-ignored; reused when ``--keep`` left
files of that size there), then runs ``--repeat`` rounds,
each of them

* ``pd.read_csv(answers.csv)`` alone, twice in one child process with pandas already imported,
  keeping the faster (the reference: pandas only reading the file), then
* ``python -m scoring score`` on it in a fresh child process (interpreter start-up, imports,
  validation, tallies, the 2,000-resample interval and writing included; ``--jobs N`` is passed
  on when given).

It prints each round, then the best read, the best score, their ratio (target ≤ 3), the range
of the rounds' own ratios, and the scoring child's peak resident memory (``ru_maxrss`` from
``os.wait4``; target < 2 GB) and CPU time. The two timings alternate so that other jobs on the
machine slow both alike; compare ratios, not seconds. Generation runs in a child too, so that
this process stays small: Linux charges a vfork-ed child with its parent's peak memory until
``exec``.
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
best = (float("inf"), 0.0)
for _ in range(2):
    start, cpu = time.perf_counter(), time.process_time()
    frame = pd.read_csv(sys.argv[1])
    best = min(best, (time.perf_counter() - start, time.process_time() - cpu))
    del frame
print(*best)
"""


def time_read_csv(path: Path) -> tuple[float, float]:
    """Wall and CPU time of the faster of two ``pd.read_csv(path)`` (pandas already imported),
    in a child process."""
    done = subprocess.run([sys.executable, "-c", READ_CSV, str(path)],
                          check=True, capture_output=True, text=True)
    wall, cpu = map(float, done.stdout.split())
    return wall, cpu


def time_score(command: list[str]) -> tuple[float, float, int]:
    """Wall time, CPU time (user + system) and peak RSS (bytes) of one ``python -m scoring score``."""
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"python -m scoring score failed with status {child.returncode}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024  # KiB on Linux


def _data_rows(path: Path) -> int | None:
    try:
        with path.open("rb") as fh:
            return sum(1 for _ in fh) - 1
    except FileNotFoundError:
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ballots", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=3, help="rounds of read + score (default 3)")
    parser.add_argument("--jobs", type=int, help="passed on to python -m scoring score")
    parser.add_argument("--outdir", type=Path, default=HERE / "out")
    parser.add_argument("--keep", action="store_true",
                        help="keep the generated files (a later run with --keep reuses them)")
    args = parser.parse_args()

    answers = args.outdir / "answers.csv"
    spec = args.outdir / "spec.json"
    start = time.perf_counter()
    rows = _data_rows(answers) if spec.exists() else None
    if rows != 12 * args.ballots:  # the generator is seeded: files of the right size are the same
        subprocess.run([sys.executable, str(HERE / "generate.py"), str(args.outdir),
                        "--ballots", str(args.ballots)], check=True, capture_output=True)
        rows = _data_rows(answers)
    print(f"{args.ballots:,} ballots, {rows:,} answer rows ({answers.stat().st_size / 1e6:.0f} MB) "
          f"ready in {time.perf_counter() - start:.1f} s")

    command = [sys.executable, "-m", "scoring", "score", "--spec", str(spec),
               "--answers", str(answers), "--out", str(args.outdir / "scorecard.csv")]
    if args.jobs is not None:
        command += ["--jobs", str(args.jobs)]
    reads, read_cpus, scores, cpus, peak = [], [], [], [], 0
    for k in range(args.repeat):
        read, read_cpu = time_read_csv(answers)
        wall, cpu, rss = time_score(command)
        reads.append(read)
        read_cpus.append(read_cpu)
        scores.append(wall)
        cpus.append(cpu)
        peak = max(peak, rss)
        print(f"round {k + 1}: read_csv {read:.2f} s (CPU {read_cpu:.2f} s), "
              f"score {wall:.2f} s (CPU {cpu:.2f} s), ratio {wall / read:.2f}")
    read, score = min(reads), min(scores)
    ratios = [s / r for s, r in zip(scores, reads)]
    jobs = f" --jobs {args.jobs}" if args.jobs is not None else ""
    print(f"pd.read_csv(answers.csv):   {read:6.2f} s (best; CPU {min(read_cpus):.2f} s)")
    print(f"python -m scoring score{jobs}: {score:6.2f} s (best; CPU {min(cpus):.2f} s)")
    print(f"ratio:                      {score / read:6.2f}   (target ≤ 3; rounds {min(ratios):.2f}–{max(ratios):.2f}; "
          f"CPU {min(cpus) / min(read_cpus):.2f})")
    print(f"peak memory (scoring):      {peak / 2**20:6.0f} MiB (target < 2048)")
    if not args.keep:
        shutil.rmtree(args.outdir, ignore_errors=True)


if __name__ == "__main__":
    main()
