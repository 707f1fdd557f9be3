"""``python -m scoring``: score a round, or merge it into the annual assessment (年度考核).

Every error is one line on stderr naming the file (and line), exit status 2, nothing written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from .errors import InputError
from .scales import ScaleError
from .spec import SpecError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scoring",
        description="Scorecards for 群众评议 (mass evaluation) rounds, by the rules in docs/scoring.md.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    score = commands.add_parser(
        "score", help="a round's weighted scorecard from its ballots and organizational ratings",
        description="Compute a round's scorecard: public score, shares, organizational score, "
                    "composite, grade, rank, bootstrap interval and flags, one row per subject.")
    score.add_argument("--spec", required=True, type=Path, help="the round spec (JSON)")
    score.add_argument("--answers", required=True, type=Path,
                       help="answers.csv: response_id,group,subject,item,answer")
    score.add_argument("--org", type=Path, help="org.csv: subject,rater,score (0–100)")
    score.add_argument("--out", required=True, type=Path,
                       help="scorecard.csv (UTF-8 with BOM) or scorecard.xlsx (formatted workbook)")
    score.add_argument("--summary", type=Path,
                       help="also write summary.json: ballots and participation per group, "
                            "废票 excluded, Cronbach's alpha")
    score.add_argument("--jobs", type=_jobs, default=1, metavar="N",
                       help="draw the bootstrap interval in N threads (default 1: no threads); "
                            "the result is the same for every N")

    annual = commands.add_parser(
        "annual", help="merge a round's scorecard into the annual assessment (年度考核)",
        description="Weighted mean of the roster's components and scorecard columns, graded, "
                    "capped and ranked as in the round.")
    annual.add_argument("--roster", required=True, type=Path,
                        help="the roster: CSV (UTF-8, with or without BOM, or GB18030 as Excel saves it) or "
                             ".xlsx (its first sheet), headed subject,name,<component>... or 代码,名称,<component>...")
    annual.add_argument("--scorecard", required=True, type=Path, help="the round's scorecard.csv")
    annual.add_argument("--weights", required=True, type=Path,
                        help="annual.json: components, grades, rules, top_share_cap")
    annual.add_argument("--out", required=True, type=Path,
                        help="annual.xlsx (for people: the merged table headed in Chinese, then the sheet "
                             "'data' with the fixed columns, the scorecard, the rules and the subjects not on "
                             "the roster) or annual.csv (the merged table alone, fixed columns, for programs)")
    return parser


def run_score(args: argparse.Namespace) -> None:
    from .io import read_answer_codes, read_org, write_scorecard, write_summary
    from .scorecard import build_scorecard
    from .spec import load_spec
    from .summary import round_summary
    from .tallies import tally_codes

    spec = load_spec(args.spec)
    answers = read_answer_codes(args.answers, spec)
    org = read_org(args.org, spec) if args.org else None
    tallies = tally_codes(spec, answers)
    del answers
    with _bootstrap_threads(args.jobs) as executor:
        scorecard = build_scorecard(spec, tallies, org, executor=executor)
    summary = round_summary(spec, tallies, scorecard) if args.summary else None
    write_scorecard(scorecard, args.out)
    if summary is not None:
        try:
            write_summary(summary, args.summary)
        except BaseException:
            args.out.unlink(missing_ok=True)
            raise


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


@contextmanager
def _bootstrap_threads(jobs: int) -> Iterator[Executor | None]:
    """``jobs − 1`` threads that draw bootstrap resamples beside the main thread; none for 1.

    numpy draws random numbers without holding the GIL, so threads do run in parallel; every
    (subject, group) has its own random stream, so the interval does not depend on ``jobs``.
    """
    if jobs <= 1:
        yield None
        return
    with ThreadPoolExecutor(max_workers=jobs - 1, thread_name_prefix="bootstrap") as pool:
        yield pool


def run_annual(args: argparse.Namespace) -> None:
    from .annual import load_annual_weights, merge_annual, write_annual
    from .io import csv_encoding

    weights = load_annual_weights(args.weights)
    if args.roster.suffix.lower() != ".xlsx" and csv_encoding(args.roster) == "gb18030":
        print(f"{args.roster}: read as GB18030 (GBK), as Excel saves CSV on a Chinese Windows", file=sys.stderr)
    result = merge_annual(weights, args.roster, args.scorecard)
    write_annual(result, args.out)
    if result.not_on_roster:
        names = ", ".join(result.not_on_roster)
        print(f"warning: {args.scorecard}: subjects not on the roster {args.roster}: {names}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input)."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "score":
            run_score(args)
        else:
            run_annual(args)
    except (InputError, SpecError, ScaleError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: {exc.filename or ''}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0
