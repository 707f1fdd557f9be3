"""Nobody, the database's owner included, can link a ballot to the code or the browser that
cast it (docs/anonymity.md, "What is stored").

These tests play the owner: they cast ballots whose codes, addresses and browsers they know,
then read every row of every table (and PostgreSQL's system columns) looking for a way back.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from survey.codes.services import hash_code, normalize_code

from .conftest import page_tokens, receipt_of

ADDRESS = "203.0.113.77"
AGENT = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.49 tracer-5f3a9c"
BALLOT_TABLES = ("ballots", "answers", "comments", "receipts")


def dump(app: Flask) -> dict[str, list[dict]]:
    """Every row of every table, as the database's owner would read them."""
    from survey.extensions import db

    meta = sa.MetaData()
    meta.reflect(bind=db.engine)
    with db.engine.connect() as conn:
        return {name: [dict(r._mapping) for r in conn.execute(sa.select(t))] for name, t in meta.tables.items()}


def cast_with_codes(app: Flask, round_, codes: list[str]) -> dict[str, str]:  # noqa: ANN001
    """Each code from its own phone, in issue order; returns receipt → code (what the owner must not learn)."""
    truth = {}
    for n, code in enumerate(codes):
        phone = app.test_client()
        url = f"/b/{code}"
        env = {"REMOTE_ADDR": ADDRESS}
        page = phone.get(url, headers={"User-Agent": AGENT}, environ_base=env)
        level = ("satisfied", "basic", "dissatisfied")[n % 3]
        response = phone.post(
            url, headers={"User-Agent": AGENT}, environ_base=env,
            data={"confirm_partial": "1", **page_tokens(page.get_data(as_text=True)), "a:B01:service": level,
                  "a:B02:conduct": "unknown", "c:B01": f"意见{n}"},
        )
        assert response.status_code == 200, (n, response.get_data(as_text=True)[-300:], page.status_code)
        truth[receipt_of(response)] = code
        cookie = phone.get_cookie("session")
        truth["cookie:" + str(n)] = cookie.value if cookie else ""
    return truth


def test_no_stored_value_leads_from_a_ballot_to_its_code_or_browser(app, make_round, issue_codes) -> None:  # noqa: ANN001
    """Read while open, then after close: nothing joins a ballot to its code or browser."""
    from survey.rounds.services import close_round, get_round

    round_ = make_round()
    codes = issue_codes(round_, "staff", 24)
    used, unused = codes[:20], codes[20:]
    truth = cast_with_codes(app, round_, used)
    while_open = dump(app)
    assert while_open["ballots"] == [] and while_open["answers"] == [] and while_open["comments"] == []
    assert len(while_open["sealed_ballots"]) == 20
    flat = repr(while_open)
    for n in range(20):
        assert f"意见{n}" not in flat
    close_round(get_round(round_.slug))
    unused_codes_of_other_rounds = set()  # close destroys the round's unused codes
    rows = dump(app)
    assert rows["sealed_ballots"] == [] and len(rows["ballots"]) == 20
    everything = repr(rows)

    # No code in clear, no address, no user agent, no cookie value anywhere.
    for code in codes:
        assert normalize_code(code) not in everything and code not in everything
    assert ADDRESS not in everything and "tracer-5f3a9c" not in everything
    for key, cookie in truth.items():
        if key.startswith("cookie:") and cookie:
            assert cookie not in everything

    # A spent code leaves no row: its hash is nowhere, so no flag, row order or row version
    # of it can be lined up with the ballots.
    stored_hashes = {r["code_hash"] for r in while_open["ballot_codes"]}
    assert stored_hashes == {hash_code(c) for c in unused}
    assert {r["code_hash"] for r in rows["ballot_codes"]} == unused_codes_of_other_rounds
    for code in used:
        assert hash_code(code) not in everything

    # The ballot side shares no value with the code side but the round and group.
    code_values = {v for r in while_open["ballot_codes"] for k, v in r.items() if k not in ("round_id", "group_id")}
    for table in BALLOT_TABLES:
        for row in rows[table]:
            shared = {k for k, v in row.items() if v in code_values and k not in ("round_id", "group_id", "subject_id", "item_id")}
            assert not shared, (table, shared)

    # No time finer than the day on the ballot side.
    from survey.extensions import db

    inspector = sa.inspect(db.engine)
    for table in (*BALLOT_TABLES, "ballot_codes", "sealed_ballots"):
        for column in inspector.get_columns(table):
            assert not isinstance(column["type"], sa.DateTime), (table, column["name"])
    assert {type(r["cast_on"]).__name__ for r in rows["ballots"]} <= {"date"}

    # The receipts table holds exactly the receipts handed out; the ballots hold none.
    assert {r["receipt"] for r in rows["receipts"]} == {k for k in truth if not k.startswith("cookie:")}
    assert set(rows["ballots"][0]) == {"id", "round_id", "group_id", "cast_on"}
    assert set(rows["receipts"][0]) == {"id", "round_id", "receipt"}


