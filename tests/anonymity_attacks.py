"""What an attacker who runs the round knows, and the tools to line it up with storage.

The attacker knows which slip (code) went to whom and in which order codes were used (from a
log, or by watching the code pages); they hold the code key and can read the database and its
files. Each ballot cast here gives a distinct pattern of answers, so that the test (not the
attacker) can tell which stored ballot came from which code, and so judge a linking attempt.
"""

from __future__ import annotations

import functools
import http.client
import http.cookiejar
import itertools
import math
import mmap
import os
import re
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from .conftest import page_tokens, receipt_of

LEVELS = ("satisfied", "basic", "dissatisfied")
FIELDS = ("a:B01:service", "a:B01:conduct", "a:B02:service", "a:B02:conduct")
PATTERNS = [p for p in itertools.product(LEVELS, repeat=len(FIELDS)) if len(set(p)) > 1]  # no 废票


def pattern_answers(n: int) -> dict[str, str]:
    return dict(zip(FIELDS, PATTERNS[n]))


def cast_in_order(app: Flask, codes: list[str], *, comments: bool = True) -> list[str]:
    """Cast one ballot per code, in this order, each with its own pattern (and comment
    ``意见<n>号``); returns the receipts in casting order."""
    receipts = []
    for n, code in enumerate(codes):
        phone = app.test_client()
        page = phone.get(f"/b/{code}")
        assert page.status_code == 200, page.get_data(as_text=True)
        form = {"confirm_partial": "1", **page_tokens(page.get_data(as_text=True)), **pattern_answers(n)}
        if comments:
            form["c:B01"] = f"意见{n:03d}号"
        response = phone.post(f"/b/{code}", data=form)
        assert response.status_code == 200, response.get_data(as_text=True)
        receipts.append(receipt_of(response))
    return receipts


def casting_index_by_ballot(conn: sa.Connection) -> dict[str, int]:
    """ballot id → the place it was cast at, read back from its answer pattern (the test's
    knowledge, not the attacker's)."""
    rows = conn.execute(sa.text(
        "SELECT a.ballot_id, s.code, i.key, a.level FROM answers a "
        "JOIN round_subjects s ON s.id = a.subject_id JOIN round_items i ON i.id = a.item_id"
    ))
    answers: dict[str, dict[str, str]] = {}
    for ballot_id, subject, item, level in rows:
        answers.setdefault(ballot_id, {})[f"a:{subject}:{item}"] = level
    index = {p: n for n, p in enumerate(PATTERNS)}
    return {b: index[tuple(a[f] for f in FIELDS)] for b, a in answers.items()}


def rank_correlation(order: list[int]) -> float:
    """Spearman's rho between a storage order (a list of casting places) and casting order."""
    n = len(order)
    if n < 3:
        return 1.0
    ranks = {v: r for r, v in enumerate(sorted(order))}
    d2 = sum((ranks[v] - pos) ** 2 for pos, v in enumerate(order))
    return 1 - 6 * d2 / (n * (n * n - 1))


def follows_casting(order: list[int]) -> bool:
    """Whether a storage order follows casting order more than chance allows: for 40 ballots,
    |rho| ≥ 0.7 by chance has a probability under 1e-5."""
    return abs(rank_correlation(order)) >= 0.7 or not math.isfinite(rank_correlation(order))


# --- the sealed box: distinctive ballots, a live watcher, byte searches, order tests ----------

#: the ballot tables a watcher of the store reads while a round is open
WATCHED_TABLES = ("ballot_codes", "sealed_ballots", "receipts", "ballots", "answers", "comments")


def new_tag() -> str:
    """A marker no stored byte holds by chance (12 hex digits): every distinctive comment of a
    test carries it, so one search for it finds any of them, in whatever table or file."""
    return f"x{secrets.token_hex(6)}"


def distinctive_comments(tag: str, n: int) -> dict[str, str]:
    """The comments of ballot ``n``: short enough (well under 2 kB) that PostgreSQL stores
    them as they are, not compressed, so a byte search would see them."""
    return {"c:B01": f"{tag}甲{n:03d}号：食堂的饭菜太咸了", "c:B02": f"{tag}乙{n:03d}号：机关办事要跑三趟"}


def place_of_comment(text: str) -> int:
    """The casting place ``distinctive_comments`` put in a comment."""
    return int(re.search(r"[甲乙](\d{3})号", text).group(1))


def cast_distinctive(app: Flask, code: str, n: int, tag: str) -> str:
    """Cast ballot ``n`` with code ``code`` through the test client: answer pattern ``n`` and
    two tagged comments. Returns the receipt shown."""
    phone = app.test_client()
    page = phone.get(f"/b/{code}")
    assert page.status_code == 200, page.get_data(as_text=True)
    form = {**page_tokens(page.get_data(as_text=True)), **pattern_answers(n), **distinctive_comments(tag, n)}
    response = phone.post(f"/b/{code}", data=form)
    assert response.status_code == 200, response.get_data(as_text=True)
    receipt = receipt_of(response)
    assert receipt, response.get_data(as_text=True)
    return receipt


