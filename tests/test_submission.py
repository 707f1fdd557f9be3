"""Submitting a ballot: what is stored, once and only once, and what is refused with nothing stored."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from survey.extensions import db
from survey.models import Ballot, Comment, Group

from .conftest import ballot_count, page_tokens, receipt_of, stored_answers, stored_comments

RECEIPT_FORMAT = re.compile(r"[2-9A-Z]{4}-[2-9A-Z]{4}")


@pytest.fixture
def round_(make_round, spec):  # noqa: ANN001, ANN201
    return make_round(spec)


@pytest.fixture
def code(round_, issue_codes) -> str:  # noqa: ANN001
    return issue_codes(round_, "staff", 1)[0]


def ballots() -> int:
    return ballot_count()


def nothing_stored() -> bool:
    return ballots() == 0 and stored_answers() == set() and stored_comments() == []


def text_of(response) -> str:  # noqa: ANN001
    return response.get_data(as_text=True)


def has_chinese(text: str) -> bool:
    return re.search(r"[\u4e00-\u9fff]{4,}", text) is not None


def open_page(client, url: str) -> dict[str, str]:  # noqa: ANN001
    """GET the questionnaire as a phone would; its hidden tokens."""
    page = client.get(url)
    assert page.status_code == 200, text_of(page)
    return page_tokens(text_of(page))


# --- a good ballot -----------------------------------------------------------------------


def test_a_good_ballot_answers_with_its_receipt(submit, code) -> None:  # noqa: ANN001
    response = submit(f"/b/{code}", {"a:B01:service": "satisfied"})

    assert response.status_code == 200
    assert 'id="receipt"' in text_of(response)
    assert RECEIPT_FORMAT.fullmatch(receipt_of(response))
    assert ballots() == 1


def test_the_answers_are_stored_exactly(submit, code, round_, close) -> None:  # noqa: ANN001
    submit(f"/b/{code}", {
        "a:B01:service": "satisfied",
        "a:B01:conduct": "basic",
        "a:B02:service": "dissatisfied",
        # B02 conduct left unanswered: no row for it
    })

    assert stored_answers() == {
        ("B01", "service", "satisfied"),
        ("B01", "conduct", "basic"),
        ("B02", "service", "dissatisfied"),
    }
    close(round_)
    assert stored_answers() == {
        ("B01", "service", "satisfied"),
        ("B01", "conduct", "basic"),
        ("B02", "service", "dissatisfied"),
    }
    (ballot,) = db.session.scalars(select(Ballot))
    assert db.session.get(Group, ballot.group_id).key == "staff"
    assert {a.ballot_id for a in ballot.answers} == {ballot.id}


def test_postgresql_connections_prepare_no_statements(app) -> None:  # noqa: ANN001
    """psycopg drops its prepared statements at every ROLLBACK, which ends every request:
    preparing them only cost a PREPARE and a DEALLOCATE ALL per request."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("psycopg's prepared statements")
    with db.engine.connect() as conn:
        assert conn.connection.driver_connection.prepare_threshold is None


def test_dont_know_is_stored_as_unknown(submit, round_) -> None:  # noqa: ANN001
    response = submit("/r/r2012/students", {"a:B01:service": "unknown", "a:B01:conduct": "unknown"})

    assert response.status_code == 200
    assert stored_answers() == {("B01", "service", "unknown"), ("B01", "conduct", "unknown")}


def test_a_comment_is_stored_apart_from_the_ballot(submit, code, round_, close) -> None:  # noqa: ANN001
    submit(f"/b/{code}", {
        "a:B01:service": "basic",
        "c:B01": "  希望食堂延长开放时间。\n谢谢！ ",
        "c:B02": "   ",  # only spaces: no comment
    })

    assert stored_comments() == [("B01", "staff", "希望食堂延长开放时间。\n谢谢！")]
    close(round_)
    assert stored_comments() == [("B01", "staff", "希望食堂延长开放时间。\n谢谢！")]
    columns = {c["name"] for c in sa.inspect(db.engine).get_columns("comments")}
    assert columns == {"id", "round_id", "subject_id", "group_id", "text"}
    (ballot_id,) = db.session.scalars(select(Ballot.id))
    assert db.session.scalar(select(Comment.id)) != ballot_id


# --- once and only once ------------------------------------------------------------------


def test_a_code_takes_one_ballot(client, code) -> None:  # noqa: ANN001
    url = f"/b/{code}"
    first_page, second_page = open_page(client, url), open_page(client, url)  # two tabs
    assert client.post(url, data={"confirm_partial": "1", **first_page, "a:B01:service": "satisfied"}).status_code == 200

    again = client.post(url, data={"confirm_partial": "1", **second_page, "a:B01:service": "dissatisfied"})

    assert 400 <= again.status_code < 500
    assert "已经使用过" in text_of(again)
    assert ballots() == 1
    assert stored_answers() == {("B01", "service", "satisfied")}


