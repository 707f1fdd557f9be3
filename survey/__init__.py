"""The 群众评议 (mass evaluation) survey service: rounds, ballot codes, the anonymous phone
questionnaire, exports and scorecards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask


def resource_dir(name: str) -> Path:
    """``templates/`` (or ``static/``) of the project: at the top of a source checkout (and of an
    editable install), or inside the package when installed from a wheel, which carries them
    as ``survey/templates`` (pyproject.toml maps them there)."""
    here = Path(__file__).resolve().parent
    top = here.parent / name
    return top if top.is_dir() else here / name


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, commands, error pages.

    ``config["INSTANCE_PATH"]`` (absolute) puts the instance folder (keys, SQLite database)
    somewhere else than beside the package."""
    app = Flask(
        __name__, template_folder=resource_dir("templates"), static_folder=resource_dir("static"),
        instance_path=(config or {}).get("INSTANCE_PATH"),
    )
    from .config import load_config

    load_config(app, config)
    trust_proxies(app)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    register_web_hooks(app)
    return app


def trust_proxies(app: Flask) -> None:
    """Take the client's address (and scheme) from X-Forwarded-For/-Proto only on connections
    from ``TRUSTED_PROXIES``; never from a client directly (``survey.proxies``)."""
    networks = app.config["TRUSTED_PROXIES"]
    if networks:
        from .proxies import TrustedProxies

        app.wsgi_app = TrustedProxies(app.wsgi_app, networks)  # type: ignore[method-assign]


def register_extensions(app: Flask) -> None:
    from pathlib import Path

    from . import database  # noqa: F401  (installs the SQLite pragmas)
    from .extensions import csrf, db, migrate

    from .auth.access import login_manager
    from .auth.sessions import SessionsByArea

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    app.session_interface = SessionsByArea()


def register_blueprints(app: Flask) -> None:
    from .main.routes import bp as main_bp
    from .respond.routes import bp as respond_bp

    from .auth.routes import bp as auth_bp
    from .console import register as register_console

    app.register_blueprint(main_bp)
    app.register_blueprint(respond_bp)
    app.register_blueprint(auth_bp)
    register_console(app)
    from .ballotbox.routes import register as register_ballot_box

    register_ballot_box(app)
    from .scorecard.public import bp as feedback_bp

    app.register_blueprint(feedback_bp)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)


def register_web_hooks(app: Flask) -> None:
    from .web import install

    install(app)
