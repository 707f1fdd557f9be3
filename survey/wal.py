"""Keeping SQLite's ``-wal`` file empty of ballots, without an ``fsync`` pair per ballot.

Each ballot's commit goes to the write-ahead log first, and the log keeps, commit by commit,
which code row went in the same transaction as which ballot, and which receipt: replaying a
copy of it joined every code to its ballot. A checkpoint that truncates the log removes that
history, but costs two ``fsync`` calls (the log, then the database), and done after each
ballot it held the write lock for most of a ballot's time: at 64 phones on two workers, the
ballot path ran at 0.9 × a bare Flask + sqlite3 app instead of 1.4 ×.

So each worker process empties the log once per short window (``WAL_SWEEP_MS``, 20 ms by
default) after a commit that needs it: the first ballot after a sweep sets the time, the
ballots of the next few milliseconds share that sweep, and a quiet round has an empty log a
few milliseconds after its last ballot. A copy of the files taken in that window can link
the ballots of that window, as a copy of the database taken then tells which ballots
arrived since the previous copy (docs/anonymity.md, 4). ``WAL_SWEEP_MS = 0`` empties it in
the request, before the receipt is sent, as before.

The sweeping thread is started in the process that first needs it (a gunicorn worker, never
the master before it forks), opens the database itself (never creating it: a database gone
away is dropped), and at interpreter exit the pending sweeps are done at once.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import sqlite3
import threading
import time
from urllib.parse import quote

log = logging.getLogger(__name__)

#: how long one emptying waits for readers to leave the log, retrying every fraction of a
#: millisecond (SQLite's own busy handler sleeps whole milliseconds between tries)
READER_WAIT = 0.5


def empty_wal(conn: sqlite3.Connection, wait: float | None = None) -> bool:
    """Checkpoint the whole log into the database and truncate it to zero bytes.

    True when done; False when readers or a writer kept it busy for ``wait`` seconds (the log
    is then left as it was, and the caller tries again later).
    """
    previous = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + (READER_WAIT if wait is None else wait)
        while True:
            try:
                busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            except sqlite3.OperationalError as exc:  # another connection's checkpoint is running
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                busy = 1
            if not busy:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(random.uniform(0.0001, 0.0004))
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(previous)}")


class Sweeper:
    """Empties the logs of the SQLite databases this process wrote ballots to, each at most
    ``delay`` seconds after the first commit since its last emptying."""

    def __init__(self) -> None:
        self._pid = 0
        self._reset()
        atexit.register(self.flush)

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        self._due: dict[str, float] = {}  # database path -> when its log is emptied
        self._sweeping: str | None = None  # the path being emptied now
        self._conns: dict[str, sqlite3.Connection] = {}  # used by the sweeping thread only
        self._thread: threading.Thread | None = None

    def after_commit(self, path: str, delay: float) -> None:
        """Note a commit to ``path`` that left ballots in its log."""
        if os.getpid() != self._pid:  # a forked child inherits the object, not the thread
            self._reset()
        with self._cond:
            if path in self._due:  # a sweep is already coming: it takes this commit along
                return
            self._due[path] = time.monotonic() + delay
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wal-sweeper", daemon=True)
                self._thread.start()
            self._cond.notify()

    def pending(self) -> bool:
        """Whether a sweep is still to come (the tests wait on this)."""
        with self._cond:
            return bool(self._due or self._sweeping) and os.getpid() == self._pid

    def flush(self) -> None:
        """Do every pending sweep now (at exit: a log is never left holding ballots)."""
        if os.getpid() != self._pid:
            return
        with self._cond:
            paths, self._due = list(self._due), {}
        for path in paths:
            self._sweep(path, own_connection=True)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due:
                    self._cond.wait()
                path, due = min(self._due.items(), key=lambda item: item[1])
                pause = due - time.monotonic()
                if pause > 0:
                    self._cond.wait(pause)
                    continue  # something earlier may have come in meanwhile
                # commits noted from here on schedule the next sweep; those before are in the log
                del self._due[path]
                self._sweeping = path
            done = self._sweep(path)
            with self._cond:
                self._sweeping = None
                if not done:
                    self._due.setdefault(path, time.monotonic() + 0.05)

    def _sweep(self, path: str, own_connection: bool = False) -> bool:
        """Empty one log; True when done or when the database is gone (nothing to keep)."""
        try:
            conn = self._connection(path, own_connection)
            try:
                return empty_wal(conn)
            finally:
                if own_connection:
                    conn.close()
        except sqlite3.Error as exc:
            self._conns.pop(path, None)
            if os.path.exists(path):
                log.warning("could not empty the write-ahead log of %s: %s", path, exc)
                return False
            return True

    def _connection(self, path: str, own: bool) -> sqlite3.Connection:
        if not own and path in self._conns:
            return self._conns[path]
        # mode=rw: a database deleted meanwhile (a test's temporary folder) is not created anew
        conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None,
                               check_same_thread=False)
        if not own:
            self._conns[path] = conn
        return conn


sweeper = Sweeper()
