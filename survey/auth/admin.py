"""Administrators' console pages: accounts (create, disable, reset a password, assign
reviewers to rounds) and the audit log."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ..console import bp
from ..database import unit_of_work
from ..errors import ServiceError
from ..extensions import db
from ..models import AuditEntry, Round, User
from . import audit, audit_words
from .access import requires
from .forms import NewAccountForm, PasswordForm
from .services import (
    assign_round,
    create_user,
    disable_user,
    enable_user,
    get_user,
    set_password,
    unassign_round,
)

AUDIT_PAGE = 100


@bp.get("/accounts")
@requires("manage_accounts")
def accounts():  # noqa: ANN201
    users = db.session.scalars(select(User).order_by(User.username)).all()
    rounds = db.session.scalars(select(Round).order_by(Round.id.desc())).all()
    return render_template("console/accounts.html", users=users, rounds=rounds, form=_account_form(rounds))


def _account_form(rounds: list[Round]) -> NewAccountForm:
    form = NewAccountForm()
    form.rounds.choices = [(r.slug, f"{r.title}（{r.slug}，{r.state.label}）") for r in rounds]
    return form


@bp.post("/accounts")
@requires("manage_accounts")
def create_account():  # noqa: ANN201
    form = _account_form(db.session.scalars(select(Round).order_by(Round.id.desc())).all())
    if form.validate():
        slugs = list(form.rounds.data or [])
        try:
            with unit_of_work():
                create_user(form.username.data, form.role.data, form.password.data, slugs)
        except ServiceError as exc:
            form.username.errors = [*form.username.errors, str(exc)]
        else:
            flash(f"已创建账户 {form.username.data}。", "ok")
            return redirect(url_for("console.accounts"), 303)
    users = db.session.scalars(select(User).order_by(User.username)).all()
    rounds = db.session.scalars(select(Round).order_by(Round.id.desc())).all()
    return render_template("console/accounts.html", users=users, rounds=rounds, form=form), 422


@bp.route("/accounts/<username>", methods=["GET", "POST"])
@requires("manage_accounts")
def account(username: str):  # noqa: ANN201
    """One account: disable or enable it, reset its password, assign rounds to a reviewer."""
    user = get_user(username)
    form = PasswordForm()
    if request.method == "POST":
        what = request.form.get("do", "")
        with unit_of_work():
            if what == "disable":
                if user.id == current_user.user.id:
                    raise ServiceError("不能停用自己正在使用的账户。")
                disable_user(username)
                flash(f"已停用 {username}，其登录会话已结束。", "ok")
            elif what == "enable":
                enable_user(username)
                flash(f"已启用 {username}。", "ok")
            elif what == "assign":
                assign_round(username, request.form.get("slug", ""))
                flash("已分配。", "ok")
            elif what == "unassign":
                unassign_round(username, request.form.get("slug", ""))
                flash("已取消分配。", "ok")
            elif what == "password":
                if not form.validate():
                    db.session.rollback()
                    return _account_page(user, form), 422
                set_password(username, form.password.data)
                flash(f"已重设 {username} 的密码，其登录会话已结束。", "ok")
            else:
                raise ServiceError("未知的操作。")
        return redirect(url_for("console.account", username=username), 303)
    return _account_page(user, form)


def _account_page(user: User, form: PasswordForm):  # noqa: ANN202
    rounds = db.session.scalars(select(Round).order_by(Round.id.desc())).all()
    return render_template("console/account.html", user=user, rounds=rounds, form=form)


@bp.get("/audit")
@requires("read_audit")
def audit_log():  # noqa: ANN201
    """The log, newest first, a page at a time, with the chain checked."""
    before = request.args.get("before", type=int)
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(AUDIT_PAGE)
    if before:
        query = query.where(AuditEntry.id < before)
    entries = [audit_words.describe(e) for e in db.session.scalars(query)]
    total = db.session.scalar(select(func.count()).select_from(AuditEntry))
    checked, broken = audit.verify_chain()
    return render_template(
        "console/audit.html", entries=entries, total=total, checked=checked, broken=broken, head=audit.head(),
        broken_words=audit_words.break_words(broken.reason) if broken else None,
        next_before=entries[-1]["entry"].id if len(entries) == AUDIT_PAGE else None,
    )
