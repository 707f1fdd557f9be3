"""Benchmark: phones casting ballots, this project on SQLite and PostgreSQL against bare Flask.

Run from the repository root (``make bench-ballots`` does)::

    .venv/bin/python bench/ballots.py [--phones 64] [--rounds 6] [--ballots 1000] [--seconds 8] [--codes]

It starts four servers, each under gunicorn with the project's ``gunicorn.conf.py`` and two
workers on a free loopback port:

* ``bare``: ``bench/bare_app.py``, the same two requests in bare Flask + sqlite3, serving the
  project's full page (the baseline of earlier reports);
* ``bare-min``: the same app serving minimal pages (the inputs and the receipt only): the
  baseline of an independent review, and the stricter one (column ``× min``);
* ``sqlite``: this project on a fresh, migrated SQLite database;
* ``postgresql``: this project on a throw-away PostgreSQL server started from the machine's
  ``initdb``/``pg_ctl`` (``synchronous_commit=off``, the counterpart of SQLite's
  ``synchronous=NORMAL`` in WAL mode: a crash of the machine may lose the last commits, never
  corrupt the database).

The round has 8 subjects × 5 items on a five-level scale plus 不了解 (240 radio buttons) and a
comment box per subject. Each simulated phone opens a new connection, GETs the questionnaire,
then POSTs its 40 answers with the page's CSRF token, ticket and session cookie (and the 8
empty comment boxes, as a browser sends them). ``--phones`` phones run at once; the targets take
turns for ``--rounds`` rounds of ``--ballots`` ballots (or ``--seconds``, whichever ends first),
so that whatever else runs on the machine slows all of them alike. With ``--codes`` the project
targets use single-use ballot codes (one per phone) instead of an open link.

Printed per target: ballots/s, p50/p99 of a whole ballot (GET start to receipt) and of one
request, errors, ballots acknowledged (a receipt page came back) against ballots stored (counted
in the database afterwards; every acknowledged receipt must be there), and ballots/s as a ratio
to the bare baseline, and the server's CPU time per ballot (gunicorn workers, and PostgreSQL's
processes for that target). Other jobs on the machine move the absolute figures: compare the
ratios, and the CPU time, which they hardly move.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from tests.pg_server import PostgresServer, start_server  # noqa: E402

SLUG, GROUP, CODE_GROUP = "bench", "staff", "codes"
SECRET = "bench-secret-key"
#: the service's settings for every target: fixed keys (nothing written to the instance folder),
#: and no least reading time (a phone here posts as soon as its page is in)
SERVICE_ENV = {
    "SURVEY_SECRET_KEY": SECRET,
    "SURVEY_CODE_KEY": "bench-code-key",
    "SURVEY_AUDIT_KEY": "bench-audit-key",
    "SURVEY_BASE_URL": "http://127.0.0.1",
    "SURVEY_MIN_SECONDS_PER_QUESTION": "0",
}
#: every phone here comes from 127.0.0.1 (behind a campus NAT hundreds of phones share one
#: address too): the open link's per-address rate is set above what the benchmark sends, so
#: that its counter is kept, and paid for, on every ballot without refusing one
PER_ADDRESS_PER_MINUTE = 1_000_000_000

SUBJECTS = [
    ("B01", "计算机学院党总支", "每月开放党员服务岗，为师生办实事不少于3件"),
    ("B02", "机关党委", None),
    ("B03", "外国语学院党总支", "推动科学发展，助力学科建设"),
    ("B04", "后勤服务集团党委", None),
    ("B05", "图书馆直属党支部", None),
    ("B06", "马克思主义学院党总支", "组织理论学习不少于12次"),
    ("B07", "经济管理学院党总支", None),
    ("B08", "离退休工作处党总支", None),
]
ITEMS = [
    ("development", "推动科学发展：围绕中心、服务大局，推动教育事业科学发展"),
    ("service", "服务师生群众：深化为民服务，为师生办实事、解难题"),
    ("conduct", "改进工作作风：转变作风，密切联系师生群众"),
    ("harmony", "建设和谐校园：维护校园和谐稳定"),
    ("organization", "加强基层组织：增强创造力、凝聚力、战斗力"),
]
LEVELS = [
    ("very_satisfied", "很满意", 100, "positive"),
    ("satisfied", "满意", 80, "positive"),
    ("basic", "基本满意", 60, "positive"),
    ("somewhat_dissatisfied", "不太满意", 30, "negative"),
    ("dissatisfied", "不满意", 0, "negative"),
]
ANSWERS = [key for key, *_ in LEVELS] + ["unknown"]


def make_spec() -> dict:
    """The benchmark round: 8 subjects × 5 items, an open group and a group that takes codes."""
    return {
        "slug": SLUG,
        "title": "2026年基层党组织创先争优群众评议（基准测试）",
        "year": 2026,
        "scale": {"levels": [{"key": k, "label": lab, "points": p, "polarity": pol} for k, lab, p, pol in LEVELS]},
        "subjects": [{"code": c, "name": n, **({"commitment": m} if m else {})} for c, n, m in SUBJECTS],
        "items": [{"key": k, "text": t, "weight": 1} for k, t in ITEMS],
        "groups": [
            {"key": GROUP, "name": "教职工", "weight": 0.5, "access": "open", "expected": 10_000_000,
             "once_per_device": False, "per_address_per_minute": PER_ADDRESS_PER_MINUTE},
            {"key": CODE_GROUP, "name": "学生", "weight": 0.5, "access": "codes", "expected": 1_000_000},
        ],
        "comments": True,
        "scheme": {"combine": {"organizational": 0, "public": 1}},
    }


# --- servers -------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Target:
    """One server under test, and what the client measured against it."""

    name: str
    port: int
    paths: list[str]  #: questionnaire addresses, one per ballot (codes) or the open link, reused
    count_stored: object  #: () -> set of stored receipts
    process: subprocess.Popen | None = None
    extra_pids: object = lambda: []  #: () -> pids of other processes serving it (PostgreSQL)
    cpu_seconds: float = 0.0  #: CPU time its processes used inside measured segments
    acknowledged: list[str] = field(default_factory=list)
    ballot_ms: list[float] = field(default_factory=list)
    request_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    counted: int = 0  #: ballots acknowledged inside measured segments

    def path(self) -> str:
        return self.paths.pop() if len(self.paths) > 1 else self.paths[0]


def gunicorn(app: str, env: dict[str, str], port: int, log: Path, *extra: str) -> subprocess.Popen:
    """The app under gunicorn with the project's configuration, two workers, access log dropped."""
    return subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "-w", "2", "-b", f"127.0.0.1:{port}",
         *extra, app],
        cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=log.open("w"),
        start_new_session=True,
    )


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "flask"), "--app", "survey", *args], cwd=ROOT, env={**os.environ, **env},
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def project_target(name: str, url: str, work: Path, args: argparse.Namespace, count_stored) -> Target:
    """Migrate ``url``, import and open the round, issue codes if asked, start gunicorn."""
    env = {**SERVICE_ENV, "SURVEY_DATABASE_URL": url}
    flask(env, "db", "upgrade")
    spec = work / "spec.json"
    flask(env, "rounds", "import", str(spec))
    flask(env, "rounds", "open", SLUG)
    paths = [f"/r/{SLUG}/{GROUP}"]
    if args.codes:
        needed = args.rounds * args.ballots + args.warmup + args.phones
        out = work / f"{name}-codes.csv"
        flask(env, "codes", "issue", SLUG, "--group", CODE_GROUP, "--count", str(needed), "--out", str(out), "--allow-loopback")
        with out.open(encoding="utf-8-sig") as f:
            paths = [urlsplit(row["url"]).path for row in csv.DictReader(f)]
    port = free_port()
    process = gunicorn("survey:create_app()", env, port, work / f"{name}.log")
    return Target(name, port, paths, count_stored, process)


