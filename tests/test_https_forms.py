"""Forms over HTTPS, as every real round is served (nginx with TLS, or gunicorn with a
certificate). The pages ask browsers to send no Referer (a ballot's address holds its code), so
a browser posts a form with none; Flask-WTF's HTTPS referrer check would refuse every one."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from .conftest import page_tokens, receipt_of
from .console_helpers import PASSWORD, csrf_of, make_user

HTTPS = "https://survey.example.edu.cn"


def test_a_ballot_posted_over_https_without_a_referer_is_stored(app: Flask, client: FlaskClient, make_round,  # noqa: ANN001
                                                                issue_codes) -> None:  # noqa: ANN001
    (code,) = issue_codes(make_round(), "staff", 1)
    page = client.get(f"/b/{code}", base_url=HTTPS)
    assert page.headers["Referrer-Policy"] == "no-referrer"

    answer = client.post(f"/b/{code}", base_url=HTTPS,
                         data={"confirm_partial": "1", **page_tokens(page.get_data(as_text=True)), "a:B01:service": "satisfied"})

    assert answer.status_code == 200 and receipt_of(answer), answer.get_data(as_text=True)[:300]


def test_signing_in_over_https_without_a_referer_works(app: Flask, client: FlaskClient) -> None:
    make_user("zuzhibu", "organizer")
    token = csrf_of(client.get("/login", base_url=HTTPS).get_data(as_text=True))

    answer = client.post("/login", base_url=HTTPS,
                         data={"username": "zuzhibu", "password": PASSWORD, "csrf_token": token})

    assert answer.status_code == 303, answer.get_data(as_text=True)[:300]
