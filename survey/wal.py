"""Keeping SQLite's ``-wal`` file empty of ballots, without an ``fsync`` pair per ballot.

Each ballot's commit goes to the write-ahead log first, and the log keeps, commit by commit,
which code row went in the same transaction as which ballot, and which receipt: replaying a
copy of it joined every code to its ballot. A checkpoint that truncates the log removes that
history, but costs two ``fsync`` calls (the log, then the database) with the write lock held;
done in every ballot's request it took most of a ballot's time: at 64 phones on two workers,
the ballot path ran at 0.9 × a bare Flask + sqlite3 app.

So a request for the ballot pages that ends while the server has nothing else of the kind to
do empties the log before its page is sent: no other such request in progress in any worker
process (``Presence``) and no connection waiting to be accepted (``waiting_connections``). One
person answering, or the last of a crowd, gets the receipt with the log already empty. A
request that ends while others are in progress or waiting leaves the log to them (the last of
them empties it), and, so that a crowd that never thins out does not keep the log growing, has
a thread of its worker empty it within ``WAL_SWEEP_MS`` (20 ms by default; ``Sweeper``). Under
load one emptying thus serves the ballots of a few milliseconds, and a copy of the files taken
within them can link those ballots (docs/anonymity.md, 4). ``WAL_SWEEP_MS = 0`` empties the
log in every ballot's request.
"""

from __future__ import annotations

import atexit
import fcntl
import logging
import os
import random
import select
import socket
import sqlite3
import struct
import threading
import time
from urllib.parse import quote

log = logging.getLogger(__name__)

#: how long one emptying waits for readers to leave the log, retrying every fraction of a
#: millisecond (SQLite's own busy handler sleeps whole milliseconds between tries)
READER_WAIT = 0.5
#: a request empties the log itself waiting at most this long, then leaves it to the sweeper
INLINE_WAIT = 0.05
#: when an emptying was kept out, the sweeper tries again this much later
RETRY_AFTER = 0.05


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


def inflight_file(path: str) -> str:
    """The file beside the database that the workers lock (``Presence``) and in which an
    emptying leaves its start time (``last_emptied``)."""
    return f"{path}-inflight"


def empty_and_stamp(conn: sqlite3.Connection, path: str, wait: float | None = None) -> bool:
    """``empty_wal``, and when done, leave its start time for the other workers' sweepers."""
    started = time.monotonic()
    done = empty_wal(conn, wait)
    if done:
        _stamp(path, started)
    return done


