"""The console's fixed answers (README, "The console"): for every console address and role,
no session → redirect to /login, no right → 403, a reviewer's unassigned round → 404, and a
POST without its CSRF token → 400."""

from __future__ import annotations

import pytest

from .console_helpers import console_token, make_user, sign_in

GET_ROUND = ["/console/rounds/{slug}", "/console/rounds/{slug}/projector"]
GET_MANAGE = ["/console/rounds/{slug}/open", "/console/rounds/{slug}/close"]
GET_ADMIN = ["/console/audit", "/console/accounts", "/console/accounts/org"]
POST_MOVES = ["/console/rounds/{slug}/open", "/console/rounds/{slug}/close", "/console/rounds/{slug}/publish"]


@pytest.fixture
def accounts(app, make_round, spec):  # noqa: ANN001, ANN201
    """Two draft rounds; an admin, an organizer, a reviewer of r2012 and one of another round."""
    make_round(spec, status="draft")
    make_round({**spec, "slug": "other"}, status="draft")
    make_user("root", "admin")
    make_user("org", "organizer")
    make_user("rev", "reviewer", ["r2012"])
    make_user("rev2", "reviewer", ["other"])


def urls(templates: list[str], slug: str = "r2012") -> list[str]:
    return [t.format(slug=slug) for t in templates]


@pytest.mark.usefixtures("accounts")
def test_without_a_session_every_console_address_redirects_to_login(client) -> None:  # noqa: ANN001
    for url in ["/console/", "/console", *urls(GET_ROUND), *urls(GET_MANAGE), *GET_ADMIN]:
        answer = client.get(url)
        assert answer.status_code in (302, 303, 308), url
        if answer.status_code == 308:  # /console → /console/
            answer = client.get(answer.headers["Location"])
        assert answer.headers["Location"].startswith("/login"), url
    for url in urls(POST_MOVES) + ["/console/accounts"]:
        answer = client.post(url, data={})
        assert answer.status_code in (302, 303), url
        assert answer.headers["Location"].startswith("/login"), url


@pytest.mark.usefixtures("accounts")
@pytest.mark.parametrize(("role", "round_get", "manage_get", "admin_get", "round_post"), [
    ("root", 200, 200, 200, 303),
    ("org", 200, 200, 403, 303),
    ("rev", 200, 403, 403, 403),
    ("rev2", 404, 404, 403, 404),
])
def test_access_matrix(client, role, round_get, manage_get, admin_get, round_post) -> None:  # noqa: ANN001
    assert sign_in(client, role).status_code == 303
    assert client.get("/console/").status_code == 200
    for url in urls(GET_ROUND):
        assert client.get(url).status_code == round_get, (role, url)
    for url in urls(GET_MANAGE):
        assert client.get(url).status_code == manage_get, (role, url)
    for url in GET_ADMIN:
        assert client.get(url).status_code == admin_get, (role, url)
    assert client.get("/console/rounds/nothing").status_code == 404
    token = console_token(client)
    # open the draft: allowed for admins and organizers; reviewers 403 / 404
    answer = client.post("/console/rounds/r2012/open", data={"csrf_token": token})
    assert answer.status_code == round_post, role


@pytest.mark.usefixtures("accounts")
def test_reviewer_sees_only_assigned_rounds_in_the_list(client) -> None:  # noqa: ANN001
    sign_in(client, "rev")
    page = client.get("/console/").get_data(as_text=True)
    assert "/console/rounds/r2012" in page
    assert "/console/rounds/other" not in page


@pytest.mark.usefixtures("accounts")
def test_a_console_post_without_csrf_token_is_refused(client) -> None:  # noqa: ANN001
    from survey.models import Round
    from survey.extensions import db
    from sqlalchemy import select

    sign_in(client, "org")
    assert client.post("/console/rounds/r2012/open", data={}).status_code == 400
    assert client.post("/console/rounds/r2012/open", data={"csrf_token": "forged"}).status_code == 400
    db.session.rollback()
    assert db.session.scalar(select(Round.status).where(Round.slug == "r2012")) == "draft"


@pytest.mark.usefixtures("accounts")
def test_login_without_csrf_token_is_refused(client) -> None:  # noqa: ANN001
    from .console_helpers import PASSWORD

    answer = client.post("/login", data={"username": "org", "password": PASSWORD})
    assert answer.status_code == 400
    assert client.get("/console/").status_code == 302


