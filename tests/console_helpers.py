"""Helpers for console tests: accounts and signing in as a browser would."""

from __future__ import annotations

import re

from flask.testing import FlaskClient

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PASSWORD = "correct horse battery"


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "the page has a csrf_token field"
    return found.group(1)


def make_user(name: str, role: str, rounds: list[str] | None = None, password: str = PASSWORD):  # noqa: ANN201
    from survey.auth.services import create_user
    from survey.database import unit_of_work

    with unit_of_work():
        return create_user(name, role, password, rounds or [])


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD, *, address: str = "127.0.0.1"):  # noqa: ANN201
    page = client.get("/login")
    token = csrf_of(page.get_data(as_text=True))
    return client.post("/login", data={"username": name, "password": password, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def console_token(client: FlaskClient, url: str = "/console/") -> str:
    """A CSRF token of the signed-in console session (from any console page)."""
    return csrf_of(client.get(url).get_data(as_text=True))