def last_emptied(path: str) -> float | None:
    """When (``time.monotonic``, the same clock in every process) the last emptying of the
    log of ``path`` by any process started, or None when unknown."""
    try:
        fd = os.open(inflight_file(path), os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        data = os.pread(fd, 8, 0)
    finally:
        os.close(fd)
    return struct.unpack("<q", data)[0] / 1e9 if len(data) == 8 else None


def _stamp(path: str, started: float) -> None:
    try:
        fd = os.open(inflight_file(path), os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        os.pwrite(fd, struct.pack("<q", int(started * 1e9)), 0)
    finally:
        os.close(fd)


class Sweeper:
    """Empties the logs of the SQLite databases this process wrote ballots to, each at most
    ``delay`` seconds after the first commit since its last emptying.

    The workers share the work: an emptying leaves its start time in ``<database>-inflight``,
    and a worker whose first pending commit came before that time has nothing of its own left
    unless it committed again, which then waits at most ``delay`` after that emptying. Two
    workers under load thus empty the log about once per ``delay`` between them, not each."""

    def __init__(self) -> None:
        self._pid = 0
        self._reset()
        atexit.register(self.flush)

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._cond = threading.Condition()
        #: database path -> (when its log is emptied, when its first commit since was noted, delay)
        self._due: dict[str, tuple[float, float, float]] = {}
        self._sweeping: str | None = None  # the path being emptied now
        self._thread: threading.Thread | None = None

    def after_commit(self, path: str, delay: float) -> None:
        """Note a commit to ``path`` that left ballots in its log."""
        if os.getpid() != self._pid:  # a forked child inherits the object, not the thread
            self._reset()
        with self._cond:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="wal-sweeper", daemon=True)
                self._thread.start()
            elif path in self._due:
                return  # a sweep is already coming: it takes this commit along
            now = time.monotonic()
            self._due.setdefault(path, (now + delay, now, delay))
            self._cond.notify()  # only for a new due time: waking the thread costs the request the GIL

    def pending(self) -> bool:
        """Whether a sweep is still to come (the tests wait on this)."""
        with self._cond:
            return bool(self._due or self._sweeping) and os.getpid() == self._pid

    def flush(self, wait: float = 5.0) -> None:
        """Do every pending sweep now, and let one under way finish (at exit: a log is never
        left holding ballots)."""
        if os.getpid() != self._pid:
            return
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self._cond:
                paths, self._due = list(self._due), {}
                busy = self._sweeping is not None
            for path in paths:
                self._sweep(path)
            if not paths and not busy:
                return
            if busy:
                time.sleep(0.001)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due:
                    self._cond.wait()
                path, (due, first, delay) = min(self._due.items(), key=lambda item: item[1][0])
                now = time.monotonic()
                if due > now:
                    self._cond.wait(due - now)
                    continue  # something earlier may have come in meanwhile
                # commits noted from here on schedule the next sweep; those before are in the log
                del self._due[path]
                emptied = last_emptied(path)
                if emptied is not None and emptied > first:  # another worker's emptying took ours
                    if not log_holds_data(path):
                        continue
                    if emptied + delay > now:  # what came after it: at most delay after it
                        self._due.setdefault(path, (emptied + delay, emptied, delay))
                        continue
                self._sweeping = path
            done = False
            try:
                done = self._sweep(path)
            except Exception:  # noqa: BLE001  (the thread must live on: tried again below)
                log.exception("emptying the write-ahead log of %s failed", path)
            with self._cond:
                self._sweeping = None
                if not done:
                    now = time.monotonic()
                    self._due.setdefault(path, (now + RETRY_AFTER, now, RETRY_AFTER))

    @staticmethod
    def _sweep(path: str) -> bool:
        """Empty one log; True when done or when the database is gone (nothing to keep).

        A connection of its own each time (a fraction of a millisecond): a cached one would
        go on checkpointing a database file replaced under the same name."""
        try:
            # mode=rw: a database deleted meanwhile (a test's temporary folder) is not created anew
            conn = sqlite3.connect(f"file:{quote(path)}?mode=rw", uri=True, isolation_level=None,
                                   check_same_thread=False)
            try:
                return empty_and_stamp(conn, path)
            finally:
                conn.close()
        except sqlite3.Error as exc:
            if os.path.exists(path):
                log.warning("could not empty the write-ahead log of %s: %s", path, exc)
                return False
            return True


class Presence:
    """Which requests for the ballot pages are in progress, across the worker processes that
    share one SQLite database.

    Each process holds a shared ``flock`` on ``<database>-inflight`` (an empty file) while it
    serves at least one such request, with a count per process for threaded servers; a process
    whose last one ends is alone when it can take the lock exclusively. A worker that dies
    drops its lock with it. Where ``flock`` is refused, every request counts as alone, so the
    log is emptied in every request.
    """

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._mutex = threading.Lock()
        self._counts: dict[str, int] = {}
        self._files: dict[str, int | None] = {}

    def enter(self, path: str) -> None:
        """A request for the ballot pages of this database has started."""
        if os.getpid() != self._pid:  # a forked child holds none of its parent's locks
            self._reset()
        with self._mutex:
            count = self._counts.get(path, 0)
            if count == 0:
                self._lock(path, fcntl.LOCK_SH)
            self._counts[path] = count + 1

    def leave(self, path: str) -> bool:
        """That request is ending: True when no other one is in progress anywhere."""
        with self._mutex:
            count = self._counts.get(path, 0) - 1
            if count > 0:
                self._counts[path] = count
                return False
            self._counts.pop(path, None)
            self._lock(path, fcntl.LOCK_UN)
            alone = self._lock(path, fcntl.LOCK_EX | fcntl.LOCK_NB)  # False: another process serves one
            if alone:
                self._lock(path, fcntl.LOCK_UN)
            self._close_idle()
            return alone

    def _close_idle(self) -> None:
        """Keep a few files open (one database in service; many in a test run), not one per
        database ever served."""
        if len(self._files) <= 8:
            return
        for path in [p for p in self._files if p not in self._counts]:
            fd = self._files.pop(path)
            if fd is not None:
                os.close(fd)

    def _lock(self, path: str, operation: int) -> bool:
        """``flock`` the file of ``path``; False only when a non-blocking lock is refused."""
        if path not in self._files:
            try:
                self._files[path] = os.open(inflight_file(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except OSError as exc:
                log.warning("no -inflight file beside %s (%s): the log is emptied in every request", path, exc)
                self._files[path] = None
        fd = self._files[path]
        if fd is None:
            return True
        try:
            fcntl.flock(fd, operation)
        except BlockingIOError:
            return False
        except OSError as exc:
            log.warning("flock refused beside %s (%s): the log is emptied in every request", path, exc)
            os.close(fd)
            self._files[path] = None
        return True


#: the server's listening sockets, when the server says which (gunicorn.conf.py does)
_listeners: list[socket.socket] = []


def watch_listeners(sockets: list[socket.socket]) -> None:
    """Tell ``waiting_connections`` which sockets the server accepts connections on."""
    _listeners[:] = sockets


def waiting_connections() -> bool:
    """Whether connections are queued on the server's listening sockets, not yet accepted."""
    if not _listeners:
        return False
    try:
        return bool(select.select(_listeners, [], [], 0)[0])
    except (OSError, ValueError):  # a closed socket, or a descriptor beyond select's range
        return False


def log_holds_data(path: str) -> bool:
    """Whether the database's ``-wal`` file has anything in it."""
    try:
        return os.stat(f"{path}-wal").st_size > 0
    except FileNotFoundError:
        return False


sweeper = Sweeper()
presence = Presence()
