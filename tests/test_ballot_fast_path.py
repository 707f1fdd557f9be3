"""The ballot path's shortcuts change nothing a phone can see: the cached page is the template's
output byte for byte, a submission checked without the form is checked the same way, CSRF
still holds, and an edited round is never served from the cache."""

from __future__ import annotations

import pytest
from flask import g, render_template
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from survey.database import unit_of_work
from survey.extensions import db
from survey.models import Ballot, Group, Round, Subject
from survey.respond.forms import Questionnaire, QuestionnaireForm, make_ticket
from survey.rounds.services import round_spec

from .conftest import ballot_count, page_tokens, receipt_of


@pytest.fixture
def round_(make_round, spec):  # noqa: ANN001, ANN201
    return make_round(spec)


def full_render(app, round_id: int, group_key: str, csrf: str, ticket: str) -> str:  # noqa: ANN001
    """The questionnaire as the template renders it, every part of it, for these two values."""
    with app.test_request_context("/"):
        g.csrf_token = csrf  # what csrf_token() returns for this request
        round_ = db.session.get(Round, round_id)
        group = round_.group(group_key)
        spec = round_spec(round_)
        shape = Questionnaire.build(spec, spec.group(group_key))
        form = shape.form_class(formdata=None)
        form.ticket.data = ticket
        return render_template("respond/questionnaire.html", round=round_, group=group, q=shape, form=form)


@pytest.mark.parametrize("where", ["code", "open link"])
def test_the_cached_page_is_the_full_render_byte_for_byte(app, client, round_, issue_codes, where) -> None:  # noqa: ANN001
    url = f"/b/{issue_codes(round_, 'staff', 1)[0]}" if where == "code" else "/r/r2012/students"
    group = "staff" if where == "code" else "students"
    round_id = round_.id

    for _ in range(3):  # the first request fills the cache, the others are served from it
        page = client.get(url)
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        tokens = page_tokens(html)

        assert html == full_render(app, round_id, group, tokens["csrf_token"], tokens["ticket"])


def test_the_receipt_page_is_the_full_render(app, client, round_) -> None:  # noqa: ANN001
    url = "/r/r2012/students"
    for answer in ("satisfied", "basic"):
        other = app.test_client()
        response = other.post(url, data={"confirm_partial": "1", **page_tokens(other.get(url).get_data(as_text=True)), "a:B01:service": answer})
        receipt = receipt_of(response)
        with app.test_request_context("/"):
            expected = render_template("respond/receipt.html", round=db.session.get(Round, round_.id),
                                       receipt=receipt, repeated=False)
        assert response.get_data(as_text=True) == expected


@pytest.fixture
def no_form(monkeypatch):  # noqa: ANN001, ANN201
    """Fail the test if the WTForms form is asked to validate: the submission must take the
    fast path."""

    def refuse(self, extra_validators=None):  # noqa: ANN001, ANN202
        raise AssertionError("the form validated a submission that the fast path should take")

    monkeypatch.setattr(QuestionnaireForm, "validate", refuse)


@pytest.mark.parametrize("where", ["code", "open link"])
def test_a_good_ballot_takes_the_fast_path(client, round_, issue_codes, no_form, where) -> None:  # noqa: ANN001
    url = f"/b/{issue_codes(round_, 'staff', 1)[0]}" if where == "code" else "/r/r2012/students"
    tokens = page_tokens(client.get(url).get_data(as_text=True))

    response = client.post(url, data={"confirm_partial": "1", **tokens, "a:B01:service": "satisfied", "c:B01": " 很好 "})

    assert response.status_code == 200
    assert receipt_of(response)


@pytest.mark.parametrize("where", ["code", "open link"])
def test_the_fast_path_refuses_a_post_without_its_csrf_token(client, round_, issue_codes, no_form, where) -> None:  # noqa: ANN001
    url = f"/b/{issue_codes(round_, 'staff', 1)[0]}" if where == "code" else "/r/r2012/students"
    tokens = page_tokens(client.get(url).get_data(as_text=True))

    response = client.post(url, data={"confirm_partial": "1", "ticket": tokens["ticket"], "a:B01:service": "satisfied"})
    token = tokens["csrf_token"]
    # a character in the middle changed: every one of its bits counts (the last characters of
    # base64 may carry unused bits, so changing them may leave the token valid)
    forged = token[:5] + ("A" if token[5] != "A" else "B") + token[6:]
    wrong = client.post(url, data={"confirm_partial": "1", "csrf_token": forged, "ticket": tokens["ticket"], "a:B01:service": "satisfied"})

    assert response.status_code == wrong.status_code == 400
    assert "页面已过期" in response.get_data(as_text=True)
    db.session.rollback()
    assert ballot_count() == 0