def inversions(order: list[int]) -> int:
    """Pairs that ``order`` has the other way round from sorted order (Kendall's distance)."""
    return sum(1 for i in range(len(order)) for j in range(i + 1, len(order)) if order[i] > order[j])


@functools.lru_cache(maxsize=None)
def _mahonian(n: int) -> tuple[int, ...]:
    """How many permutations of ``n`` items have 0, 1, 2, ... inversions (exact integers):
    inserting the k-th item adds 0..k-1 inversions, each way once."""
    counts = [1]
    for k in range(1, n + 1):
        prefix = [0, *itertools.accumulate(counts)]
        size = len(counts) + k - 1
        counts = [prefix[min(j, len(counts) - 1) + 1] - prefix[max(0, j - k + 1)] for j in range(size)]
    return tuple(counts)


#: the chance a truly random order is called related, per comparison
UNRELATED_ALPHA = 1e-9


@functools.lru_cache(maxsize=None)
def inversion_band(n: int, alpha: float = UNRELATED_ALPHA) -> tuple[int, int]:
    """The inversion counts a random order of ``n`` items stays within except with probability
    at most ``alpha``, computed exactly from the distribution of inversions (symmetric about
    n(n-1)/4), not guessed: the identity (0) and its reverse (n(n-1)/2) lie far outside."""
    counts = _mahonian(n)
    total = math.factorial(n)
    low, tail = 0, 0
    while (tail + counts[low]) / total <= alpha / 2:
        tail += counts[low]
        low += 1
    return low, len(counts) - 1 - low


def kendall_tau(order: list[int]) -> float:
    n = len(order)
    return 1 - 4 * inversions(order) / (n * (n - 1))


def unrelated_to_casting(order: list[int]) -> bool:
    """Whether ``order`` (casting places in storage order) is what a random shuffle gives:
    its inversion count inside ``inversion_band``."""
    low, high = inversion_band(len(order))
    assert low > 0, f"{len(order)} items are too few to tell an order from chance"
    return low <= inversions(order) <= high


def describe_order(order: list[int]) -> str:
    low, high = inversion_band(len(order))
    return (f"Kendall tau {kendall_tau(order):+.2f}, Spearman rho {rank_correlation(order):+.2f}, "
            f"{inversions(order)} inversions (a random order: {low}..{high}): {order}")


# --- reading the store as an insider would -----------------------------------------------------


def driver_connection(database_url: str):  # noqa: ANN201
    """A connection of the driver itself, apart from the app's pool, in autocommit: each
    statement its own snapshot, as a watcher polling the store has."""
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        conn = sqlite3.connect(url.database, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA query_only=1")
        return conn
    import psycopg

    return psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False), autocommit=True)


def table_names(conn) -> list[str]:  # noqa: ANN001
    """Every table of the database (the watcher reads them all, whatever the schema)."""
    if isinstance(conn, sqlite3.Connection):
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    return [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]


def holds_needle(value: object, needles: tuple[str, ...]) -> bool:
    if isinstance(value, str):
        return any(n in value for n in needles)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        return any(n.encode() in raw for n in needles)
    return False


def rows_holding(conn, needles: tuple[str, ...], tables: list[str] | None = None) -> list[tuple[str, tuple]]:  # noqa: ANN001
    """Every row of ``tables`` (default: all) with a column holding one of ``needles``."""
    found = []
    for table in tables if tables is not None else table_names(conn):
        for row in conn.execute(f'SELECT * FROM "{table}"').fetchall():
            if any(holds_needle(v, needles) for v in row):
                found.append((table, tuple(row)))
    return found