def test_ballot_order_in_storage_is_not_the_order_of_casting(app, make_round, issue_codes) -> None:  # noqa: ANN001
    """Codes were used in issue order; if the receipts came back in that order after close, the
    first receipt would belong to the first slip handed out. Close rewrites them shuffled."""
    from survey.extensions import db
    from survey.rounds.services import close_round, get_round

    round_ = make_round()
    codes = issue_codes(round_, "staff", 30)
    truth = cast_with_codes(app, round_, codes)
    close_round(get_round(round_.slug))
    order_cast = [r for r in truth if not r.startswith("cookie:")]
    with db.engine.connect() as conn:
        orders = {
            "by id": list(conn.scalars(sa.text("SELECT receipt FROM receipts ORDER BY id"))),
            "by receipt": list(conn.scalars(sa.text("SELECT receipt FROM receipts ORDER BY receipt"))),
        }
        if db.engine.dialect.name == "sqlite":
            orders["storage order"] = list(conn.scalars(sa.text("SELECT receipt FROM receipts")))
    for name, order in orders.items():
        matches = sum(a == b for a, b in zip(order, order_cast))
        # a random order matches ~1 place in 30; 10 or more happens by chance about 1 in 10^7
        assert matches < 10, f"ballots {name} follow the order of casting"


def test_postgresql_row_versions_do_not_join_ballots_to_codes_or_comments(app, make_round, issue_codes) -> None:  # noqa: ANN001
    """PostgreSQL stamps each row with the transaction that wrote it (``xmin``). While open a
    sealed row carries its ballot's stamp (and so does its receipt), but holds nothing
    readable; a spent code is deleted, not flagged. The opened ballots and comments carry the
    close's stamps, none of a casting transaction."""
    import pytest

    from survey.extensions import db
    from survey.rounds.services import close_round, get_round

    if db.engine.dialect.name != "postgresql":
        pytest.skip("xmin is a PostgreSQL system column")
    round_ = make_round()
    codes = issue_codes(round_, "staff", 12)
    cast_with_codes(app, round_, codes[:8])
    with db.engine.connect() as conn:
        sealed_stamps = set(conn.scalars(sa.text("SELECT xmin::text FROM sealed_ballots")))
        code_stamps = set(conn.scalars(sa.text("SELECT xmin::text FROM ballot_codes")))
        assert len(sealed_stamps) == 8
        assert not sealed_stamps & code_stamps
    close_round(get_round(round_.slug))
    with db.engine.connect() as conn:
        opened = set().union(*(set(conn.scalars(sa.text(f"SELECT xmin::text FROM {t}")))
                               for t in ("ballots", "answers", "comments", "receipts")))
        assert len(opened) <= 2 and not opened & sealed_stamps


def test_access_log_never_shows_a_code(app, make_round, issue_codes, caplog) -> None:  # noqa: ANN001
    """The development server logs the client's address beside the path: codes are blanked."""
    import logging

    from survey.web import RedactBallotCodes

    for request_line in ("POST /b/ABCDE-FGHJK HTTP/1.1", "GET /b/?code=abcde-fghjk HTTP/1.1",
                         "GET /b/?lang=zh&code=ABCDE%20FGHJK HTTP/1.1"):
        record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, '%s - - "%s" %s -',
                                   (ADDRESS, request_line, "200"), None)
        RedactBallotCodes().filter(record)
        logged = record.getMessage()
        assert "abcde" not in logged.lower() and "fghjk" not in logged.lower(), logged
        assert ADDRESS in logged and "/b/" in logged
