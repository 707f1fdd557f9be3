"""Sign in and sign out: ``GET/POST /login`` (fields ``username``, ``password``), ``POST /logout``."""

from __future__ import annotations

import time

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from ..database import unit_of_work
from . import audit
from .access import Account
from .forms import SignInForm
from .services import SignInThrottled, sign_in

bp = Blueprint("auth", __name__)


@bp.after_request
def sign_in_headers(response):  # noqa: ANN001, ANN201
    """The sign-in page is drawn with the console's layout and stylesheet, so it takes the
    console's policy (which allows the app's own stylesheet), not the phone pages' one."""
    from ..console import console_headers

    return console_headers(response)


def _safe_next(target: str | None) -> str:
    """Only a console address of this site: never an open redirect."""
    if target and target.startswith("/console") and "//" not in target and "\\" not in target:
        return target
    return url_for("console.home")


@bp.route("/login", methods=["GET", "POST"])
def login():  # noqa: ANN201
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        try:
            with unit_of_work():
                result = sign_in(form.username.data or "", form.password.data or "", request.remote_addr or "")
        except SignInThrottled as exc:
            page = render_template("auth/login.html", form=form, error=str(exc))
            return page, 429, {"Retry-After": str(exc.retry_after)}
        if result.user is not None:
            session.clear()
            login_user(Account(result.user))
            now = int(time.time())
            session["since"] = session["seen"] = now
            return redirect(_safe_next(request.args.get("next")), 303)
        error = result.message
        return render_template("auth/login.html", form=form, error=error), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():  # noqa: ANN201
    if current_user.is_authenticated:
        with unit_of_work():
            audit.record("sign_out")
        logout_user()
    session.clear()
    return redirect(url_for("auth.login"), 303)