class StoreWatcher(threading.Thread):
    """Reads every row of the ballot tables every few milliseconds through a connection of its
    own, as an insider with read access would, while ballots arrive.

    It records what any row it saw held (``sightings``: rows with a needle in any column;
    ``content_rows``: rows of ballots, answers or comments), the sealed rows in the order they
    first appeared (``appeared``) and the sizes of their boxes.
    """

    def __init__(self, database_url: str, needles: tuple[str, ...], interval: float = 0.002) -> None:
        super().__init__(daemon=True)
        self.database_url, self.needles, self.interval = database_url, needles, interval
        self.sightings: list[tuple[str, tuple]] = []  # the first 50
        self.content_rows: list[tuple[str, tuple]] = []
        self.appeared: list[str] = []
        self.boxes: dict[str, bytes] = {}
        self.polls = 0
        self.error: BaseException | None = None
        self._stop_flag = threading.Event()
        self._polled = threading.Condition()

    def run(self) -> None:
        try:
            conn = driver_connection(self.database_url)
            try:
                present = set(table_names(conn))
                tables = [t for t in WATCHED_TABLES if t in present]
                while not self._stop_flag.is_set():
                    self._poll(conn, tables)
                    with self._polled:
                        self.polls += 1
                        self._polled.notify_all()
                    time.sleep(self.interval)
            finally:
                conn.close()
        except BaseException as exc:  # noqa: BLE001  (handed to the test in stop())
            self.error = exc
            with self._polled:
                self._polled.notify_all()

    def _poll(self, conn, tables: list[str]) -> None:  # noqa: ANN001
        for table in tables:
            cursor = conn.execute(f"SELECT * FROM {table}")
            names = [d[0] for d in cursor.description]
            for row in cursor.fetchall():
                if any(holds_needle(v, self.needles) for v in row) and len(self.sightings) < 50:
                    self.sightings.append((table, tuple(row)))
                if table in ("ballots", "answers", "comments") and len(self.content_rows) < 50:
                    self.content_rows.append((table, tuple(row)))
                if table == "sealed_ballots":
                    record = dict(zip(names, row))
                    if record["id"] not in self.boxes:
                        self.appeared.append(record["id"])
                        self.boxes[record["id"]] = bytes(record["box"])

    def sync(self, timeout: float = 30.0) -> None:
        """Return once a whole poll has run that began after this call."""
        with self._polled:
            target = self.polls + 2
            deadline = time.monotonic() + timeout
            while self.polls < target and self.error is None:
                if not self._polled.wait(timeout=max(0.0, deadline - time.monotonic())):
                    raise AssertionError("the watcher stopped polling")
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        self._stop_flag.set()
        self.join(timeout=30)
        if self.error is not None:
            raise self.error


class FileWatcher(threading.Thread):
    """Copies files (SQLite's database and its ``-wal``) each time one changes (its inode, size
    or modification time, looked at every millisecond), and searches every copy for
    ``needles``: what an insider copying the files as they change would get."""

    def __init__(self, paths: list[Path], needles: tuple[bytes, ...]) -> None:
        super().__init__(daemon=True)
        self.paths, self.needles = paths, needles
        self.copies = 0
        self.hits: list[tuple[str, bytes]] = []
        self.error: BaseException | None = None
        self._stop_flag = threading.Event()
        self._lock = threading.Lock()

    def copy_now(self, path: Path) -> None:
        """Copy ``path`` as it is now and search the copy (also called by the test itself, right
        after each receipt)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        with self._lock:
            self.copies += 1
            self.hits += [(path.name, n) for n in self.needles if n in data]

    def run(self) -> None:
        seen: dict[Path, tuple] = {}
        try:
            while not self._stop_flag.is_set():
                for path in self.paths:
                    try:
                        st = path.stat()
                    except FileNotFoundError:
                        continue
                    stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
                    if seen.get(path) != stamp:
                        seen[path] = stamp
                        self.copy_now(path)
                time.sleep(0.001)
        except BaseException as exc:  # noqa: BLE001
            self.error = exc

    def stop(self) -> None:
        self._stop_flag.set()
        self.join(timeout=30)
        if self.error is not None:
            raise self.error


def files_holding(root: Path, needles: tuple[bytes, ...]) -> list[tuple[str, bytes]]:
    """(file, needle) for every file under ``root`` holding a needle (read as they are)."""
    found = []
    for path in sorted(root.rglob("*")):
        try:
            if not path.is_file() or path.stat().st_size == 0:
                continue
            with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
                found += [(str(path.relative_to(root)), n) for n in needles if data.find(n) != -1]
        except (FileNotFoundError, ValueError, PermissionError):
            continue  # gone meanwhile (a recycled WAL segment), or not a plain file
    return found


# --- phones over HTTP, and the shipped gunicorn configuration ---------------------------------

#: what a phone sees when the server goes away under its request
DROPPED = (urllib.error.URLError, http.client.HTTPException, ConnectionError, TimeoutError)


class HttpPhone:
    """A phone talking HTTP to a real server: its own cookies (the session holding the CSRF
    token), no client library beyond the standard one. A 4xx or 5xx is an answer; a dropped
    connection raises one of ``DROPPED``."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=60) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()


RECEIPT_TEXT = re.compile(r'id="receipt">([^<]+)<')
CHINESE = re.compile(r"[\u4e00-\u9fff]")


