"""Taking a backup of the service's database, and restoring one into an empty database.

These write files, unlike other services: a backup of a large database goes straight to disk
(SQLite's page copy, ``pg_dump``'s stream), never through memory. The caller passes
``progress``, which gets one line at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app
from sqlalchemy import select, text

from ..database import unit_of_work
from ..errors import Conflict, ServiceError
from ..extensions import db
from . import postgres
from .files import kind_of, size_text
from .sqlite import SQLiteBackupError, copy_into, database_file, restore_file, tables_in

Progress = Callable[[str], None]


class BackupRefused(ServiceError):
    pass


class NotEmpty(Conflict):
    pass


@dataclass(frozen=True)
class BackupDone:
    path: Path
    size: str


@dataclass
class RestoreDone:
    rounds: list[tuple[str, str]]  #: (slug, status) of each round restored
    revision: str | None
    #: what still needs doing before the service runs on the restored database
    notes: list[str] = field(default_factory=list)


def sqlite_file() -> Path | None:
    return database_file(db.engine.url)


def _dialect() -> str:
    return db.engine.dialect.name


def _server_major() -> int:
    return int(db.session.scalar(text("SHOW server_version_num"))) // 10000


def _client(tool: str) -> Path:
    try:
        return postgres.find_client(tool, _server_major(), current_app.config.get("PG_BINDIR"))
    except postgres.ClientRefused as exc:
        raise BackupRefused(str(exc)) from None


def take_backup(out: Path, progress: Progress) -> BackupDone:
    """Copy the whole database, as it stands at one moment, into the new file ``out`` (0600)."""
    from ..auth import audit

    dialect = _dialect()
    try:
        if dialect == "sqlite":
            path = sqlite_file()
            if path is None:
                raise BackupRefused("the database is in memory: there is nothing on disk to back up")
            progress(f"copying the SQLite database {path} with its online backup API ...")
            raw = db.engine.raw_connection()
            try:
                copy_into(raw.driver_connection, out)
            finally:
                raw.close()
        elif dialect == "postgresql":
            client = _client("pg_dump")
            db.session.remove()  # no transaction of ours open while the dump runs
            progress(f"pg_dump ({client}) of {db.engine.url.render_as_string(hide_password=True)} ...")
            postgres.dump(db.engine.url, client, out, lambda table: progress(f"  table {table}"))
        else:
            raise BackupRefused(f"backups of a {dialect} database are not supported (SQLite or PostgreSQL only)")
    except (SQLiteBackupError, postgres.ClientRefused) as exc:
        raise BackupRefused(str(exc)) from None
    done = BackupDone(out, size_text(out))
    with unit_of_work():
        audit.record("backup", file=out.name, size=done.size)
    return done


def existing_tables() -> list[str]:
    """The tables of the configured database: none in a new, empty one."""
    if _dialect() == "sqlite":
        path = sqlite_file()
        return tables_in(path) if path else []
    rows = db.session.execute(text(
        "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1"
    )).scalars().all()
    db.session.rollback()
    return list(rows)


def _contents(tables: list[str]) -> str:
    """What a database that is not empty holds, in a few words: its rounds if it has any."""
    from ..models import Round

    said = f"{len(tables)} tables"
    if any(name.rsplit(".", 1)[-1] == "rounds" for name in tables):
        try:
            slugs = list(db.session.scalars(select(Round.slug).order_by(Round.id)))
        except Exception:  # noqa: BLE001  (a rounds table of another shape: the count says enough)
            slugs = None
        finally:
            db.session.rollback()
        if slugs is not None:
            said += f"; rounds: {', '.join(slugs[:5]) + (' ...' if len(slugs) > 5 else '') if slugs else 'none'}"
    return said


def restore_backup(source: Path, progress: Progress) -> RestoreDone:
    """Restore ``source`` into the configured database, which must be empty; refused, changing
    nothing, when it is not, or when the file is not a backup for this kind of database."""
    try:
        kind = kind_of(source)
    except ValueError as exc:
        raise BackupRefused(f"{source}: {exc}") from None
    dialect = _dialect()
    if kind != dialect:
        raise BackupRefused(f"{source} is a backup of a {kind} database, and this service's database is "
                            f"{dialect}: set SURVEY_DATABASE_URL to a new, empty {kind} database")
    tables = existing_tables()
    if tables:
        raise NotEmpty(f"the database is not empty ({_contents(tables)}): a backup is restored only into a new, "
                       "empty database, so that nothing in it is mixed with or overwritten by the backup")
    try:
        if dialect == "sqlite":
            target = sqlite_file()
            if target is None:
                raise BackupRefused("the database is in memory: there is no file to restore into")
            progress(f"restoring {source} into {target} ...")
            db.session.remove()
            db.engine.dispose()
            restore_file(source, target)
            db.engine.dispose()
        else:
            client = _client("pg_restore")
            db.session.remove()
            progress(f"pg_restore ({client}) into {db.engine.url.render_as_string(hide_password=True)} ...")
            postgres.restore(db.engine.url, client, source, lambda table: progress(f"  table {table}"))
    except (SQLiteBackupError, postgres.ClientRefused) as exc:
        raise BackupRefused(str(exc)) from None
    return _after_restore(source)


def _after_restore(source: Path) -> RestoreDone:
    """What was restored, and whether this version and these keys can carry on with it."""
    from alembic.script import ScriptDirectory

    from ..auth import audit
    from ..ballotbox.box import check_server_secret
    from ..ballotbox.keys import BoxKeyMismatch
    from ..codes.services import KeyMismatch, check_code_key
    from ..models import Round

    revision = db.session.scalar(text("SELECT version_num FROM alembic_version"))
    heads = ScriptDirectory(current_app.extensions["migrate"].directory).get_heads()
    done = RestoreDone(rounds=[], revision=revision)
    if revision not in heads:
        known = revision is not None and ScriptDirectory(current_app.extensions["migrate"].directory).get_revision(revision)
        done.notes.append(
            f"its schema ({revision}) is older than this version of the service: run flask --app survey db upgrade"
            if known else f"its schema ({revision}) was made by a newer version of the service: run that version")
        return done
    done.rounds = [tuple(row) for row in db.session.execute(select(Round.slug, Round.status).order_by(Round.id))]
    try:
        check_code_key()
    except KeyMismatch as exc:
        done.notes.append(f"{exc} (instance/code_key of the installation the backup came from)")
    try:
        check_server_secret()
    except BoxKeyMismatch as exc:
        done.notes.append(f"{exc} (instance/ballot_box_key of the installation the backup came from)")
    problem = audit.key_problem()
    if problem:
        done.notes.append(f"{problem} (instance/audit_key of the installation the backup came from)")
        return done
    with unit_of_work():
        audit.record("restore", file=source.name)
    return done