def test_an_edited_round_is_never_served_from_the_cache(client, make_round, spec) -> None:  # noqa: ANN001
    round_ = make_round(spec)
    before = round_.spec_version
    assert "计算机学院党总支" in client.get("/r/r2012/students").get_data(as_text=True)

    with unit_of_work():  # what editing the round's definition does: a new spec stored
        edited = dict(round_.spec)
        edited["subjects"] = [dict(s, name="信息学院党总支" if s["code"] == "B01" else s["name"])
                              for s in edited["subjects"]]
        round_.spec = edited
        db.session.scalar(select(Subject).where(Subject.round_id == round_.id, Subject.code == "B01")).name = "信息学院党总支"

    page = client.get("/r/r2012/students").get_data(as_text=True)
    assert round_.spec_version != before
    assert "信息学院党总支" in page
    assert "计算机学院党总支" not in page


def test_a_changed_group_or_subject_renews_the_spec_version(round_) -> None:  # noqa: ANN001
    versions = [round_.spec_version]
    with unit_of_work():
        db.session.scalar(select(Group).where(Group.round_id == round_.id, Group.key == "staff")).name = "全体教职工"
    versions.append(round_.spec_version)
    with unit_of_work():
        db.session.delete(db.session.scalar(select(Subject).where(Subject.round_id == round_.id, Subject.code == "B02")))
    versions.append(round_.spec_version)

    assert len(set(versions)) == 3


SUBMISSIONS = {
    "one answer": [("a:B01:service", "satisfied")],
    "every answer and comments": [("a:B01:service", "satisfied"), ("a:B01:conduct", "unknown"),
                                  ("c:B01", "  很好\n ")],
    "empty answers and comments as a browser sends them": [("a:B01:service", ""), ("a:B01:conduct", "basic"),
                                                           ("c:B01", "")],
    "a comment of blanks only": [("a:B01:service", "basic"), ("c:B01", " " * 1200)],
    "a comment of 1000 characters": [("a:B01:service", "basic"), ("c:B01", "意" * 1000)],
    "a comment of 1001 characters": [("a:B01:service", "basic"), ("c:B01", "意" * 1001)],
    "no answer": [("c:B01", "很好")],
    "only empty answers": [("a:B01:service", "")],
    "an unknown level": [("a:B01:service", "great")],
    "an unknown field": [("a:B02:service", "satisfied")],
    "an unknown comment": [("c:B02", "很好")],
    "a field twice": [("a:B01:service", "satisfied"), ("a:B01:service", "satisfied")],
    "a NUL": [("a:B01:service", "satisfied"), ("c:B01", "a\x00")],
    "a field the form ignores": [("a:B01:service", "satisfied"), ("submit", "提交")],
    "that field twice": [("a:B01:service", "satisfied"), ("submit", "1"), ("submit", "2")],
    "no ticket": [("a:B01:service", "satisfied"), ("ticket", None)],
    "a forged ticket": [("a:B01:service", "satisfied"), ("ticket", "AAAA-BBBB")],
    "two tickets": [("a:B01:service", "satisfied"), ("ticket", "+")],
}


@pytest.mark.parametrize("fields", SUBMISSIONS.values(), ids=SUBMISSIONS.keys())
def test_the_quick_check_agrees_with_the_form(app, round_, fields) -> None:  # noqa: ANN001
    """``Questionnaire.clean`` takes exactly the submissions the form finds valid, with the
    same values; anything else goes to the form."""
    spec = round_spec(round_)
    shape = Questionnaire.build(spec, spec.group("students"))
    with app.test_request_context("/"):
        ticket = make_ticket("K7QM-4XPA")
    data = MultiDict([("ticket", ticket)])
    for name, value in fields:
        if name == "ticket":
            data.pop("ticket")
            if value == "+":
                data.setlist("ticket", [ticket, ticket])
            elif value is not None:
                data.add("ticket", value)
        else:
            data.add(name, value)

    with app.test_request_context("/r/r2012/students", method="POST", data=data):
        app.config["WTF_CSRF_ENABLED"] = False
        try:
            form = shape.form_class()
            valid = form.validate()
            expected = (form.answers(), form.comments(), form.receipt()) if valid and not form.malformed else None
            assert shape.clean(data) == expected
        finally:
            app.config["WTF_CSRF_ENABLED"] = True