class Gunicorn:
    """The shipped ``gunicorn.conf.py`` serving the test's database with ``workers`` workers, an
    instance folder of the test's own and the test app's keys."""

    def __init__(self, app: Flask, folder: Path, workers: int = 2) -> None:
        from .test_anonymity_logs import free_port, gunicorn_env

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = folder / "gunicorn.log"
        instance = folder / "gunicorn-instance"
        self.env = {**gunicorn_env(app.config["DATABASE_URL"], self.port), "SURVEY_WORKERS": str(workers),
                    "SURVEY_BALLOT_BOX_KEY": str(app.config["BALLOT_BOX_KEY"]),
                    # phones here speak plain http: an https address would make every cookie
                    # Secure, and a phone that never sends its session back fails each form's check
                    "SURVEY_BASE_URL": self.base}
        self.factory = f"survey:create_app({{'INSTANCE_PATH': {str(instance)!r}}})"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Gunicorn:
        from .test_anonymity_logs import ROOT, wait_for

        gunicorn = Path(sys.executable).with_name("gunicorn")
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([str(gunicorn), "-c", "gunicorn.conf.py", self.factory], cwd=ROOT,
                                            env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self.port, self.process)
        return self

    def __exit__(self, *exc: object) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)

    def workers(self) -> list[int]:
        """The master's live child processes (its workers), in pid order."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if int(fields[1]) == self.process.pid and fields[0] != "Z":
                found.append(int(stat.parent.name))
        return sorted(found)

    def serving(self, worker: int) -> bool:
        """Whether ``worker`` holds an accepted connection of the server's port (is serving)."""
        try:
            inodes = {os.readlink(f)[8:-1] for f in Path(f"/proc/{worker}/fd").iterdir()
                      if os.readlink(f).startswith("socket:[")}
        except (FileNotFoundError, ProcessLookupError):
            return False
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local_port = int(fields[1].rsplit(":", 1)[1], 16)
                if local_port == self.port and fields[3] == "01" and fields[9] in inodes:
                    return True
        return False

    def wait_until(self, condition, what: str, timeout: float = 60.0) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s")
            time.sleep(0.005)


class Cast:
    """What one phone's ballot over HTTP came to: the receipt shown, or the answer it got."""

    def __init__(self) -> None:
        self.receipt: str | None = None
        self.status: int | None = None
        self.body = ""
        self.drops = 0  #: requests the server dropped (a worker killed under them)


def cast_over_http(base: str, code: str, n: int, tag: str, *, retry_drops: bool) -> Cast:
    """Ballot ``n`` (answer pattern ``n``, tagged comments) cast with ``code`` as a phone would:
    the page, then the form. With ``retry_drops`` a dropped request is sent again, the same page
    tapped again (its ticket makes it the same ballot), until the server answers; else a drop
    raises."""
    phone, cast = HttpPhone(base), Cast()

    def send(path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        for _ in range(100):
            try:
                return phone.request(path, form)
            except DROPPED:
                if not retry_drops:
                    raise
                cast.drops += 1
                time.sleep(0.1)
        raise AssertionError(f"ballot {n}: the server dropped 100 tries")

    status, page = send(f"/b/{code}")
    if status == 200:
        form = {**page_tokens(page), **pattern_answers(n), **distinctive_comments(tag, n)}
        status, page = send(f"/b/{code}", form)
    cast.status, cast.body = status, page
    found = RECEIPT_TEXT.search(page) if status == 200 else None
    cast.receipt = found.group(1) if found else None
    return cast


def waiting_for_the_write_lock(database_url: str, workers: list[int]) -> bool:
    """Whether every worker's ballot waits for the write lock the test holds: on PostgreSQL a
    session per worker waits for a lock (``pg_stat_activity``); on SQLite each worker sleeps
    between its ``BEGIN IMMEDIATE`` tries (``survey.database``), which is the only sleep a
    worker takes (an idle worker waits in ``select``)."""
    if sa.make_url(database_url).get_backend_name() == "postgresql":
        conn = driver_connection(database_url)
        try:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0] >= len(workers)
        finally:
            conn.close()

    def sleeping(pid: int) -> bool:
        try:
            return any(Path(f"/proc/{pid}/wchan").read_text() == "hrtimer_nanosleep" or time.sleep(0.001)
                       for _ in range(20))
        except FileNotFoundError:
            return False

    return all(sleeping(pid) for pid in workers)


class WriteLock:
    """The test holding what a ballot's transaction needs: SQLite's write lock (``BEGIN
    IMMEDIATE``), or on PostgreSQL every code row (``FOR UPDATE``), so a ballot waits inside its
    transaction, after reading the round's status, before spending its code."""

    def __init__(self, database_url: str) -> None:
        url = sa.make_url(database_url)
        if url.get_backend_name() == "sqlite":
            self.conn = sqlite3.connect(url.database, isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
        else:
            import psycopg

            self.conn = psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
            self.conn.execute("SELECT id FROM ballot_codes FOR UPDATE").fetchall()

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()
