"""Administrators manage accounts in the console: create, disable, reset a password, assign."""

from __future__ import annotations

from .console_helpers import PASSWORD, console_token, make_user, sign_in


def test_admin_creates_disables_resets_and_assigns(app, client, make_round) -> None:  # noqa: ANN001
    make_round(status="closed")
    make_user("root", "admin")
    sign_in(client, "root")
    token = console_token(client, "/console/accounts")
    made = client.post("/console/accounts", data={
        "csrf_token": token, "username": "rev", "role": "reviewer",
        "password": "first-password", "confirm": "first-password"})
    assert made.status_code == 303
    reviewer = app.test_client()
    assert sign_in(reviewer, "rev", "first-password").status_code == 303
    assert reviewer.get("/console/rounds/r2012").status_code == 404

    assert client.post("/console/accounts/rev", data={"csrf_token": token, "do": "assign", "slug": "r2012"}).status_code == 303
    assert reviewer.get("/console/rounds/r2012").status_code == 200

    reset = client.post("/console/accounts/rev", data={
        "csrf_token": token, "do": "password", "password": "second-password", "confirm": "second-password"})
    assert reset.status_code == 303
    assert reviewer.get("/console/").status_code == 302  # its session ended
    assert sign_in(reviewer, "rev", "first-password").status_code == 401
    assert sign_in(reviewer, "rev", "second-password").status_code == 303

    assert client.post("/console/accounts/rev", data={"csrf_token": token, "do": "disable"}).status_code == 303
    assert reviewer.get("/console/").status_code == 302
    assert sign_in(reviewer, "rev", "second-password").status_code == 401


def test_console_refuses_a_mismatched_or_short_password_beside_its_field(app, client) -> None:  # noqa: ANN001
    make_user("root", "admin")
    sign_in(client, "root")
    token = console_token(client, "/console/accounts")
    page = client.post("/console/accounts", data={
        "csrf_token": token, "username": "x", "role": "organizer", "password": "short", "confirm": "other"})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "密码为 8" in html and "两次输入的密码不一致" in html


def test_an_admin_cannot_disable_itself(app, client) -> None:  # noqa: ANN001
    make_user("root", "admin")
    sign_in(client, "root")
    token = console_token(client)
    assert client.post("/console/accounts/root", data={"csrf_token": token, "do": "disable"}).status_code == 400
    assert client.get("/console/").status_code == 200


def test_organizer_cannot_reach_account_actions(app, client) -> None:  # noqa: ANN001
    make_user("org", "organizer")
    make_user("root", "admin", password=PASSWORD)
    sign_in(client, "org")
    token = console_token(client)
    assert client.post("/console/accounts/root", data={"csrf_token": token, "do": "disable"}).status_code == 403
    assert client.post("/console/accounts", data={"csrf_token": token, "username": "y", "role": "admin",
                                                  "password": "long-enough", "confirm": "long-enough"}).status_code == 403


def test_a_new_reviewer_gets_rounds_ticked_from_a_list_not_typed(app, client, make_round, spec) -> None:  # noqa: ANN001
    import re

    make_round(status="closed")
    make_round(dict(spec, slug="r2013", title="2013年评议"), status="draft")
    make_user("root", "admin")
    sign_in(client, "root")
    page = client.get("/console/accounts").get_data(as_text=True)
    boxes = re.findall(r'<input id="rounds-\d" name="rounds" type="checkbox" value="([^"]+)"', page)
    assert boxes == ["r2013", "r2012"]
    assert "2013年评议（r2013，草稿）" in page
    token = console_token(client, "/console/accounts")

    made = client.post("/console/accounts", data={
        "csrf_token": token, "username": "rev", "role": "reviewer", "rounds": ["r2012", "r2013"],
        "password": "first-password", "confirm": "first-password"})

    assert made.status_code == 303
    reviewer = app.test_client()
    sign_in(reviewer, "rev", "first-password")
    assert reviewer.get("/console/rounds/r2012").status_code == 200
    assert reviewer.get("/console/rounds/r2013").status_code == 200
    typo = client.post("/console/accounts", data={
        "csrf_token": token, "username": "rev2", "role": "reviewer", "rounds": ["r2O12"],
        "password": "first-password", "confirm": "first-password"})
    assert typo.status_code == 422
