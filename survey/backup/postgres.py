"""PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore``, with a client of the server's version.

``pg_dump`` reads the whole database in one snapshot, so the archive is one consistent moment
while ballots go on arriving. It can dump a server of its own major version or an older one,
never a newer one: the client is chosen by the server's version (``SHOW server_version_num``),
from ``PG_BINDIR`` when configured, else from the machine's PostgreSQL folders
(``/usr/lib/postgresql/<major>/bin`` on Debian, ``/usr/pgsql-<major>/bin`` on RHEL) and the
``PATH``. The password goes to the client through ``PGPASSWORD``, never on its command line.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy.engine import URL

from .files import private_output

#: the archive's tables are reported as they go by: "dumping contents of table "public.answers""
_TABLE_LINE = re.compile(r'(?:dumping contents of|processing data for) table "(?:[^"]+\.)?([^"]+)"')
_VERSION = re.compile(r"\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?")


class ClientRefused(Exception):
    """No usable pg_dump/pg_restore, or the one run failed: the message says which and why."""


def client_major(binary: str | Path) -> int | None:
    """The major version a ``pg_dump``/``pg_restore`` reports, or None when it does not run."""
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = _VERSION.search(out)
    return int(found.group(1)) if found else None


def _candidates(tool: str, bindir: str | None) -> Iterable[Path]:
    if bindir:
        yield Path(bindir) / tool
        return
    for pattern in ("/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/usr/local/pgsql/bin"):
        for folder in sorted(glob.glob(pattern)):
            yield Path(folder) / tool
    on_path = shutil.which(tool)
    if on_path:
        yield Path(on_path)


def find_client(tool: str, server_major: int, bindir: str | None = None) -> Path:
    """The ``tool`` (``pg_dump`` or ``pg_restore``) to use against a server of ``server_major``:
    of the same major version if there is one, else the oldest newer one; refused when there is
    none or only older ones."""
    found: dict[Path, int] = {}
    for path in _candidates(tool, bindir):
        if path.is_file() and os.access(path, os.X_OK) and path not in found:
            major = client_major(path)
            if major is not None:
                found[path] = major
    install = (f"install the PostgreSQL {server_major} client (Debian: apt install postgresql-client-{server_major})"
               f" or set SURVEY_PG_BINDIR to the folder that holds its {tool}")
    if not found:
        where = f"in {bindir}" if bindir else "in /usr/lib/postgresql/*/bin or on the PATH"
        raise ClientRefused(f"{tool} not found {where}: {install}")
    usable = sorted((major, str(path)) for path, major in found.items() if major >= server_major)
    if not usable:
        seen = ", ".join(f"{path} ({major})" for path, major in found.items())
        raise ClientRefused(f"{tool} is older than the server: the server runs PostgreSQL {server_major}, "
                            f"found only {seen}; {install}")
    return Path(usable[0][1])


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def connection(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection string without the password, and the environment holding it."""
    params: dict[str, str] = {}
    if url.host:
        params["host"] = url.host
    if url.port:
        params["port"] = str(url.port)
    if url.username:
        params["user"] = url.username
    if url.database:
        params["dbname"] = url.database
    for key, value in url.query.items():  # sslmode, host=/run/postgresql, connect_timeout ...
        params[key] = value[-1] if isinstance(value, tuple) else value
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    return " ".join(f"{k}={_quoted(v)}" for k, v in params.items()), env


def _run(args: list[str], env: dict[str, str], stdout, progress: Callable[[str], None]) -> None:  # noqa: ANN001
    """Run a client, passing the tables it reports to ``progress``; refused with its last
    error line when it fails."""
    errors: list[str] = []
    with subprocess.Popen(args, env=env, stdout=stdout, stderr=subprocess.PIPE, text=True) as process:
        assert process.stderr is not None
        for line in process.stderr:
            line = line.strip()
            table = _TABLE_LINE.search(line)
            if table:
                progress(table.group(1))
            elif line and ("error" in line.lower() or "fatal" in line.lower() or "could not" in line.lower()):
                errors.append(line)
    if process.returncode != 0:
        reason = errors[0] if errors else f"exit status {process.returncode}"
        raise ClientRefused(f"{Path(args[0]).name} failed: {reason}")


def dump(url: URL, client: Path, out: Path, progress: Callable[[str], None]) -> None:
    """``pg_dump --format=custom`` of the database at ``url`` into ``out`` (private, complete or absent)."""
    conninfo, env = connection(url)
    with private_output(out) as tmp, open(tmp, "wb") as fh:
        _run([str(client), "--format=custom", "--verbose", "--no-password", "--lock-wait-timeout=60000",
              f"--dbname={conninfo}"], env, fh, progress)


def restore(url: URL, client: Path, archive: Path, progress: Callable[[str], None]) -> None:
    """``pg_restore`` of ``archive`` into the (empty) database at ``url``, in one transaction:
    all of it or nothing. Owners and grants are left out: the restoring account owns everything."""
    conninfo, env = connection(url)
    _run([str(client), "--verbose", "--no-password", "--no-owner", "--no-privileges", "--exit-on-error",
          "--single-transaction", f"--dbname={conninfo}", str(archive)], env, subprocess.DEVNULL, progress)

