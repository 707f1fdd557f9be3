"""The sealed ballot box: sealing, padding, opening at close, what close does with a box that
does not open, and a close interrupted half-way."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from nacl.public import PrivateKey

from survey.ballotbox.keyfile import (
    KeyFileError, private_key_document, public_key_document, read_private_key, read_public_key,
)
from survey.ballotbox.keys import WrongKey, fingerprint
from survey.ballotbox.seal import BallotContent, Unreadable, box_size, seal, unseal
from survey.extensions import db
from survey.models import Ballot, Comment, Round, SealedBallot

from .conftest import ballot_count, receipt_of, stored_answers, stored_comments


# --- sealing, pure ------------------------------------------------------------------------


def test_a_sealed_ballot_opens_with_its_key_only() -> None:
    key, other = PrivateKey.generate(), PrivateKey.generate()
    content = BallotContent(((1, 2, "satisfied"), (1, 3, "unknown")), ((1, "食堂饭菜太贵"),))
    box = seal(bytes(key.public_key), content, 1024)

    assert unseal(key, box) == content
    with pytest.raises(Unreadable):
        unseal(other, box)
    altered = bytearray(box)
    altered[-1] ^= 1
    with pytest.raises(Unreadable):
        unseal(key, bytes(altered))


def test_every_ordinary_ballot_has_the_same_size() -> None:
    """A full questionnaire of 30 subjects × 5 items plus one 1,000-character Chinese comment
    fits the floor; an empty ballot is padded to it too: the size tells nothing of either."""
    key = PrivateKey.generate()
    floor = box_size(150, level_length=12, id_digits=4)
    full = BallotContent(tuple((1000 + s, 2000 + i, "dissatisfied") for s in range(30) for i in range(5)),
                         ((1000, "很" * 1000),))
    short = BallotContent(((1, 1, "basic"),))
    assert len(seal(bytes(key.public_key), full, floor)) == len(seal(bytes(key.public_key), short, floor)) == floor
    several = BallotContent(short.answers, tuple((s, "长" * 1000) for s in range(5)))
    assert len(seal(bytes(key.public_key), several, floor)) == 2 * floor or len(
        seal(bytes(key.public_key), several, floor)) == 4 * floor


def test_key_files_say_what_is_wrong_with_them() -> None:
    key = PrivateKey.generate()
    private = private_key_document(bytes(key), "r2012")
    public = public_key_document(bytes(key.public_key), "r2012")
    import json

    assert read_public_key(json.dumps(public)) == bytes(key.public_key)
    assert read_private_key(json.dumps(private)) == bytes(key)
    assert public["fingerprint"] == fingerprint(bytes(key.public_key))
    with pytest.raises(KeyFileError, match="PRIVATE"):
        read_public_key(json.dumps(private))
    with pytest.raises(KeyFileError, match="no private key"):
        read_private_key(json.dumps(public))
    tampered = dict(private, public_key=bytes(PrivateKey.generate().public_key).hex())
    with pytest.raises(KeyFileError, match="altered"):
        read_private_key(json.dumps(tampered))
    with pytest.raises(KeyFileError):
        read_private_key("hello")


# --- through the service -------------------------------------------------------------------


def test_while_open_only_sealed_rows_are_stored_and_close_opens_them(make_round, issue_codes, submit, close) -> None:  # noqa: ANN001
    round_ = make_round()
    code = issue_codes(round_, "staff", 1)[0]
    response = submit(f"/b/{code}", {"a:B01:service": "satisfied", "c:B01": "灯光太暗"})
    assert receipt_of(response)

    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 0
    (box,) = db.session.scalars(sa.select(SealedBallot.box))
    assert "灯光太暗".encode() not in box

    closed = close(round_)
    assert closed.status == "closed" and closed.closed_at is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SealedBallot)) == 0
    assert stored_answers() == {("B01", "service", "satisfied")}
    assert stored_comments() == [("B01", "staff", "灯光太暗")]


def test_a_box_that_does_not_open_is_counted_not_dropped_silently(app, make_round, submit, runner) -> None:  # noqa: ANN001
    round_ = make_round()
    for level in ("satisfied", "basic", "dissatisfied"):
        assert receipt_of(submit("/r/r2012/students", {"a:B01:service": level}, with_client=app.test_client()))
    db.session.rollback()
    first = db.session.scalars(sa.select(SealedBallot).limit(1)).one()
    first.box = first.box[:-1] + bytes([first.box[-1] ^ 1])
    db.session.commit()

    result = runner.invoke(args=["rounds", "close", "r2012"])

    assert result.exit_code == 0, result.output
    assert "开箱计票 2 张选票" in result.output and "1 张密封选票无法打开" in result.output
    assert ballot_count() == 2
    assert db.session.get(Round, round_.id).box_unreadable == 1
    status = runner.invoke(args=["rounds", "status", "r2012"]).output
    assert "1 sealed ballots did not open" in status


def test_a_close_interrupted_half_way_is_finished_by_closing_again(app, make_round, submit, monkeypatch, runner) -> None:  # noqa: ANN001
    import survey.ballotbox.opening as opening

    round_ = make_round()
    for level in ("satisfied", "basic", "dissatisfied", "unknown"):
        assert receipt_of(submit("/r/r2012/students", {"a:B01:conduct": level}, with_client=app.test_client()))
    monkeypatch.setattr(opening, "CHUNK", 1)
    calls = {"n": 0}
    real = opening._open_chunk

    def crash_after_two(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        calls["n"] += 1
        if calls["n"] == 3:
            raise ConnectionError("the server went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(opening, "_open_chunk", crash_after_two)
    from survey.rounds.services import close_round, get_round

    with pytest.raises(ConnectionError):
        close_round(get_round("r2012"))
    db.session.rollback()
    assert get_round("r2012").status == "closing"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ballot)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SealedBallot)) == 2

    monkeypatch.setattr(opening, "_open_chunk", real)
    result = runner.invoke(args=["rounds", "close", "r2012"])
    assert result.exit_code == 0, result.output
    assert get_round("r2012").status == "closed"
    assert ballot_count() == 4
    assert {level for _, _, level in stored_answers()} == {"satisfied", "basic", "dissatisfied", "unknown"}


def test_a_closing_round_takes_no_ballot(make_round, client, submit) -> None:  # noqa: ANN001
    from survey.database import unit_of_work
    from survey.rounds.lifecycle import transition
    from survey.rounds.services import get_round

    make_round()
    page = client.get("/r/r2012/students")
    with unit_of_work():
        transition(get_round("r2012"), "close")
    from .conftest import page_tokens

    response = client.post("/r/r2012/students", data={"confirm_partial": "1", **page_tokens(page.get_data(as_text=True)),
                                                      "a:B01:service": "basic"})
    assert response.status_code == 403
    assert "结束" in response.get_data(as_text=True)
    assert ballot_count() == 0


def test_close_with_another_server_secret_refuses_and_changes_nothing(app, make_round, submit) -> None:  # noqa: ANN001
    from survey.rounds.services import close_round, get_round

    make_round()
    assert receipt_of(submit("/r/r2012/students", {"a:B01:service": "basic"}))
    app.config["BALLOT_BOX_KEY"] = "not-the-secret-the-round-was-sealed-under"
    with pytest.raises(WrongKey) as refused:
        close_round(get_round("r2012"))
    assert "\n" not in str(refused.value)
    db.session.rollback()
    assert get_round("r2012").status == "open"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SealedBallot)) == 1


def test_a_teller_round_needs_the_tellers_key_to_close(make_round, spec, submit) -> None:  # noqa: ANN001
    from survey.database import unit_of_work
    from survey.rounds.services import close_round, get_round, import_round, move_round

    key = PrivateKey.generate()
    with unit_of_work():
        round_ = import_round(spec)
        round_.box_custody = "teller"
        with pytest.raises(WrongKey):
            move_round(round_, "open")
    with unit_of_work():
        round_ = get_round("r2012")
        round_.box_custody = "teller"
        move_round(round_, "open", public_key=bytes(key.public_key))
    assert receipt_of(submit("/r/r2012/students", {"a:B01:service": "satisfied"}))

    for wrong in (None, bytes(PrivateKey.generate())):
        with pytest.raises(WrongKey):
            close_round(get_round("r2012"), wrong)
        db.session.rollback()
        assert get_round("r2012").status == "open"
    closed = close_round(get_round("r2012"), bytes(key))
    assert closed.ballots == 1
    assert stored_answers() == {("B01", "service", "satisfied")}


def test_a_large_close_from_the_console_runs_in_the_background(app, make_round, submit, monkeypatch) -> None:  # noqa: ANN001
    import survey.rounds.closing as closing
    from survey.rounds.services import get_round

    make_round()
    for level in ("satisfied", "basic", "dissatisfied"):
        assert receipt_of(submit("/r/r2012/students", {"a:B01:service": level}, with_client=app.test_client()))
    db.session.rollback()
    started = []
    real = closing.close_in_background

    def keep(round_, key):  # noqa: ANN001, ANN202
        started.append(real(round_, key))
        return started[-1]

    monkeypatch.setattr(closing, "SYNC_LIMIT", 1)
    import survey.rounds.console as console

    monkeypatch.setattr(console, "SYNC_LIMIT", 1)
    monkeypatch.setattr(console, "close_in_background", keep)
    from .console_helpers import console_token, make_user, sign_in

    make_user("zuzhi", "organizer")
    client = app.test_client()
    sign_in(client, "zuzhi")
    token = console_token(client, "/console/rounds/r2012/close")
    response = client.post("/console/rounds/r2012/close", data={"csrf_token": token})
    assert response.status_code == 303
    started[0].join(60)
    db.session.rollback()
    round_ = get_round("r2012")
    assert round_.status == "closed"
    assert (round_.close_done, round_.close_total) == (3, 3)
    assert ballot_count() == 3
