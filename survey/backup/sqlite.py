"""SQLite: the online backup API.

The copy is made in one step (``pages=-1``), inside one read transaction of the source: in WAL
mode writers go on meanwhile, and the copy is the database as it stood when that transaction
began, whatever arrives during the copy. (A copy made in several steps restarts whenever
another connection writes, which a round taking ballots would do all the time.)
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy.engine import URL

from .files import private_output


def database_file(url: URL) -> Path | None:
    """The file of a SQLite URL (``file:`` URIs included), or None for a database in memory."""
    path = url.database or ""
    if path.startswith("file:"):  # a URI filename (``?uri=true``)
        if "mode=memory" in path:
            return None
        path = unquote(path[5:].split("?", 1)[0])
    return Path(path) if path and path != ":memory:" else None


class SQLiteBackupError(Exception):
    pass


def copy_into(source: sqlite3.Connection, out: Path) -> None:
    """Copy the database behind ``source`` into ``out`` (a new file, written privately), as a
    single file (rollback journal, no ``-wal``), checked before it is kept."""
    with private_output(out) as tmp:
        target = sqlite3.connect(tmp)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=DELETE").fetchone()
            _quick_check(target, out)
        finally:
            target.close()


def _quick_check(conn: sqlite3.Connection, name: Path) -> None:
    found = conn.execute("PRAGMA quick_check").fetchone()[0]
    if found != "ok":
        raise SQLiteBackupError(f"{name}: the copy does not pass SQLite's quick_check ({found})")


def tables_in(path: Path) -> list[str]:
    """The tables of the database file at ``path`` (none when the file is missing or empty)."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    finally:
        conn.close()


def restore_file(backup: Path, target: Path) -> None:
    """Put the database of ``backup`` at ``target``, which must hold no table: the copy is
    checked, made beside ``target`` privately, and renamed onto it in one step."""
    source = sqlite3.connect(f"{backup.resolve().as_uri()}?mode=ro", uri=True)
    try:
        _quick_check(source, backup)
        with private_output(target) as tmp:
            copy = sqlite3.connect(tmp)
            try:
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE").fetchone()
            finally:
                copy.close()
            for stale in (target.with_name(target.name + "-wal"), target.with_name(target.name + "-shm")):
                stale.unlink(missing_ok=True)  # of the empty database being replaced
    finally:
        source.close()
    os.chmod(target, 0o600)
