"""A throw-away PostgreSQL server for the test session, started from the machine's binaries.

``initdb`` and ``pg_ctl`` refuse to run as root, so as root the server runs as the
``postgres`` user, in a temporary folder that user owns.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PostgresServer:
    bindir: Path
    datadir: Path
    port: int
    as_user: str | None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        _run(self, [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "immediate", "stop"], check=False)
        shutil.rmtree(self.datadir.parent, ignore_errors=True)


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: on PATH, or Debian's versioned folder."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(server: PostgresServer, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    if server.as_user:
        args = ["runuser", "-u", server.as_user, "--", *args]
    return subprocess.run(args, check=check, capture_output=True, text=True, timeout=120)


#: for tests: nothing needs to survive a crash, so nothing is flushed to disk
TEST_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def start_server(options: str = TEST_OPTIONS) -> PostgresServer:
    """Start a server on a free loopback port; ``options`` are extra ``postgres`` settings."""
    bindir = find_bindir()
    if bindir is None:
        raise FileNotFoundError("initdb/pg_ctl not found (install the postgresql package)")
    root = Path(tempfile.mkdtemp(prefix="survey-pg-"))
    datadir = root / "data"
    as_user = None
    if os.geteuid() == 0:
        as_user = "postgres"
        user = pwd.getpwnam(as_user)
        os.chown(root, user.pw_uid, user.pw_gid)
    server = PostgresServer(bindir=bindir, datadir=datadir, port=_free_port(), as_user=as_user)
    try:
        _run(server, [str(bindir / "initdb"), "-D", str(datadir), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--locale=C", "--no-sync"])
        settings = f"-p {server.port} -c listen_addresses=127.0.0.1 -k {root} {options}"
        _run(server, [str(bindir / "pg_ctl"), "-D", str(datadir), "-o", settings, "-l", str(root / "log"),
                      "-w", "-t", "60", "start"])
    except subprocess.CalledProcessError as exc:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {exc.stderr or exc.stdout}\n{log}") from exc
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", server.port)) == 0:
                return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError("PostgreSQL started but does not accept connections")