def stored_receipts_sql(url: str):  # noqa: ANN201
    """Receipts stored by the project, read with SQLAlchemy after the run."""

    def count() -> set[str]:
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            receipts = set(conn.scalars(sa.text("SELECT receipt FROM receipts")))
            sealed = conn.scalar(sa.text("SELECT count(*) FROM sealed_ballots"))
        engine.dispose()
        if sealed != len(receipts):  # the round stays open: its ballots are sealed rows
            print(f"  warning: {sealed} sealed ballots stored for {len(receipts)} receipts", file=sys.stderr)
        return receipts

    return count


def stored_receipts_bare(path: Path):  # noqa: ANN201
    def count() -> set[str]:
        with sqlite3.connect(path) as conn:
            return {f"{r[:4]}-{r[4:]}" for (r,) in conn.execute("SELECT receipt FROM ballots")}

    return count


def wait_ready(target: Target, deadline: float = 60) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if target.process.poll() is not None:
            raise SystemExit(f"{target.name}: gunicorn exited with {target.process.returncode}")
        try:
            status, _, _ = asyncio.run(request(target.port, "GET", target.paths[0], {}))
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{target.name}: no answer on port {target.port} within {deadline} s")


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def tree_cpu(roots: list[int]) -> float:
    """CPU seconds (user + system, reaped children included) of ``roots`` and their descendants.

    Unlike ballots/s, CPU time per ballot hardly moves when other jobs share the machine.
    """
    stats: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = raw[raw.rindex(")") + 2:].split()
            stats[int(entry)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo, seen = 0, [p for p in roots if p in stats], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += stats[pid][1]
        todo += children.get(pid, [])
    return total / os.sysconf("SC_CLK_TCK")


# --- the client ----------------------------------------------------------------------------------

HIDDEN = re.compile(rb'name="(csrf_token|ticket)" value="([^"]*)"')
RECEIPT = re.compile(rb'id="receipt">([^<]+)<')
USER_AGENT = "Mozilla/5.0 (Linux; Android 12) AppleWebKit/537.36 Mobile MicroMessenger/8.0"


async def request(port: int, method: str, path: str, headers: dict[str, str], body: bytes = b""):  # noqa: ANN201
    """One HTTP/1.1 request on a new connection: (status, headers, body)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"User-Agent: {USER_AGENT}",
                "Accept: text/html", "Connection: close"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        if method == "POST":
            head += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        response_headers: dict[str, str] = {}
        cookies = []
        for line in lines[1:]:
            if ":" in line:
                key, value = line.split(":", 1)
                key = key.strip().lower()
                if key == "set-cookie":
                    cookies.append(value.strip().split(";", 1)[0])
                response_headers[key] = value.strip()
        response_headers["cookie"] = "; ".join(cookies)
        if "content-length" in response_headers:
            content = await reader.readexactly(int(response_headers["content-length"]))
        else:
            content = await reader.read()
        return status, response_headers, content
    finally:
        writer.close()


async def phone(target: Target, rng: random.Random) -> str:
    """One phone: GET the questionnaire, POST 40 answers; returns the receipt or raises."""
    path = target.path()
    start = time.perf_counter()
    status, headers, page = await request(target.port, "GET", path, {})
    middle = time.perf_counter()
    if status != 200:
        raise BallotError(f"GET {status}")
    hidden = {k.decode(): v.decode() for k, v in HIDDEN.findall(page)}
    if "csrf_token" not in hidden:
        raise BallotError("GET without csrf_token")
    fields = [("csrf_token", hidden["csrf_token"]), ("ticket", hidden.get("ticket", ""))]
    for code, *_ in SUBJECTS:
        fields += [(f"a:{code}:{item}", rng.choice(ANSWERS)) for item, _ in ITEMS]
        fields.append((f"c:{code}", ""))
    body = "&".join(f"{quote(k)}={quote(v)}" for k, v in fields).encode()
    cookie = {"Cookie": headers["cookie"]} if headers["cookie"] else {}
    status, _, answer = await request(target.port, "POST", path, cookie, body)
    end = time.perf_counter()
    target.request_ms += [(middle - start) * 1000, (end - middle) * 1000]
    if status != 200:
        raise BallotError(f"POST {status}")
    found = RECEIPT.search(answer)
    if not found:
        raise BallotError("POST 200 without receipt")
    target.ballot_ms.append((end - start) * 1000)
    return found.group(1).decode()


class BallotError(Exception):
    pass


async def segment(target: Target, phones: int, ballots: int, seconds: float, rng: random.Random) -> tuple[int, float]:
    """``phones`` phones cast ballots until ``ballots`` were started or ``seconds`` passed."""
    started = 0
    deadline = time.perf_counter() + seconds
    done = 0

    async def one_phone() -> None:
        nonlocal started, done
        while started < ballots and time.perf_counter() < deadline:
            started += 1
            try:
                target.acknowledged.append(await phone(target, rng))
                done += 1
            except (BallotError, OSError, asyncio.IncompleteReadError, ValueError) as exc:
                kind = str(exc) if isinstance(exc, BallotError) else type(exc).__name__
                target.errors[kind] = target.errors.get(kind, 0) + 1

    begin = time.perf_counter()
    await asyncio.gather(*(one_phone() for _ in range(phones)))
    return done, time.perf_counter() - begin


async def drive(targets: list[Target], args: argparse.Namespace) -> None:
    rng = random.Random(7)
    for target in targets:  # templates compiled, pools filled: not measured
        await segment(target, args.phones, args.warmup, args.seconds, rng)
        target.ballot_ms.clear()
        target.request_ms.clear()
    for r in range(args.rounds):
        order = targets if r % 2 == 0 else targets[::-1]
        for target in order:
            pids = [target.process.pid, *target.extra_pids()]
            cpu = tree_cpu(pids)
            done, elapsed = await segment(target, args.phones, args.ballots, args.seconds, rng)
            target.cpu_seconds += tree_cpu(pids) - cpu
            target.counted += done
            target.seconds += elapsed
            print(f"  round {r + 1} {target.name:<11} {done / elapsed:7.1f} ballots/s", file=sys.stderr)


# --- report --------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def report(targets: list[Target], args: argparse.Namespace) -> None:
    def rate_of(name: str) -> float | None:
        base = next((t for t in targets if t.name == name), None)
        return base.counted / base.seconds if base and base.seconds else None

    base_rate, minimal_rate = rate_of("bare"), rate_of("bare-min")
    access = "ballot codes" if args.codes else "open link"
    print(f"{args.phones} phones, {args.rounds} rounds × {args.ballots} ballots per target, "
          f"gunicorn -w 2, project on the {access}")
    print(f"{'target':<11} {'ballots/s':>9} {'× bare':>7} {'× min':>7} {'ballot p50':>10} {'p99':>7} "
          f"{'request p50':>11} {'p99':>7} {'errors':>6} {'acked':>6} {'stored':>6} {'CPU/ballot':>10}")
    for t in targets:
        rate = t.counted / t.seconds if t.seconds else 0.0
        stored = t.count_stored()
        missing = len(set(t.acknowledged) - stored)
        ratio = f"{rate / base_rate:6.2f}×" if base_rate else "    -"
        to_minimal = f"{rate / minimal_rate:6.2f}×" if minimal_rate else "    -"
        print(f"{t.name:<11} {rate:9.1f} {ratio:>7} {to_minimal:>7} {percentile(t.ballot_ms, 50):8.0f}ms "
              f"{percentile(t.ballot_ms, 99):5.0f}ms {percentile(t.request_ms, 50):9.0f}ms "
              f"{percentile(t.request_ms, 99):5.0f}ms {sum(t.errors.values()):6d} "
              f"{len(t.acknowledged):6d} {len(stored):6d} "
              f"{1000 * t.cpu_seconds / max(t.counted, 1):8.2f}ms")
        if t.errors:
            print(f"{'':<11} errors: {t.errors}")
        if missing:
            print(f"{'':<11} {missing} acknowledged receipts are NOT stored")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--phones", type=int, default=64, help="phones at once (default 64)")
    parser.add_argument("--rounds", type=int, default=6, help="turns per target (default 6)")
    parser.add_argument("--ballots", type=int, default=1000, help="ballots per turn (default 1000)")
    parser.add_argument("--seconds", type=float, default=8, help="time limit of a turn in seconds (default 8)")
    parser.add_argument("--warmup", type=int, default=200, help="ballots per target before measuring")
    parser.add_argument("--codes", action="store_true", help="the project on single-use ballot codes")
    parser.add_argument("--only", default="bare,bare-min,sqlite,postgresql", help="targets, comma-separated")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, databases)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="ballot-bench-"))
    (work / "spec.json").write_text(json.dumps(make_spec(), ensure_ascii=False), encoding="utf-8")
    wanted = args.only.split(",")
    targets: list[Target] = []
    pg: PostgresServer | None = None
    try:
        for name in ("bare", "bare-min"):
            if name not in wanted:
                continue
            db = work / f"{name}.db"
            # gunicorn.conf.py's start-up check opens the service's database: give it a spare one
            env = {**SERVICE_ENV, "SURVEY_DATABASE_URL": f"sqlite:///{work / 'unused.db'}",
                   "BARE_SPEC": str(work / "spec.json"), "BARE_DB": str(db), "BARE_SECRET": SECRET}
            if name == "bare-min":
                env["BARE_MINIMAL"] = "1"
            port = free_port()
            process = gunicorn("bare_app:create_app()", env, port, work / f"{name}.log", "--pythonpath", str(HERE))
            targets.append(Target(name, port, [f"/r/{SLUG}/{GROUP}"], stored_receipts_bare(db), process))
        if "sqlite" in wanted:
            url = f"sqlite:///{work / 'survey.db'}"
            targets.append(project_target("sqlite", url, work, args, stored_receipts_sql(url)))
        if "postgresql" in wanted:
            pg = start_server(options="-c synchronous_commit=off")
            url = pg.url
            targets.append(project_target("postgresql", url, work, args, stored_receipts_sql(url)))
            postmaster = int((pg.datadir / "postmaster.pid").read_text().split()[0])
            targets[-1].extra_pids = lambda: [postmaster]
        for target in targets:
            wait_ready(target)
        asyncio.run(drive(targets, args))
        for target in targets:
            stop(target.process)
        report(targets, args)
    finally:
        for target in targets:
            stop(target.process)
        if pg is not None:
            pg.stop()
        if args.keep:
            print(f"work folder kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
