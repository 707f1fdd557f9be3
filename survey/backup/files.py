"""The backup file on disk: private from its first byte, complete or absent."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: the first bytes of each kind of backup
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"


@contextmanager
def private_output(path: Path) -> Iterator[Path]:
    """A new, empty file beside ``path``, mode 0600 from its creation; written to disk and
    renamed onto ``path`` when the block succeeds, removed when it fails. A backup holds every
    ballot code hash and ballot of the database: nobody else may read it, not even half-written."""
    if not path.parent.is_dir():
        raise FileNotFoundError(2, "no such folder", str(path.parent))
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + "-wal"), tmp.with_name(tmp.name + "-shm"),
                         tmp.with_name(tmp.name + "-journal")):
            leftover.unlink(missing_ok=True)


def kind_of(path: Path) -> str:
    """``sqlite`` or ``postgresql`` by the file's first bytes; raises ``ValueError`` otherwise."""
    with open(path, "rb") as fh:
        start = fh.read(len(SQLITE_MAGIC))
    if start.startswith(SQLITE_MAGIC):
        return "sqlite"
    if start.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    raise ValueError("not a backup made by flask --app survey backup (neither a SQLite database nor a pg_dump custom archive)")


def size_text(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.1f} kB"
