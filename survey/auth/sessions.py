"""Two session cookies: the phone pages' and the console's.

The phone pages keep Flask's ``session`` cookie: it carries the CSRF token of the questionnaire
and nothing else (the once-per-device mark is a cookie of its own, ``voted-<round>-<group>``,
set by ``survey.respond``). The console (``/console``, ``/login``, ``/logout``) gets its own cookie,
signed under another salt so neither can stand in for the other: it lives only as long as the
browser (no expiry date), is HttpOnly, SameSite=Lax, Secure when the public address is https,
and the console ends it after ``CONSOLE_IDLE_MINUTES`` without a request (default 30) or
``CONSOLE_MAX_HOURS`` after sign-in (default 12).
"""

from __future__ import annotations

from datetime import datetime

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin

CONSOLE_PATHS = ("/console", "/login", "/logout")
CONSOLE_COOKIE = "survey_console"


def in_console() -> bool:
    """Whether the request is for the signed-in part of the site."""
    try:
        path = request.path
    except RuntimeError:  # no request: not the console
        return False
    return path == CONSOLE_PATHS[0] or path.startswith(("/console/", "/login", "/logout"))


class SessionsByArea(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the console's own cookie and rules."""

    def get_signing_serializer(self, app: Flask):  # noqa: ANN201
        if not in_console():
            return super().get_signing_serializer(app)
        original = self.salt
        try:
            self.salt = "console-session"
            return super().get_signing_serializer(app)
        finally:
            self.salt = original

    def get_cookie_name(self, app: Flask) -> str:
        return CONSOLE_COOKIE if in_console() else super().get_cookie_name(app)

    def get_cookie_path(self, app: Flask) -> str:
        return "/" if in_console() else super().get_cookie_path(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Both cookies are ``Secure`` when the public address is https (``serves_https``)."""
        from ..settings import serves_https  # settings reads models, which import auth

        return serves_https() or bool(app.config.get("SESSION_COOKIE_SECURE"))

    def get_cookie_httponly(self, app: Flask) -> bool:
        return True if in_console() else super().get_cookie_httponly(app)

    def get_cookie_samesite(self, app: Flask) -> str | None:
        return "Lax" if in_console() else super().get_cookie_samesite(app)

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        if in_console():
            return None  # gone when the browser closes; the idle timeout ends it sooner
        return super().get_expiration_time(app, session)
