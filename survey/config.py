"""Configuration: defaults, then ``SURVEY_*`` environment variables, then the factory's dict.

Keys, kept apart so that rotating one never voids another: ``SECRET_KEY`` signs sessions,
CSRF tokens and receipt tickets; ``CODE_KEY`` hashes ballot codes (rotating it would void every
printed code, so the service refuses to start with a key other than the one codes were issued
under); ``AUDIT_KEY`` chains the audit log (an HMAC: whoever can write the database but lacks
this key cannot rewrite the log unnoticed); ``BALLOT_BOX_KEY`` is what the server-custody
ballot boxes' private keys are derived from (without it no sealed ballot can be counted). Each
is generated once into the instance folder when not configured, is never stored in the
database, and must be backed up apart from it (docs/operations.md).

Files this service writes hold ballot codes or answers: the instance folder is private (0700),
key files and the SQLite database (with its ``-wal`` and ``-shm``) are 0600.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.engine import make_url

DEFAULT_BASE_URL = "http://localhost:5000"


def load_config(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config``; nothing is read from the environment before this is called."""
    instance = Path(app.instance_path)
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    app.config.update(
        DATABASE_URL=f"sqlite:///{instance / 'survey.db'}",
        BASE_URL=DEFAULT_BASE_URL,
        WTF_CSRF_TIME_LIMIT=None,  # a respondent may leave the page open for a long time
        #: Flask-WTF refuses a form posted over HTTPS without a same-site Referer; the pages ask
        #: browsers to send none (Referrer-Policy: no-referrer: a ballot's address holds its
        #: code), so every ballot and sign-in over HTTPS was refused. The form's CSRF token,
        #: tied to a SameSite=Lax session cookie, is the check
        WTF_CSRF_SSL_STRICT=False,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=256 * 1024,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        #: failed code lookups one client may make per window before it is answered 429
        CODE_FAILURES_PER_WINDOW=30,
        CODE_FAILURE_WINDOW=600,
        #: on an open link, the least time per question between serving the questionnaire and
        #: taking its ballot (a person reads before answering; a script does not); 0: no check
        MIN_SECONDS_PER_QUESTION=1.0,
        #: addresses (or networks, 10.0.0.0/8) of the reverse proxies whose X-Forwarded-For and
        #: X-Forwarded-Proto are believed, comma-separated; from any other peer the connection's
        #: own address is the client's. Every per-address limit needs the real client address
        TRUSTED_PROXIES="",
        #: wrong passwords for one account from one address within the window: then 429 for
        #: that account from that address (others, and that account elsewhere, still sign in)
        SIGN_IN_LIMIT=5,
        #: wrong passwords for one account from anywhere, and from one address for any
        #: accounts: far higher, against guessing spread over addresses or accounts
        SIGN_IN_ACCOUNT_LIMIT=100,
        SIGN_IN_ADDRESS_LIMIT=50,
        SIGN_IN_WINDOW=900,
    )
    app.config.from_prefixed_env("SURVEY")
    if overrides:
        app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    if str(app.config["DATABASE_URL"]).startswith("sqlite"):
        # a file has no connection to go stale: no "SELECT 1" before every request
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    elif make_url(str(app.config["DATABASE_URL"])).drivername == "postgresql+psycopg":
        # psycopg prepares a statement run five times, and drops every prepared statement at
        # each ROLLBACK, which ends every request: each request paid a PREPARE and a
        # DEALLOCATE ALL for nothing. The statements here are simple: no server-side prepares
        options = app.config["SQLALCHEMY_ENGINE_OPTIONS"]
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            **options, "connect_args": {"prepare_threshold": None, **options.get("connect_args", {})},
        }
    app.config["BASE_URL"] = str(app.config["BASE_URL"]).rstrip("/")
    _check_limits(app.config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret(instance / "secret_key")
    if not app.config.get("CODE_KEY"):
        app.config["CODE_KEY"] = instance_secret(instance / "code_key")
    if not app.config.get("AUDIT_KEY"):
        app.config["AUDIT_KEY"] = instance_secret(instance / "audit_key")
    if not app.config.get("BALLOT_BOX_KEY"):
        app.config["BALLOT_BOX_KEY"] = instance_secret(instance / "ballot_box_key")
    _private_sqlite_file(app.config["DATABASE_URL"])


def _check_limits(config: dict[str, Any]) -> None:
    """Refuse at start a limit setting that would not work, naming it."""
    if config.get("PROXY_COUNT") and not config.get("TRUSTED_PROXIES"):  # beside it, it is ignored
        raise ValueError(
            "SURVEY_PROXY_COUNT is no longer read: it believed X-Forwarded-For from anyone who could reach the "
            "app. Set SURVEY_TRUSTED_PROXIES to your reverse proxy's address (e.g. 127.0.0.1) instead"
        )
    try:
        seconds = float(config["MIN_SECONDS_PER_QUESTION"])
    except (TypeError, ValueError):
        seconds = -1.0
    if not seconds >= 0:  # also refuses NaN
        raise ValueError("SURVEY_MIN_SECONDS_PER_QUESTION must be a number of seconds ≥ 0 (0 turns the check off), "
                         f"not {config['MIN_SECONDS_PER_QUESTION']!r}")
    config["MIN_SECONDS_PER_QUESTION"] = seconds
    from .proxies import parse_trusted_proxies

    config["TRUSTED_PROXIES"] = parse_trusted_proxies(config.get("TRUSTED_PROXIES"))
    for name in ("CODE_FAILURES_PER_WINDOW", "CODE_FAILURE_WINDOW", "SIGN_IN_LIMIT", "SIGN_IN_ACCOUNT_LIMIT",
                 "SIGN_IN_ADDRESS_LIMIT", "SIGN_IN_WINDOW"):
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"SURVEY_{name} must be a whole number ≥ 1, not {value!r}")


def instance_secret(path: Path) -> str:
    """The key generated on first start and kept in the instance folder.

    Written to a private temporary file (mode 0600 from its creation) and linked into place:
    no moment where the key is readable by others, and of two first starts at once, the one
    that links second reads the first one's key.
    """
    if path.exists():
        return path.read_text().strip()
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def _private_sqlite_file(url: str) -> None:
    """Create the SQLite database file 0600 before SQLite does: SQLite gives its ``-wal`` and
    ``-shm`` files the database file's mode."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return
    path = Path(parsed.database)
    if not path.parent.is_dir():
        return
    try:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if name.exists() and name.stat().st_mode & 0o077:
                name.chmod(0o600)
    except OSError:  # not ours to change (another owner, read-only): SQLite will say what is wrong
        pass


@contextmanager
def private_files() -> Iterator[None]:
    """Files and folders made inside the block are readable by their owner only (umask 077):
    code lists, slips and exports hold ballot codes or answers."""
    previous = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(previous)
