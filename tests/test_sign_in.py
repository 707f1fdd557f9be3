"""Sign-in throttling counted once for the installation (so it holds across worker processes),
locking an account only from the address that failed; the account commands, and the audit
log's hash chain."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from survey.auth.services import LIMIT

from .console_helpers import PASSWORD, make_user, sign_in

HOME, CAFE = "198.51.100.7", "203.0.113.40"


def test_wrong_passwords_lock_the_account_from_that_address_across_app_instances(app, second_app) -> None:  # noqa: ANN001
    make_user("org", "organizer")
    first, second = app.test_client(), second_app.test_client()
    for attempt in range(LIMIT):
        client = first if attempt % 2 == 0 else second  # spread over two "workers"
        assert sign_in(client, "org", "wrong password!", address=CAFE).status_code == 401
    # now locked from that address, on both instances, even with the right password
    for client in (first, second):
        answer = sign_in(client, "org", PASSWORD, address=CAFE)
        assert answer.status_code == 429
        assert int(answer.headers["Retry-After"]) > 0
        assert "密码错误次数过多" in answer.get_data(as_text=True)
    assert first.get("/console/").status_code == 302
    # the organizer, at home, signs in: the wrong passwords from the café are no weapon
    assert sign_in(second_app.test_client(), "org", PASSWORD, address=HOME).status_code == 303


def test_a_locked_account_does_not_lock_others_from_the_same_address(app, second_app) -> None:  # noqa: ANN001
    make_user("org", "organizer")
    make_user("colleague", "organizer")
    for _ in range(LIMIT + 3):
        sign_in(app.test_client(), "org", "wrong password!", address=CAFE)
    assert sign_in(app.test_client(), "org", PASSWORD, address=CAFE).status_code == 429
    assert sign_in(second_app.test_client(), "colleague", PASSWORD, address=CAFE).status_code == 303


def test_refused_attempts_do_not_count(app) -> None:  # noqa: ANN001
    """Attempts refused with 429 never reach the password, so they are no guesses: hammering a
    locked account from one address moves neither of the far higher limits."""
    app.config["SIGN_IN_ACCOUNT_LIMIT"] = LIMIT + 2
    make_user("org", "organizer")
    for _ in range(LIMIT + 20):
        sign_in(app.test_client(), "org", "wrong password!", address=CAFE)
    assert sign_in(app.test_client(), "org", PASSWORD, address=HOME).status_code == 303


def test_an_address_trying_many_accounts_meets_the_address_limit(app) -> None:  # noqa: ANN001
    app.config["SIGN_IN_ADDRESS_LIMIT"] = 8  # the default, 50, costs 50 password hashes
    make_user("org", "organizer")
    client = app.test_client()
    for n in range(8):  # one try each: no account reaches its own limit
        assert sign_in(client, f"guess{n}", "wrong password!", address="10.0.0.9").status_code == 401
    assert sign_in(client, "org", PASSWORD, address="10.0.0.9").status_code == 429
    assert sign_in(client, "org", PASSWORD, address="10.0.0.10").status_code == 303


def test_guessing_spread_over_addresses_meets_the_account_wide_limit(app, second_app) -> None:  # noqa: ANN001
    """The price of stopping a botnet: past the account-wide limit the account is locked from
    everywhere for the window, so it is set far above what one address may try."""
    app.config["SIGN_IN_ACCOUNT_LIMIT"] = second_app.config["SIGN_IN_ACCOUNT_LIMIT"] = 9
    make_user("org", "organizer")
    for n in range(3):  # three addresses, three wrong passwords each: none at its own limit
        for _ in range(3):
            assert sign_in(app.test_client(), "org", "wrong password!", address=f"192.0.2.{n}").status_code == 401
    assert sign_in(second_app.test_client(), "org", PASSWORD, address=HOME).status_code == 429


def test_the_limits_lift_after_their_window(app, clock) -> None:  # noqa: ANN001
    make_user("org", "organizer")
    for _ in range(LIMIT):
        sign_in(app.test_client(), "org", "wrong password!", address=CAFE)
    clock.advance(14 * 60)
    assert sign_in(app.test_client(), "org", PASSWORD, address=CAFE).status_code == 429
    clock.advance(3 * 60 + 30)  # 15 minutes and one bucket (a sixth of them) have passed
    assert sign_in(app.test_client(), "org", PASSWORD, address=CAFE).status_code == 303


def test_a_right_password_before_the_limit_clears_the_count(app) -> None:  # noqa: ANN001
    make_user("org", "organizer")
    client = app.test_client()
    for _ in range(LIMIT - 1):
        sign_in(client, "org", "wrong password!")
    assert sign_in(client, "org", PASSWORD).status_code == 303
    other = app.test_client()
    for _ in range(LIMIT - 1):
        assert sign_in(other, "org", "wrong password!").status_code == 401
    assert sign_in(other, "org", PASSWORD).status_code == 303


def test_the_counts_hold_no_address_or_name_in_clear(app) -> None:  # noqa: ANN001
    from survey.extensions import db

    make_user("org", "organizer")
    sign_in(app.test_client(), "org", "wrong password!", address=CAFE)
    db.session.rollback()
    rows = db.session.execute(sa.text("SELECT kind, key FROM limit_counts")).all()
    assert sorted(kind for kind, _ in rows) == ["sign-in", "sign-in-account", "sign-in-address"]
    for _, key in rows:
        assert CAFE not in key and "org" not in key and len(key) == 32


def test_users_create_reads_the_password_from_stdin_and_never_stores_it(app, runner) -> None:  # noqa: ANN001
    from survey.extensions import db
    from survey.models import User

    result = runner.invoke(args=["users", "create", "ann", "--role", "organizer", "--password-stdin"],
                           input="s3cret-password\nsecond line ignored\n")
    assert result.exit_code == 0, result.output
    stored = db.session.scalar(sa.select(User.password_hash).where(User.username == "ann"))
    assert "s3cret-password" not in stored and stored.startswith("scrypt:")
    assert sign_in(app.test_client(), "ann", "s3cret-password").status_code == 303


def test_users_create_prompts_twice_without_stdin(app, runner) -> None:  # noqa: ANN001
    result = runner.invoke(args=["users", "create", "ann", "--role", "admin"], input="pass-word-1\npass-word-1\n")
    assert result.exit_code == 0, result.output
    assert "pass-word-1" not in result.output


@pytest.mark.parametrize(("args", "stdin", "says"), [
    (["users", "create", "x", "--role", "admin", "--password-stdin"], "short\n", "at least 8"),
    (["users", "create", "x", "--role", "boss", "--password-stdin"], "long enough\n", "boss"),
    (["users", "create", "x", "--role", "organizer", "--rounds", "r2012", "--password-stdin"], "long enough\n", "only a reviewer"),
    (["users", "create", "x", "--role", "reviewer", "--rounds", "nope", "--password-stdin"], "long enough\n", "nope"),
    (["users", "assign", "nobody", "r2012"], "", "nobody"),
    (["users", "disable", "nobody"], "", "nobody"),
])
def test_users_commands_refuse_with_one_line(runner, make_round, args, stdin, says) -> None:  # noqa: ANN001
    make_round()
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code != 0
    assert says in result.output


def test_users_assign_gives_a_reviewer_one_more_round(app, client, runner, make_round, spec) -> None:  # noqa: ANN001
    make_round(spec, status="closed")
    make_round({**spec, "slug": "r2013"}, status="closed")
    assert runner.invoke(args=["users", "create", "rev", "--role", "reviewer", "--rounds", "r2012", "--password-stdin"],
                         input=PASSWORD + "\n").exit_code == 0
    sign_in(client, "rev")
    assert client.get("/console/rounds/r2013").status_code == 404
    result = runner.invoke(args=["users", "assign", "rev", "r2013"])
    assert result.exit_code == 0, result.output
    assert client.get("/console/rounds/r2013").status_code == 200


def test_audit_chain_verifies_and_names_the_first_altered_entry(app, client, runner, make_round) -> None:  # noqa: ANN001
    from survey.extensions import db

    make_round(status="draft")
    make_user("org", "organizer")
    sign_in(client, "org", "wrong password!")
    sign_in(client, "org")
    result = runner.invoke(args=["rounds", "open", "r2012"])
    assert result.exit_code == 0, result.output
    whole = runner.invoke(args=["audit", "verify"])
    assert whole.exit_code == 0, whole.output
    db.session.rollback()
    rows = db.session.execute(sa.text("SELECT id, action FROM audit_log ORDER BY id")).all()
    assert [a for _, a in rows] == ["user.create", "sign_in_failed", "sign_in", "round.open"]
    target = rows[1][0]
    db.session.execute(sa.text("UPDATE audit_log SET actor = 'someone-else' WHERE id = :id"), {"id": target})
    db.session.commit()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code != 0
    assert f"entry {target}" in broken.output


def test_audit_verify_notices_a_removed_entry(app, client, runner) -> None:  # noqa: ANN001
    from survey.extensions import db

    make_user("a1", "organizer")
    make_user("a2", "organizer")
    make_user("a3", "organizer")
    db.session.rollback()
    ids = db.session.scalars(sa.text("SELECT id FROM audit_log ORDER BY id")).all()
    db.session.execute(sa.text("DELETE FROM audit_log WHERE id = :id"), {"id": ids[1]})
    db.session.commit()
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code != 0
    assert f"entry {ids[2]}" in broken.output


def test_audit_log_page_is_for_admins_and_holds_no_password(app, client) -> None:  # noqa: ANN001
    make_user("root", "admin")
    sign_in(client, "root", "a wrong password")
    sign_in(client, "root")
    page = client.get("/console/audit").get_data(as_text=True)
    assert "登录失败" in page and "链条完整" in page
    assert "a wrong password" not in page and PASSWORD not in page


def test_sign_in_page_may_load_the_console_stylesheet(client) -> None:  # noqa: ANN001
    """The page links /static/console.css: its Content-Security-Policy must allow 'self' styles,
    or a browser draws it unstyled."""
    page = client.get("/login")
    assert "/static/console.css" in page.get_data(as_text=True)
    policy = page.headers["Content-Security-Policy"]
    style = next(part for part in policy.split(";") if part.strip().startswith("style-src"))
    assert "'self'" in style.split()
