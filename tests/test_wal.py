"""Emptying SQLite's ``-wal``: one emptying for the commits of a window, none forgotten, and
how a request knows whether it is the last one in progress.

Plain sqlite3 databases, no Flask: ``test_anonymity_storage.py`` attacks the log of the real
ballot path.
"""

from __future__ import annotations

import fcntl
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import survey.wal as wal
from survey.wal import Presence, Sweeper, empty_wal


def wal_size(path: Path) -> int:
    log = Path(f"{path}-wal")
    return log.stat().st_size if log.exists() else 0


def wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


@pytest.fixture
def database(tmp_path: Path):  # noqa: ANN201
    """A WAL-mode database with a writer connection kept open (so that nothing else, such as
    SQLite's checkpoint when the last connection closes, empties the log)."""
    path = tmp_path / "ballots.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA journal_size_limit=0")
    conn.execute("CREATE TABLE ballots (id INTEGER PRIMARY KEY, answer TEXT)")
    empty_wal(conn)

    def commit(n: int = 1) -> None:
        for _ in range(n):
            conn.execute("INSERT INTO ballots (answer) VALUES ('满意')")

    yield path, conn, commit
    conn.close()


@pytest.fixture
def sweeps(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts the emptyings the sweeper does."""
    done: list[str] = []
    real = wal.empty_wal

    def counted(conn: sqlite3.Connection, wait: float | None = None) -> bool:
        done.append("sweep")
        return real(conn, wait)

    monkeypatch.setattr(wal, "empty_wal", counted)
    return done


def test_empty_wal_truncates_the_log_to_zero_bytes(database) -> None:  # noqa: ANN001
    path, conn, commit = database
    commit(3)
    assert wal_size(path) > 0
    assert empty_wal(conn) is True
    assert wal_size(path) == 0
    assert conn.execute("SELECT count(*) FROM ballots").fetchone()[0] == 3


def test_a_reader_in_the_log_makes_it_wait_then_give_up_leaving_the_log_whole(database) -> None:  # noqa: ANN001
    path, conn, commit = database
    commit(2)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM ballots").fetchone()  # holds a snapshot that needs the log
    before = wal_size(path)
    started = time.monotonic()
    assert empty_wal(conn, wait=0.05) is False
    assert 0.05 <= time.monotonic() - started < 1
    assert wal_size(path) == before
    reader.execute("COMMIT")
    assert empty_wal(conn) is True
    assert wal_size(path) == 0
    reader.close()


def test_the_commits_of_one_window_share_one_sweep(database, sweeps) -> None:  # noqa: ANN001
    path, _, commit = database
    sweeper = Sweeper()
    for _ in range(5):
        commit()
        sweeper.after_commit(str(path), 0.3)
    assert wal_size(path) > 0  # the window has not passed: nothing emptied yet
    assert wait_until(lambda: not sweeper.pending())
    assert wal_size(path) == 0
    time.sleep(0.1)
    assert sweeps == ["sweep"]


def test_a_quiet_log_is_emptied_within_the_window(database) -> None:  # noqa: ANN001
    path, _, commit = database
    sweeper = Sweeper()
    commit()
    noted = time.monotonic()
    sweeper.after_commit(str(path), 0.05)
    assert wait_until(lambda: wal_size(path) == 0, seconds=2)
    assert time.monotonic() - noted >= 0.05
    # and a commit after that sweep gets a sweep of its own
    commit()
    sweeper.after_commit(str(path), 0.05)
    assert wait_until(lambda: wal_size(path) == 0, seconds=2)


def test_a_sweep_kept_out_by_a_reader_is_tried_again(database, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    path, _, commit = database
    monkeypatch.setattr(wal, "READER_WAIT", 0.02)
    sweeper = Sweeper()
    commit()
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM ballots").fetchone()
    sweeper.after_commit(str(path), 0.01)
    time.sleep(0.3)
    assert sweeper.pending() and wal_size(path) > 0  # kept out, still due
    reader.execute("COMMIT")
    assert wait_until(lambda: wal_size(path) == 0, seconds=2)
    assert wait_until(lambda: not sweeper.pending())
    reader.close()


def test_a_database_gone_away_is_dropped_not_created_anew(tmp_path: Path) -> None:
    sweeper = Sweeper()
    gone = tmp_path / "gone.db"
    sweeper.after_commit(str(gone), 0.01)
    assert wait_until(lambda: not sweeper.pending())
    assert not gone.exists()


def test_pending_sweeps_are_done_when_the_process_exits(database) -> None:  # noqa: ANN001
    """A worker stopped inside the window (gunicorn's graceful restart) leaves no ballots in
    the log: the exit does the sweep it had scheduled for a minute later."""
    path, _, commit = database
    commit()
    assert wal_size(path) > 0
    child = subprocess.run(
        [sys.executable, "-c",
         "import sys, time; from survey.wal import sweeper; sweeper.after_commit(sys.argv[1], 60); "
         "time.sleep(0.1); print(sweeper.pending())", str(path)],
        capture_output=True, text=True, timeout=30, cwd=Path(__file__).resolve().parent.parent,
    )
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "True"  # still due when the process ended
    assert wal_size(path) == 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_worker_sweeps_with_a_thread_of_its_own(tmp_path: Path, database) -> None:  # noqa: ANN001
    """gunicorn forks its workers: a thread started before the fork does not exist in them."""
    path, _, commit = database
    sweeper = Sweeper()
    sweeper.after_commit(str(tmp_path / "elsewhere.db"), 60)  # the parent's thread, now waiting
    commit()
    pid = os.fork()
    if pid == 0:  # the child: exit code 0 only if its own sweep emptied the log
        try:
            sweeper.after_commit(str(path), 0.01)
            deadline = time.monotonic() + 5
            while wal_size(path) and time.monotonic() < deadline:
                time.sleep(0.01)
            os._exit(0 if wal_size(path) == 0 else 1)
        except BaseException:  # noqa: BLE001
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# --- who else is serving the ballot pages --------------------------------------------------------


def test_a_request_alone_is_told_so(tmp_path: Path) -> None:
    presence = Presence()
    path = str(tmp_path / "ballots.db")
    presence.enter(path)
    assert presence.leave(path) is True
    assert (tmp_path / "ballots.db-inflight").stat().st_mode & 0o777 == 0o600


def test_a_request_in_progress_in_another_process_is_seen(tmp_path: Path) -> None:
    """``flock`` locks belong to an open file: a second one stands for another worker."""
    presence = Presence()
    path = str(tmp_path / "ballots.db")
    presence.enter(path)
    other = os.open(f"{path}-inflight", os.O_RDWR)
    fcntl.flock(other, fcntl.LOCK_SH)
    assert presence.leave(path) is False
    os.close(other)  # that worker's request ends (or the worker dies)
    presence.enter(path)
    assert presence.leave(path) is True


def test_requests_of_one_process_count_each_other(tmp_path: Path) -> None:
    """A threaded server serves several at once in one process."""
    presence = Presence()
    path = str(tmp_path / "ballots.db")
    presence.enter(path)
    presence.enter(path)
    assert presence.leave(path) is False
    assert presence.leave(path) is True


def test_without_a_lock_file_every_request_counts_as_alone(tmp_path: Path) -> None:
    presence = Presence()
    path = str(tmp_path / "no-such-folder" / "ballots.db")
    presence.enter(path)
    assert presence.leave(path) is True


def test_connections_waiting_to_be_accepted_are_seen() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    try:
        wal.watch_listeners([listener])
        assert wal.waiting_connections() is False
        client = socket.create_connection(listener.getsockname())
        assert wait_until(wal.waiting_connections, seconds=2)
        accepted, _ = listener.accept()
        assert wal.waiting_connections() is False
        accepted.close()
        client.close()
    finally:
        wal.watch_listeners([])
        listener.close()
    assert wal.waiting_connections() is False  # no server said which sockets it listens on


# --- failures do not leave ballots in the log ----------------------------------------------------


def test_the_sweeping_thread_outlives_a_failed_emptying(database, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    path, _, commit = database
    real, calls = wal.empty_wal, []

    def fails_once(conn: sqlite3.Connection, wait: float | None = None) -> bool:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("disk on fire")
        return real(conn, wait)

    monkeypatch.setattr(wal, "RETRY_AFTER", 0.01)
    monkeypatch.setattr(wal, "empty_wal", fails_once)
    sweeper = Sweeper()
    commit()
    sweeper.after_commit(str(path), 0.01)
    assert wait_until(lambda: wal_size(path) == 0, seconds=3)
    assert len(calls) >= 2


def test_a_database_replaced_under_the_same_name_is_swept(tmp_path: Path) -> None:
    """No connection is kept between sweeps: one would go on checkpointing the old file."""
    sweeper = Sweeper()
    path = tmp_path / "ballots.db"
    for attempt in range(2):
        if attempt:
            for name in ("ballots.db", "ballots.db-wal", "ballots.db-shm"):
                (tmp_path / name).unlink(missing_ok=True)
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS ballots (answer TEXT)")
        conn.execute("INSERT INTO ballots VALUES ('满意')")
        sweeper.after_commit(str(path), 0.01)
        assert wait_until(lambda: wal_size(path) == 0, seconds=3), attempt
        conn.close()


def test_flush_at_exit_waits_for_a_sweep_under_way(database, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    path, _, commit = database
    real = wal.empty_wal

    def slow(conn: sqlite3.Connection, wait: float | None = None) -> bool:
        time.sleep(0.2)
        return real(conn, wait)

    monkeypatch.setattr(wal, "empty_wal", slow)
    sweeper = Sweeper()
    commit()
    sweeper.after_commit(str(path), 0)
    assert wait_until(lambda: sweeper._sweeping is not None, seconds=2)
    commit()  # after the sweep began: the log holds it again
    sweeper.after_commit(str(path), 60)
    sweeper.flush()
    assert not sweeper.pending()
    assert wal_size(path) == 0


def test_presence_keeps_few_files_open(tmp_path: Path) -> None:
    presence = Presence()
    for n in range(20):
        path = str(tmp_path / f"db{n}.db")
        presence.enter(path)
        presence.leave(path)
    assert len(presence._files) <= 9


# --- two workers share the emptying --------------------------------------------------------------


def test_an_emptying_by_another_worker_spares_this_one_its_own(database, sweeps, tmp_path: Path) -> None:  # noqa: ANN001
    """Worker B's pending commit came before worker A emptied the log: B has nothing left."""
    path, _, commit = database
    (tmp_path / "ballots.db-inflight").touch(mode=0o600)
    a, b = Sweeper(), Sweeper()
    commit()
    b.after_commit(str(path), 0.3)  # B's commit: due in 0.3 s
    a.after_commit(str(path), 0.1)  # A empties first
    assert wait_until(lambda: not a.pending() and not b.pending())
    assert wal_size(path) == 0
    time.sleep(0.05)
    assert sweeps == ["sweep"]


def test_a_commit_after_the_other_workers_emptying_is_still_emptied_in_time(database, tmp_path: Path) -> None:  # noqa: ANN001
    """B's first commit came before A's emptying, B's second after it: B empties the log at
    most its delay after A's emptying."""
    path, _, commit = database
    (tmp_path / "ballots.db-inflight").touch(mode=0o600)
    a, b = Sweeper(), Sweeper()
    commit()
    b.after_commit(str(path), 0.4)
    a.after_commit(str(path), 0.1)
    assert wait_until(lambda: not a.pending())  # A emptied at about 0.1 s
    emptied = wal.last_emptied(str(path))
    assert emptied is not None
    commit()  # B again, its sweep already due: not noted anew
    b.after_commit(str(path), 0.4)
    assert wal_size(path) > 0
    assert wait_until(lambda: wal_size(path) == 0, seconds=3)
    assert time.monotonic() - emptied < 0.4 + 0.3  # its delay after A's emptying, with slack
    assert wait_until(lambda: not b.pending())
