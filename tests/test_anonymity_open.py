"""Ballot stuffing on open links, code guessing, the once-per-device mark, and route values no
page can have."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from http.cookies import SimpleCookie

import pytest
import sqlalchemy as sa

from .conftest import page_tokens, receipt_of

CHINESE = "\u4e00-\u9fff"


def ballots_in(group: str) -> int:
    from survey.extensions import db

    db.session.rollback()
    return sum(db.session.scalar(sa.text(
        f"SELECT count(*) FROM {table} b JOIN round_groups g ON g.id = b.group_id WHERE g.key = :k"), {"k": group})
        for table in ("sealed_ballots", "ballots"))


def vote_open(app, address: str = "198.51.100.7", url: str = "/r/r2012/students"):  # noqa: ANN001, ANN201
    """One ballot from a fresh browser (no cookie) at ``address``."""
    phone = app.test_client()
    env = {"REMOTE_ADDR": address}
    page = phone.get(url, environ_base=env)
    if page.status_code != 200:
        return page
    return phone.post(url, environ_base=env,
                      data={"confirm_partial": "1", **page_tokens(page.get_data(as_text=True)), "a:B01:service": "satisfied"})


# --- open links -------------------------------------------------------------------------------


def test_an_open_group_with_weight_needs_expected(runner, spec, tmp_path) -> None:  # noqa: ANN001
    del spec["groups"][1]["expected"]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")

    result = runner.invoke(args=["rounds", "import", str(path)])

    assert result.exit_code != 0
    assert "groups[1].expected" in result.output and "required" in result.output


def test_an_open_group_with_no_weight_may_leave_expected_out(runner, spec, tmp_path) -> None:  # noqa: ANN001
    del spec["groups"][1]["expected"]
    spec["groups"][1]["weight"] = 0
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(args=["rounds", "import", str(path)]).exit_code == 0


@pytest.mark.parametrize("bad", [0.9, "1.2", True, float("inf")])
def test_cap_factor_must_be_a_number_of_at_least_one(spec, bad) -> None:  # noqa: ANN001
    from scoring.spec import SpecError, parse_spec

    spec["groups"][1]["cap_factor"] = bad
    with pytest.raises(SpecError, match=r"groups\[1\]\.cap_factor"):
        parse_spec(spec, require_round=True)


def test_an_open_link_takes_no_more_than_expected_times_cap_factor(app, make_round, spec, runner, tmp_path) -> None:  # noqa: ANN001
    """expected 10 × 1.1 = 11 ballots; the 12th, from yet another fresh browser, is refused."""
    spec["groups"][1]["expected"] = 10
    make_round(spec)
    for n in range(11):
        assert vote_open(app, f"198.51.100.{n}").status_code == 200, n

    refused = vote_open(app, "198.51.100.200")

    assert refused.status_code == 409
    assert "已达到上限" in refused.get_data(as_text=True)
    assert ballots_in("students") == 11
    # and the scorecard flags the group's participation above 1 (docs/scoring.md, rule 11)
    assert runner.invoke(args=["rounds", "close", "r2012"]).exit_code == 0
    result = runner.invoke(args=["score", "r2012", "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 0, result.output
    with (tmp_path / "s.csv").open(encoding="utf-8-sig") as fh:
        row = next(r for r in csv.DictReader(fh) if r["subject"] == "B01")
    assert "over_participation:students" in row["flags"].split(";")


def test_a_cap_factor_of_the_spec_is_used(app, make_round, spec) -> None:  # noqa: ANN001
    spec["groups"][1]["expected"] = 2
    spec["groups"][1]["cap_factor"] = 2
    make_round(spec)
    assert [vote_open(app, f"198.51.100.{n}").status_code for n in range(5)] == [200, 200, 200, 200, 409]


def test_one_client_with_fresh_cookies_cannot_stuff_an_open_link(app, make_round, spec, clock) -> None:  # noqa: ANN001
    """The attack: one script, a fresh cookie per ballot. It is stopped at the per-address rate,
    far below what it sends."""
    spec["groups"][1]["expected"] = 5000
    spec["groups"][1]["per_address_per_minute"] = 30
    make_round(spec)
    statuses = [vote_open(app, "203.0.113.9").status_code for _ in range(40)]
    assert statuses.count(200) == 30 and statuses[30:] == [429] * 10
    assert ballots_in("students") == 30
    assert vote_open(app, "203.0.113.10").status_code == 200  # another address is not held back


def test_an_on_site_hall_of_hundreds_on_one_network_passes(app, make_round, spec, clock) -> None:  # noqa: ANN001
    """现场测评: 200 students in one hall, one Wi-Fi, one address, all within the same minute."""
    spec["groups"][1]["expected"] = 200
    spec["groups"][1]["on_site"] = True
    make_round(spec)
    statuses = [vote_open(app, "10.0.0.1").status_code for _ in range(200)]
    assert statuses == [200] * 200


# --- the once-per-device mark -------------------------------------------------------------------


def test_the_device_mark_is_opaque_timeless_and_ends_with_the_round(app, make_round, spec) -> None:  # noqa: ANN001
    spec["closes_at"] = "2099-06-15T18:00:00+08:00"
    make_round(spec)
    marks = []
    for address in ("198.51.100.1", "198.51.100.2"):
        response = vote_open(app, address)
        assert response.status_code == 200
        (header,) = [h for h in response.headers.getlist("Set-Cookie") if not h.startswith("session=")]
        marks.append(header)
    assert "session=" not in "".join(response.headers.getlist("Set-Cookie"))
    cookie = SimpleCookie(marks[0])
    (name,) = cookie
    morsel = cookie[name]
    assert marks[0] == marks[1], "the mark is the same in every browser: it carries nothing of the person"
    assert morsel["httponly"] and morsel["secure"] and morsel["samesite"] == "Lax"
    assert morsel["path"] == "/r/r2012/students"
    expires = datetime.strptime(morsel["expires"], "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=timezone.utc)
    assert expires == datetime(2099, 6, 15, 10, 0, tzinfo=timezone.utc)
    assert "." not in morsel.value and len(morsel.value) <= 32  # not a signed, time-stamped session


def test_the_device_mark_is_not_secure_on_plain_http(app, make_round, spec) -> None:  # noqa: ANN001
    app.config["BASE_URL"] = "http://localhost:5000"
    make_round(spec)
    (header,) = [h for h in vote_open(app).headers.getlist("Set-Cookie") if h.startswith("voted-")]
    assert "Secure" not in header and "HttpOnly" in header


# --- guessing codes ---------------------------------------------------------------------------


def test_failed_code_lookups_are_throttled_per_client(app, make_round, issue_codes) -> None:  # noqa: ANN001
    (code,) = issue_codes(make_round(), "staff", 1)
    guesser = app.test_client()
    env = {"REMOTE_ADDR": "203.0.113.66"}
    limit = app.config["CODE_FAILURES_PER_WINDOW"]
    statuses = [guesser.get(f"/b/ZZZZZ-{n:05d}", environ_base=env).status_code for n in range(limit + 5)]
    assert statuses[:limit] == [404] * limit and statuses[limit:] == [429] * 5
    throttled = guesser.get(f"/b/{code}", environ_base=env)
    assert throttled.status_code == 429
    assert "过十分钟再试" in throttled.get_data(as_text=True)
    # another client is not held back
    assert app.test_client().get(f"/b/{code}", environ_base={"REMOTE_ADDR": "203.0.113.67"}).status_code == 200


def test_valid_codes_never_count(app, make_round, issue_codes) -> None:  # noqa: ANN001
    """A campus NAT, or a load test, opens hundreds of good codes from one address."""
    codes = issue_codes(make_round(), "staff", 300)
    phone = app.test_client()
    env = {"REMOTE_ADDR": "10.1.1.1"}
    assert [phone.get(f"/b/{c}", environ_base=env).status_code for c in codes] == [200] * 300
    from survey.extensions import db

    db.session.rollback()
    assert db.session.scalar(sa.text("SELECT count(*) FROM limit_counts WHERE kind = 'code-failure'")) == 0


def test_a_double_tap_after_the_code_is_spent_still_shows_the_receipt(app, make_round, issue_codes) -> None:  # noqa: ANN001
    (code,) = issue_codes(make_round(), "staff", 1)
    phone = app.test_client()
    form = {"confirm_partial": "1", **page_tokens(phone.get(f"/b/{code}").get_data(as_text=True)), "a:B01:service": "satisfied"}
    first, second = phone.post(f"/b/{code}", data=form), phone.post(f"/b/{code}", data=form)
    assert first.status_code == second.status_code == 200
    assert receipt_of(first) == receipt_of(second)


# --- route values no page can have -------------------------------------------------------------


@pytest.mark.parametrize("path", [
    "/r/r20%0012/students", "/r/r2012/stu%00dents", "/b/ABCDE%00FGHJK", "/r/r2012%00/receipts",
    "/r/" + "x" * 300 + "/students", "/b/" + "A" * 300,
])
def test_bad_route_values_answer_404_not_500(app, make_round, path, caplog) -> None:  # noqa: ANN001
    make_round()
    app.config["PROPAGATE_EXCEPTIONS"] = False
    assert app.test_client().get(path).status_code == 404
    assert app.test_client().post(path).status_code in (400, 404)
    assert "Traceback" not in caplog.text