@pytest.mark.usefixtures("accounts")
def test_lifecycle_through_the_console_with_confirmation(client) -> None:  # noqa: ANN001
    sign_in(client, "org")
    confirm = client.get("/console/rounds/r2012/open").get_data(as_text=True)
    assert "确认开始评议" in confirm and "冻结" in confirm
    token = console_token(client)
    for action, status in [("open", "open"), ("close", "closed"), ("publish", "published")]:
        answer = client.post(f"/console/rounds/r2012/{action}", data={"csrf_token": token})
        assert answer.status_code == 303, action
        page = client.get("/console/rounds/r2012").get_data(as_text=True)
        assert {"open": "进行中", "closed": "已结束", "published": "已公布"}[status] in page
    # a move the state machine does not allow: refused with 409, on a console page
    again = client.post("/console/rounds/r2012/open", data={"csrf_token": token})
    assert again.status_code == 409
    assert "管理后台" in again.get_data(as_text=True)


@pytest.mark.usefixtures("accounts")
def test_logout_ends_the_session(client) -> None:  # noqa: ANN001
    sign_in(client, "org")
    token = console_token(client)
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    assert client.get("/console/").status_code == 302


@pytest.mark.usefixtures("accounts")
def test_disabling_an_account_ends_its_open_sessions(app, client, runner) -> None:  # noqa: ANN001
    sign_in(client, "org")
    assert client.get("/console/").status_code == 200
    result = runner.invoke(args=["users", "disable", "org"])
    assert result.exit_code == 0, result.output
    assert client.get("/console/").status_code == 302
    assert sign_in(client, "org").status_code == 401


@pytest.mark.usefixtures("accounts")
def test_an_idle_session_ends(app, client) -> None:  # noqa: ANN001
    sign_in(client, "org")
    app.config["CONSOLE_IDLE_MINUTES"] = 0
    import time

    time.sleep(1.1)
    assert client.get("/console/").status_code == 302


@pytest.mark.usefixtures("accounts")
def test_console_cookie_is_its_own_short_lived_httponly_lax_secure_cookie(client) -> None:  # noqa: ANN001
    answer = sign_in(client, "org")
    cookie = next(c for c in answer.headers.getlist("Set-Cookie") if c.startswith("survey_console="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" in cookie  # the app fixture's BASE_URL is https
    assert "Expires" not in cookie and "Max-Age" not in cookie


@pytest.mark.usefixtures("accounts")
def test_a_stored_https_address_makes_the_cookies_secure(app, runner) -> None:  # noqa: ANN001
    """The public address has one source for cookies as for QR codes: an address stored with
    ``config set-base-url`` decides ``Secure``, whatever ``SURVEY_BASE_URL`` says."""
    app.config["BASE_URL"] = "http://localhost:5000"
    plain = app.test_client()
    cookie = next(c for c in sign_in(plain, "org").headers.getlist("Set-Cookie") if c.startswith("survey_console="))
    assert "Secure" not in cookie
    assert runner.invoke(args=["config", "set-base-url", "https://pingyi.example.edu.cn"]).exit_code == 0
    secure = app.test_client()
    cookie = next(c for c in sign_in(secure, "org").headers.getlist("Set-Cookie") if c.startswith("survey_console="))
    assert "Secure" in cookie


def test_console_pages_have_their_own_headers_and_phone_pages_keep_theirs(app, client, make_round) -> None:  # noqa: ANN001
    make_round()
    make_user("org", "organizer")
    phone = client.get("/r/r2012/students")
    assert "default-src 'none'" in phone.headers["Content-Security-Policy"]
    assert "style-src 'unsafe-inline'" in phone.headers["Content-Security-Policy"]
    sign_in(client, "org")
    console = client.get("/console/")
    assert console.headers["Cache-Control"] == "no-store"
    assert "style-src 'self'" in console.headers["Content-Security-Policy"]


def test_next_only_leads_into_the_console(app, client) -> None:  # noqa: ANN001
    from .console_helpers import PASSWORD, csrf_of

    make_user("org", "organizer")
    token = csrf_of(client.get("/login").get_data(as_text=True))
    answer = client.post("/login?next=https://evil.example/", data={"username": "org", "password": PASSWORD, "csrf_token": token})
    assert answer.headers["Location"] == "/console/"


@pytest.mark.usefixtures("accounts")
def test_a_refusal_is_a_chinese_console_page(client) -> None:  # noqa: ANN001
    sign_in(client, "org")
    page = client.get("/console/audit")
    assert page.status_code == 403
    html = page.get_data(as_text=True)
    assert "没有权限" in html and "管理后台" in html
