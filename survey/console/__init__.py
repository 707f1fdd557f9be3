"""The signed-in console: one blueprint under ``/console``, whose pages live beside the
services they call (``survey/rounds/console.py``, ``survey/codes/console.py`` ...).

Every console request passes ``guard`` first: no session → /login; an idle or too old session
→ signed out; then the CSRF check on every POST. Routes then call ``survey.auth.access``
(``round_for``, ``results_round``, ``requires``) for the 403/404 answers.

To add pages: write ``survey/<feature>/console.py`` with ``from ..console import bp`` and
routes on it, extend ``console/base.html`` in its templates, and list the module in
``PAGE_MODULES`` below. ``NAV`` holds the top navigation; ``ROUND_LINKS`` the links shown on a
round's overview page.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import dataclass

from flask import Blueprint, Flask, Response, current_app, redirect, request, session, url_for
from flask_login import current_user, logout_user

from ..extensions import csrf
from ..models import Round
from ..rounds.lifecycle import sealed_words
from ..web import MESSAGE_TEMPLATES

bp = Blueprint("console", __name__, url_prefix="/console")
csrf.exempt(bp)  # checked in guard(), after the session check, so that no session → /login

#: modules whose import adds routes to ``bp``
PAGE_MODULES = [
    "survey.console.home",
    "survey.console.settings",
    "survey.rounds.console",
    "survey.rounds.builder_pages",
    "survey.ballotbox.console",
    "survey.codes.console",
    "survey.org.console",
    "survey.auth.admin",
    "survey.scorecard.console",
    "survey.rectify.console",
    "survey.annual.console",
]

CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@dataclass(frozen=True)
class NavLink:
    endpoint: str
    label: str
    right: str | None = None  #: shown only to accounts with this right


NAV: list[NavLink] = [
    NavLink("console.home", "评议轮次"),
    NavLink("console.new_round", "新建评议", "manage_rounds"),
    NavLink("console.accounts", "账户", "manage_accounts"),
    NavLink("console.audit_log", "审计日志", "read_audit"),
    NavLink("console.settings", "设置", "manage_rounds"),
]


@dataclass(frozen=True)
class RoundLink:
    """A link on a round's overview page: ``endpoint`` takes ``slug``; shown to whoever holds
    ``right``, and, for a page of results, only once they are out (the lifecycle's
    ``results_sealed``, the same rule the page itself enforces)."""

    endpoint: str
    label: str
    right: str | None = None
    of_results: bool = False

    def shows(self, round_: Round, user: object) -> bool:
        if self.of_results and round_.state.results_sealed:
            return False
        return self.right is None or user.can(self.right)


ROUND_LINKS: list[RoundLink] = [
    RoundLink("console.scorecard", "评议结果", "read_results", of_results=True),
    RoundLink("console.rectify", "整改清单", "read_results", of_results=True),
    RoundLink("console.feedback_links", "向本人反馈", "manage_rounds", of_results=True),
    RoundLink("console.annual", "年度考核合并", "review", of_results=True),
]


def idle_minutes() -> int:
    return int(current_app.config.get("CONSOLE_IDLE_MINUTES", 30))


@bp.before_request
def guard() -> Response | None:
    """Sign-in, idle timeout and CSRF for every console address, before any route runs."""
    now = int(time.time())
    if current_user.is_authenticated:
        seen = int(session.get("seen", 0))
        since = int(session.get("since", 0))
        max_age = int(current_app.config.get("CONSOLE_MAX_HOURS", 12)) * 3600
        if now - seen > idle_minutes() * 60 or now - since > max_age:
            logout_user()
            session.clear()
    if not current_user.is_authenticated:
        target = request.full_path if request.method == "GET" else request.path
        return redirect(url_for("auth.login", next=target.rstrip("?")), 302 if request.method == "GET" else 303)
    session["seen"] = now
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()
    return None


@bp.after_request
def console_headers(response: Response) -> Response:
    """The console's own policy: nothing cached, no framing; the phone pages keep theirs."""
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.app_template_filter("beijing")
def beijing_time(moment) -> str:  # noqa: ANN001
    """A stored time as Beijing time, to the minute."""
    from ..timefmt import beijing

    return beijing(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


@bp.app_context_processor
def console_globals() -> dict:
    endpoints = current_app.view_functions
    return {
        "console_nav": [link for link in NAV if link.endpoint in endpoints],
        "round_links": [link for link in ROUND_LINKS if link.endpoint in endpoints],
        "console_has": endpoints.__contains__,
        "sealed_words": sealed_words,
    }


def register(app: Flask) -> None:
    """Import the page modules (they add routes to ``bp``), then register it."""
    for name in PAGE_MODULES:
        importlib.import_module(name)
    MESSAGE_TEMPLATES["console"] = "console/message.html"
    MESSAGE_TEMPLATES["auth"] = "console/message.html"
    if "console" not in app.blueprints:
        app.register_blueprint(bp)