def test_a_code_used_from_another_phone_is_refused(client, app, code) -> None:  # noqa: ANN001
    url = f"/b/{code}"
    other = app.test_client()
    mine, theirs = open_page(client, url), open_page(other, url)
    assert client.post(url, data={"confirm_partial": "1", **mine, "a:B01:service": "satisfied"}).status_code == 200

    response = other.post(url, data={"confirm_partial": "1", **theirs, "a:B01:service": "basic"})

    assert 400 <= response.status_code < 500
    assert "已经使用过" in text_of(response)
    assert ballots() == 1


@pytest.mark.parametrize("where", ["code", "open link"])
def test_a_retried_post_stores_one_ballot_and_shows_the_same_receipt(client, code, where) -> None:  # noqa: ANN001
    url = f"/b/{code}" if where == "code" else "/r/r2012/students"
    form = {"confirm_partial": "1", **open_page(client, url), "a:B01:service": "satisfied", "c:B01": "很好"}

    first = client.post(url, data=form)
    second = client.post(url, data=form)

    assert first.status_code == 200
    assert second.status_code == 200
    assert receipt_of(first) is not None
    assert receipt_of(second) == receipt_of(first)
    assert ballots() == 1
    assert stored_comments() == [("B01", "staff" if where == "code" else "students", "很好")]


def test_an_open_group_takes_one_ballot_per_browser(client, round_) -> None:  # noqa: ANN001
    url = "/r/r2012/students"
    first_page, second_page = open_page(client, url), open_page(client, url)
    assert client.post(url, data={"confirm_partial": "1", **first_page, "a:B01:service": "satisfied"}).status_code == 200

    again = client.post(url, data={"confirm_partial": "1", **second_page, "a:B01:service": "dissatisfied"})

    assert again.status_code == 409
    assert "每台设备只能提交一次" in text_of(again)
    assert ballots() == 1
    later = client.get(url)
    assert "您已在本设备上提交过" in text_of(later)
    assert "a:B01:service" not in text_of(later)


def test_an_open_group_takes_a_ballot_from_another_browser(client, app, round_, submit) -> None:  # noqa: ANN001
    assert submit("/r/r2012/students", {"a:B01:service": "satisfied"}).status_code == 200

    other = submit("/r/r2012/students", {"a:B01:service": "basic"}, with_client=app.test_client())

    assert other.status_code == 200
    assert ballots() == 2


def test_once_per_device_false_lets_one_browser_answer_twice(client, make_round, spec, submit) -> None:  # noqa: ANN001
    spec["groups"][1]["once_per_device"] = False
    make_round(spec)

    first = submit("/r/r2012/students", {"a:B01:service": "satisfied"})
    second = submit("/r/r2012/students", {"a:B01:service": "basic"})

    assert first.status_code == second.status_code == 200
    assert receipt_of(first) != receipt_of(second)
    assert ballots() == 2


def test_a_page_sent_twice_to_a_link_without_a_device_limit_stores_one_ballot(client, make_round, spec) -> None:  # noqa: ANN001
    """Without the once-per-device mark nothing stops the second copy before it is stored: the
    receipt's uniqueness does, and the second copy is shown the same receipt."""
    spec["groups"][1]["once_per_device"] = False
    make_round(spec)
    form = {"confirm_partial": "1", **open_page(client, "/r/r2012/students"), "a:B01:service": "satisfied"}

    first = client.post("/r/r2012/students", data=form)
    second = client.post("/r/r2012/students", data=form)

    assert first.status_code == second.status_code == 200
    assert receipt_of(second) == receipt_of(first) is not None
    assert ballots() == 1


def test_the_browser_limit_of_one_round_does_not_block_another(client, make_round, spec, submit) -> None:  # noqa: ANN001
    make_round(spec)
    make_round(dict(spec, slug="r2013"))

    assert submit("/r/r2012/students", {"a:B01:service": "satisfied"}).status_code == 200
    assert submit("/r/r2013/students", {"a:B01:service": "satisfied"}).status_code == 200
    assert ballots() == 2


# --- malformed forms ---------------------------------------------------------------------

MALFORMED = {
    "unknown subject": {"a:B99:service": "satisfied"},
    "unknown item": {"a:B01:speed": "satisfied"},
    "unknown level": {"a:B01:service": "great"},
    "subject of another group": {"a:B02:service": "satisfied"},
    "comment on an unknown subject": {"c:B99": "很好"},
    "comment on a subject of another group": {"c:B02": "很好"},
}


