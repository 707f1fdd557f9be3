"""Who may do what in the console, and the checks every console route goes through.

The answers are fixed (see README, "The console"): no session → redirect to /login; signed in
without the right → 403; a reviewer asking for a round not assigned to them → 404; a round's
results (scorecard, subjects) while it is draft or open → 403 for everyone.

Use in a route::

    @bp.get("/rounds/<slug>/something")
    def something(slug):
        round_ = round_for(slug, "manage_rounds")      # 404 / 403 as above
        ...

    @bp.get("/accounts")
    @requires("manage_accounts")                       # 403 without the right
    def accounts(): ...
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import LoginManager, UserMixin, current_user
from sqlalchemy import select

from ..extensions import db
from ..errors import Forbidden
from ..models import Role, Round, RoundStatus, User
from ..rounds.lifecycle import refuse_while_sealed

F = TypeVar("F", bound=Callable[..., Any])

#: right → what it allows; the roles below are sets of these
RIGHT_NAMES: dict[str, str] = {
    "manage_accounts": "管理账户",
    "read_audit": "查看审计日志",
    "manage_rounds": "创建和修改评议、开始/结束/公布",
    "issue_access": "发放评议码和二维码",
    "view_turnout": "查看参评情况",
    "org_ratings": "录入组织评价",
    "read_results": "查看已结束评议的结果",
    "review": "撰写领导点评、年度合并",
    "export_ballots": "下载原始选票（export.zip）",
}

#: ``export_ballots`` is the administrators' alone: export.zip holds every ballot with its group,
#: so a group of two hands over its two ballots whole; no other page shows a blanked group's answers
RIGHTS: dict[Role, frozenset[str]] = {
    Role.admin: frozenset(RIGHT_NAMES),
    Role.organizer: frozenset({"manage_rounds", "issue_access", "view_turnout", "org_ratings", "read_results"}),
    Role.reviewer: frozenset({"view_turnout", "read_results", "review"}),
}

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = None  # the login page says enough
login_manager.session_protection = None  # the session epoch and the idle timeout do this job


class Account(UserMixin):
    """The signed-in user as Flask-Login sees it: the row, plus the session epoch in its id,
    so that a session begun before the account was disabled or its password reset ends."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.session_epoch}"

    @property
    def is_active(self) -> bool:
        return bool(self.user.active)

    @property
    def username(self) -> str:
        return self.user.username

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    def can(self, right: str) -> bool:
        return right in RIGHTS[self.role]

    def sees_round(self, round_: Round) -> bool:
        """Admins and organizers see every round; a reviewer those assigned to them."""
        return self.role is not Role.reviewer or any(r.id == round_.id for r in self.user.rounds)

    def visible_rounds(self) -> list[Round]:
        if self.role is Role.reviewer:
            return list(self.user.rounds)
        return list(db.session.scalars(select(Round).order_by(Round.id.desc())))


@login_manager.user_loader
def _load(session_id: str) -> Account | None:
    user_id, _, epoch = session_id.partition(":")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_epoch != int(epoch):
        return None
    return Account(user)


def requires(right: str) -> Callable[[F], F]:
    """403 unless the signed-in account has ``right`` (the console blueprint has already sent
    anyone without a session to /login)."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                abort(401)
            if not current_user.can(right):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def round_for(slug: str, right: str | None = None) -> Round:
    """The round a console page is about, or the fixed refusal: 404 when it does not exist or
    a reviewer is not assigned to it; 403 when the account lacks ``right``."""
    if not current_user.is_authenticated:
        abort(401)
    round_ = db.session.scalar(select(Round).where(Round.slug == slug))
    if round_ is None or not current_user.sees_round(round_):
        abort(404)
    if right is not None and not current_user.can(right):
        abort(403)
    return round_


def results_round(slug: str) -> Round:
    """``round_for`` for result pages: also 403 while results are sealed (draft, open or
    closing), administrators included."""
    round_ = round_for(slug, "read_results")
    refuse_while_sealed(round_)
    return round_
