"""``GET /console/``: the rounds this account may see, each with its state."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from . import bp


@bp.get("/")
def home():  # noqa: ANN201
    return render_template("console/home.html", rounds=current_user.visible_rounds())