@pytest.mark.parametrize("bad", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_field_the_questionnaire_does_not_have_is_refused(client, round_, bad) -> None:  # noqa: ANN001
    url = "/r/r2012/students"  # rates B01 only
    form = {"confirm_partial": "1", **open_page(client, url), "a:B01:conduct": "satisfied", **bad}

    response = client.post(url, data=form)

    assert response.status_code == 400
    assert has_chinese(text_of(response))
    assert nothing_stored()


@pytest.mark.parametrize("field", ["c:B01", "a:B01:service"])
def test_a_nul_character_is_refused(client, round_, field) -> None:  # noqa: ANN001
    """No phone types one; PostgreSQL text cannot store one."""
    url = "/r/r2012/students"
    form = {"confirm_partial": "1", **open_page(client, url), "a:B01:service": "satisfied", "c:B01": "很好"}
    form[field] += "\x00"

    response = client.post(url, data=form)

    assert response.status_code == 400
    assert has_chinese(text_of(response))
    assert nothing_stored()


def test_a_malformed_form_leaves_the_code_unused(client, code) -> None:  # noqa: ANN001
    url = f"/b/{code}"
    response = client.post(url, data={"confirm_partial": "1", **open_page(client, url), "a:B01:service": "excellent"})
    assert response.status_code == 400

    retry = client.post(url, data={"confirm_partial": "1", **open_page(client, url), "a:B01:service": "satisfied"})

    assert retry.status_code == 200
    assert ballots() == 1


def test_a_field_sent_twice_is_refused(client, round_) -> None:  # noqa: ANN001
    url = "/r/r2012/students"
    form = MultiDict([*open_page(client, url).items(), ("a:B01:service", "satisfied"), ("a:B01:service", "basic")])

    response = client.post(url, data=form)

    assert response.status_code == 400
    assert "不止一次" in text_of(response)
    assert nothing_stored()


def test_a_missing_csrf_token_is_refused_in_chinese(client, code) -> None:  # noqa: ANN001
    url = f"/b/{code}"
    tokens = open_page(client, url)

    response = client.post(url, data={"confirm_partial": "1", "ticket": tokens["ticket"], "a:B01:service": "satisfied"})

    assert response.status_code == 400
    assert "页面已过期" in text_of(response)
    assert nothing_stored()
    assert client.get(url).status_code == 200  # the code is still good


def test_a_csrf_token_of_another_browser_is_refused(client, app, round_) -> None:  # noqa: ANN001
    url = "/r/r2012/students"
    theirs = open_page(app.test_client(), url)
    open_page(client, url)

    response = client.post(url, data={"confirm_partial": "1", **theirs, "a:B01:service": "satisfied"})

    assert response.status_code == 400
    assert nothing_stored()


def test_a_forged_ticket_is_refused(client, round_) -> None:  # noqa: ANN001
    url = "/r/r2012/students"
    tokens = open_page(client, url)

    response = client.post(url, data={"confirm_partial": "1", **tokens, "ticket": "AAAA-BBBB", "a:B01:service": "satisfied"})

    assert response.status_code == 400
    assert has_chinese(text_of(response))
    assert nothing_stored()


# --- mistakes the respondent corrects ----------------------------------------------------


def test_a_comment_over_1000_characters_is_sent_back_with_the_answers_kept(client, code) -> None:  # noqa: ANN001
    url = f"/b/{code}"
    long_comment = "意" * 1001

    response = client.post(url, data={
        **open_page(client, url), "a:B01:service": "basic", "a:B02:conduct": "unknown", "c:B01": long_comment,
    })

    assert 400 <= response.status_code < 500
    html = text_of(response)
    assert "意见建议最多1000字" in html
    assert 'name="a:B01:service" value="basic" checked' in html
    assert 'name="a:B02:conduct" value="unknown" checked' in html
    assert html.count(" checked") == 2
    assert long_comment in html  # the text is not lost
    assert nothing_stored()
    fixed = client.post(url, data={"confirm_partial": "1", **page_tokens(html), "a:B01:service": "basic", "c:B01": long_comment[:1000]})
    assert fixed.status_code == 200


def test_a_comment_of_1000_characters_is_stored_whole(client, submit, code) -> None:  # noqa: ANN001
    comment = "建议" * 500

    response = submit(f"/b/{code}", {"a:B01:service": "satisfied", "c:B01": comment})

    assert response.status_code == 200
    assert stored_comments() == [("B01", "staff", comment)]


def test_an_empty_ballot_is_sent_back(client, code) -> None:  # noqa: ANN001
    url = f"/b/{code}"

    response = client.post(url, data={"confirm_partial": "1", **open_page(client, url), "c:B01": "只写意见，不打分"})

    assert 400 <= response.status_code < 500
    assert "您还没有作出任何评价" in text_of(response)
    assert nothing_stored()
    assert client.get(url).status_code == 200  # the code is still good


# --- the round closes while the page is open ---------------------------------------------


@pytest.mark.parametrize("where", ["code", "open link"])
def test_a_ballot_sent_after_the_round_closed_is_refused(client, runner, code, where) -> None:  # noqa: ANN001
    url = f"/b/{code}" if where == "code" else "/r/r2012/students"
    tokens = open_page(client, url)
    assert runner.invoke(args=["rounds", "close", "r2012"]).exit_code == 0

    response = client.post(url, data={"confirm_partial": "1", **tokens, "a:B01:service": "satisfied"})

    assert 400 <= response.status_code < 500
    assert has_chinese(text_of(response))
    assert nothing_stored()
