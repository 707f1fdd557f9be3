"""The landing page: what the service is and where a respondent goes."""

from __future__ import annotations

from flask import Blueprint, render_template
from sqlalchemy import select

from ..extensions import db
from ..models import Round, RoundStatus

bp = Blueprint("main", __name__)


@bp.get("/")
def index():  # noqa: ANN201
    published = db.session.scalars(
        select(Round).where(Round.status == RoundStatus.published.value).order_by(Round.id.desc()).limit(20)
    ).all()
    return render_template("main/index.html", published=published)


@bp.get("/healthz")
def healthz():  # noqa: ANN201
    db.session.execute(select(1))
    return {"status": "ok"}
