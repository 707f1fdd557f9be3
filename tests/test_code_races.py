"""A ballot code is single-use under any race: two phones sending one code at the same moment
store one ballot."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from .conftest import ballot_count, page_tokens, stored_answers


def test_two_phones_submitting_one_code_at_once_store_one_ballot(app, make_round, issue_codes) -> None:  # noqa: ANN001
    from survey.extensions import db
    from survey.models import Answer, Ballot

    round_ = make_round()
    (code,) = issue_codes(round_, "staff", 1)
    phones = [app.test_client() for _ in range(4)]
    forms = [page_tokens(p.get(f"/b/{code}").get_data(as_text=True)) for p in phones]
    start = threading.Barrier(len(phones))
    statuses: list[int] = []

    def send(phone, tokens) -> None:  # noqa: ANN001
        start.wait()
        response = phone.post(f"/b/{code}", data={"confirm_partial": "1", **tokens, "a:B01:service": "satisfied"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send, args=pair) for pair in zip(phones, forms)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(statuses) == [200, 409, 409, 409]
    db.session.expire_all()
    assert ballot_count() == 1
    assert len(stored_answers()) == 1


def test_a_double_tap_stores_the_ballot_once_and_shows_the_same_receipt(app, make_round, issue_codes) -> None:  # noqa: ANN001
    """The same page posted twice at once (a double tap): one ballot, both answers a receipt."""
    from survey.extensions import db
    from survey.models import Ballot

    round_ = make_round()
    (code,) = issue_codes(round_, "staff", 1)
    phone = app.test_client()
    tokens = page_tokens(phone.get(f"/b/{code}").get_data(as_text=True))
    start = threading.Barrier(2)
    bodies: list[tuple[int, str]] = []

    def tap() -> None:
        start.wait()
        response = phone.post(f"/b/{code}", data={"confirm_partial": "1", **tokens, "a:B01:service": "basic"})
        bodies.append((response.status_code, response.get_data(as_text=True)))

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert [status for status, _ in bodies] == [200, 200]
    assert all('id="receipt"' in body for _, body in bodies)
    db.session.expire_all()
    assert ballot_count() == 1
