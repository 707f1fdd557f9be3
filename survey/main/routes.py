"""The landing page, and the health check load balancers and monitors call."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, send_from_directory
from sqlalchemy import column, select, table
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import Round, RoundStatus

bp = Blueprint("main", __name__)

#: the row every migrated database has: reading it proves the database answers and holds the
#: schema (on SQLite a bare ``SELECT 1`` would not even open the file)
_SCHEMA_VERSION = select(column("version_num")).select_from(table("alembic_version")).limit(1)


@bp.get("/")
def index():  # noqa: ANN201
    published = db.session.scalars(
        select(Round).where(Round.status == RoundStatus.published.value).order_by(Round.id.desc()).limit(20)
    ).all()
    return render_template("main/index.html", published=published)


@bp.get("/healthz")
def healthz() -> Response:
    """200 ``ok`` while this app server can read its database, 503 when it cannot, so that a
    load balancer or a monitor takes it out of service. It touches no session (no cookie) and
    writes no audit entry; why the database failed goes to the log, not to the caller."""
    try:
        db.session.execute(_SCHEMA_VERSION).first()
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.warning("healthz: the database does not answer (%s)", type(exc).__name__)
        return _plain("database unavailable\n", 503)
    return _plain("ok\n", 200)


def _plain(text: str, status: int) -> Response:
    return Response(text, status=status, mimetype="text/plain", headers={"Cache-Control": "no-store"})


@bp.get("/favicon.ico")
def favicon():  # noqa: ANN201
    """The site's icon (an SVG), at the address browsers ask for by themselves too."""
    response = send_from_directory(current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400)
    return response
