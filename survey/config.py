"""Configuration: defaults, then ``SURVEY_*`` environment variables, then the factory's dict."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULT_BASE_URL = "http://localhost:5000"


def load_config(app: Flask, overrides: dict[str, Any] | None) -> None:
    """Fill ``app.config``; nothing is read from the environment before this is called."""
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(
        DATABASE_URL=f"sqlite:///{Path(app.instance_path) / 'survey.db'}",
        BASE_URL=DEFAULT_BASE_URL,
        WTF_CSRF_TIME_LIMIT=None,  # a respondent may leave the page open for a long time
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
        PERMANENT_SESSION_LIFETIME=60 * 60 * 24 * 120,
        MAX_CONTENT_LENGTH=256 * 1024,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
    )
    app.config.from_prefixed_env("SURVEY")
    if overrides:
        app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = app.config["DATABASE_URL"]
    app.config["BASE_URL"] = str(app.config["BASE_URL"]).rstrip("/")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret(Path(app.instance_path) / "secret_key")


def _instance_secret(path: Path) -> str:
    """The key generated on first start and kept in the instance folder. Ballot codes are
    hashed under it: losing it makes issued codes unusable."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key
