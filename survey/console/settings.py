"""``/console/settings``: the installation's public address, shown to all who manage rounds,
set by administrators. ``flask --app survey config`` shows and sets the same value."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..auth.access import requires
from ..database import unit_of_work
from ..errors import ServiceError
from ..settings import base_url_source, loopback_warning, public_base_url, set_base_url
from . import bp


@bp.route("/settings", methods=["GET", "POST"])
@requires("manage_rounds")
def settings():  # noqa: ANN201
    error = None
    if request.method == "POST":
        if not current_user.can("manage_accounts"):
            return render_template("console/message.html", title="没有权限", text="只有管理员可以修改设置。"), 403
        try:
            with unit_of_work():
                set_base_url(request.form.get("base_url", ""))
        except ServiceError as exc:
            error = str(exc)
        else:
            flash("已保存公共地址。", "ok")
            return redirect(url_for("console.settings"), 303)
    return render_template(
        "console/settings.html", base_url=public_base_url(), source=base_url_source(), warning=loopback_warning(),
        env_base_url=current_app.config["BASE_URL"], error=error,
    ), (422 if error else 200)
