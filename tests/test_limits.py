"""The limits hold for the whole installation: two app instances on one database (two gunicorn
workers, or two app servers) share every count, on SQLite and on PostgreSQL.

Every test here stops the service's clock (``clock``): what a window lets through then depends
on the test's steps, never on how fast the machine runs them.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa
from flask import Flask

from .conftest import page_tokens
from .console_helpers import console_token, make_user, sign_in

NAT = "10.20.30.40"
URL = "/r/r2012/students"
#: one answer, and the confirmation that the rest is left unanswered on purpose
ANSWERS = {"a:B01:service": "satisfied", "confirm_partial": "1"}


def vote(app: Flask, address: str = NAT, *, environ: dict[str, str] | None = None, url: str = URL):  # noqa: ANN201
    """One ballot from a fresh browser (no cookie)."""
    phone = app.test_client()
    env = {"REMOTE_ADDR": address, **(environ or {})}
    page = phone.get(url, environ_base=env)
    if page.status_code != 200:
        return page
    return phone.post(url, environ_base=env, data={**page_tokens(page.get_data(as_text=True)), **ANSWERS})


def stored_ballots() -> int:
    from survey.extensions import db

    db.session.rollback()
    return db.session.scalar(sa.text("SELECT count(*) FROM receipts"))


@pytest.fixture
def group_of_300(make_round, spec):  # noqa: ANN001, ANN201
    """An open group of 300 (its link takes 330), at the default per-address rate."""
    spec["groups"][1]["expected"] = 300
    return make_round(spec)


# --- open links -----------------------------------------------------------------------------------


def test_one_client_cannot_take_a_quarter_of_the_cap_in_half_a_minute(app, second_app, group_of_300, clock) -> None:  # noqa: ANN001
    """The attack that filled a 300-student group in 2.7 s: one laptop, a fresh cookie per
    ballot, spread over the workers. 100 tries in 30 seconds: 60 pass (the rate, per minute),
    fewer than a quarter of the 330 the link takes; the rest are refused with 429."""
    statuses = []
    for n in range(100):
        statuses.append(vote(app if n % 2 else second_app).status_code)
        clock.advance(0.3)
    assert statuses[:60] == [200] * 60 and statuses[60:] == [429] * 40
    assert stored_ballots() == 60 < 330 / 4
    # a minute later the window has moved on (seven buckets of ten seconds, all passed)
    clock.advance(70)
    assert vote(second_app).status_code == 200


def test_a_class_of_50_behind_one_nat_passes(app, second_app, group_of_300, clock) -> None:  # noqa: ANN001
    """Fifty students behind the campus NAT, each on their own phone, all in the same minute."""
    statuses = [vote(app if n % 2 else second_app).status_code for n in range(50)]
    assert statuses == [200] * 50
    assert stored_ballots() == 50


def test_the_rate_is_per_group(app, second_app, make_round, spec, clock) -> None:  # noqa: ANN001
    spec["groups"][1]["per_address_per_minute"] = 3
    spec["groups"].append({"key": "alumni", "name": "校友", "weight": 0.2, "access": "open", "expected": 50,
                           "per_address_per_minute": 3})
    make_round(spec)
    assert [vote(app).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert [vote(second_app, url="/r/r2012/alumni").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_a_refused_ballot_stores_nothing_and_says_so_in_chinese(app, make_round, spec, clock) -> None:  # noqa: ANN001
    spec["groups"][1]["per_address_per_minute"] = 1
    make_round(spec)
    assert vote(app).status_code == 200
    refused = vote(app)
    assert refused.status_code == 429
    assert "过于频繁" in refused.get_data(as_text=True)
    assert stored_ballots() == 1


# --- guessing codes -------------------------------------------------------------------------------


def test_code_guessing_with_a_rotating_forwarded_for_from_an_untrusted_peer_is_stopped(app, make_round, clock) -> None:  # noqa: ANN001
    """The attacker reaches the app directly and invents a new X-Forwarded-For for every guess:
    only the trusted proxy's header is believed, so every guess counts against its own
    address, on every instance."""
    from survey import create_app

    from .conftest import TEST_CONFIG, PhoneClient

    behind_nginx = {**TEST_CONFIG, "DATABASE_URL": app.config["DATABASE_URL"], "INSTANCE_PATH": app.instance_path,
                    "TRUSTED_PROXIES": "127.0.0.1"}
    first, second = create_app(behind_nginx), create_app(behind_nginx)
    for instance in (first, second):
        instance.test_client_class = PhoneClient
    make_round()
    limit = first.config["CODE_FAILURES_PER_WINDOW"]
    statuses = []
    for n in range(limit + 10):
        env = {"REMOTE_ADDR": "198.51.100.66", "HTTP_X_FORWARDED_FOR": f"203.0.{n // 250}.{n % 250}"}
        statuses.append((first if n % 2 else second).test_client().get(f"/b/ZZZZZ-{n:05d}", environ_base=env).status_code)
    assert statuses[:limit] == [404] * limit and statuses[limit:] == [429] * 10
    # through the trusted proxy, the clients it names are told apart: each has its own count
    behind_proxy = [
        first.test_client().get(f"/b/YYYYY-{n:05d}", environ_base={
            "REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": f"192.0.2.{n}"}).status_code
        for n in range(limit + 10)
    ]
    assert behind_proxy == [404] * (limit + 10)
    for instance in (first, second):
        with instance.app_context():
            from survey.extensions import db

            db.engine.dispose()


def test_failed_code_lookups_are_counted_across_instances(app, second_app, make_round, clock) -> None:  # noqa: ANN001
    make_round()
    limit = app.config["CODE_FAILURES_PER_WINDOW"]
    env = {"REMOTE_ADDR": "203.0.113.66"}
    statuses = [(app if n % 2 else second_app).test_client().get(f"/b/ZZZZZ-{n:05d}", environ_base=env).status_code
                for n in range(limit + 2)]
    assert statuses[:limit] == [404] * limit and statuses[limit:] == [429, 429]
    clock.advance(11 * 60 + 41)  # ten minutes and one bucket (100 s) have passed
    assert second_app.test_client().get("/b/ZZZZZ-99999", environ_base=env).status_code == 404


# --- the counters ---------------------------------------------------------------------------------


def test_simultaneous_takes_never_pass_the_limit(app, second_app, clock) -> None:  # noqa: ANN001
    """Eight threads, on two instances, each taking one event under a limit of five at the
    same moment: exactly five are counted, whatever the order."""
    from survey import counters

    window = counters.Window(60, 5)
    results: list[bool] = []
    start = threading.Barrier(8)

    def take(instance: Flask) -> None:
        with instance.app_context():
            start.wait()
            results.append(counters.take("open-ballot", "same-client", window) is not None)
            from survey.extensions import db

            db.session.remove()

    threads = [threading.Thread(target=take, args=(app if n % 2 else second_app,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 3 + [True] * 5
    assert counters.total("open-ballot", "same-client", window) == 5


def test_rows_are_gone_once_their_window_has_passed(app, group_of_300, clock) -> None:  # noqa: ANN001
    from survey import counters
    from survey.extensions import db

    assert vote(app).status_code == 200
    db.session.rollback()
    kinds = db.session.scalars(sa.text("SELECT kind FROM limit_counts ORDER BY kind")).all()
    assert kinds == ["arrivals", "open-ballot"]
    clock.advance(70)  # the address's count (seven buckets of ten seconds) has passed
    counters.prune()
    db.session.rollback()
    assert db.session.scalars(sa.text("SELECT kind FROM limit_counts")).all() == ["arrivals"]
    clock.advance(6 * 60)  # the arrivals, kept for the console's six minutes, too
    counters.prune()
    db.session.rollback()
    assert db.session.scalar(sa.text("SELECT count(*) FROM limit_counts")) == 0


def test_expired_rows_are_deleted_by_the_counting_itself(app, group_of_300, clock) -> None:  # noqa: ANN001
    from survey.extensions import db

    assert vote(app).status_code == 200
    clock.advance(8 * 60)
    assert vote(app, "192.0.2.1").status_code == 200
    db.session.rollback()
    rows = db.session.execute(sa.text("SELECT kind, start FROM limit_counts")).all()
    assert all(start >= clock() - 60 for _, start in rows), "only this minute's rows are left"


def test_no_address_is_stored_in_clear(app, second_app, group_of_300, clock) -> None:  # noqa: ANN001
    from survey.extensions import db

    assert vote(app, "203.0.113.77").status_code == 200
    second_app.test_client().get("/b/ZZZZZ-00000", environ_base={"REMOTE_ADDR": "203.0.113.78"})
    db.session.rollback()
    keys = db.session.scalars(sa.text("SELECT key FROM limit_counts")).all()
    assert len(keys) == 3
    for key in keys:
        assert "203.0.113" not in key
    # the open-link count is keyed by address and group; the arrivals by the group alone
    group_id = db.session.scalar(sa.text("SELECT id FROM round_groups WHERE key = 'students'"))
    assert f"g{group_id}" in keys


def test_no_counter_shares_a_transaction_with_any_other_row_on_postgresql(app, group_of_300, clock) -> None:  # noqa: ANN001
    """On PostgreSQL a row's xmin is the transaction that wrote it: a counter written in the
    ballot's transaction would tie the client's hashed address to the ballot."""
    from survey.extensions import db
    from survey.models import Base

    if db.engine.dialect.name != "postgresql":
        pytest.skip("xmin is PostgreSQL's")
    for n in range(3):
        assert vote(app, f"203.0.113.{n}").status_code == 200
    db.session.rollback()
    counted = set(db.session.scalars(sa.text("SELECT xmin::text FROM limit_counts")))
    assert counted
    for table in Base.metadata.tables:
        if table != "limit_counts":
            others = set(db.session.scalars(sa.text(f"SELECT xmin::text FROM {table}")))
            assert not counted & others, table


# --- the console ----------------------------------------------------------------------------------


def test_the_round_page_shows_arrivals_per_minute_per_group(app, client, group_of_300, clock) -> None:  # noqa: ANN001
    clock.advance(10)
    for n in range(3):
        assert vote(app, f"192.0.2.{n}").status_code == 200
    clock.advance(60)
    for n in range(2):
        assert vote(app, f"192.0.2.{10 + n}").status_code == 200
    make_user("org", "organizer")
    sign_in(client, "org")
    page = client.get("/console/rounds/r2012").get_data(as_text=True)
    assert "每分钟提交" in page
    assert "0 · 0 · 0 · 0 · 3 · 2" in page


def test_an_organizer_pauses_and_resumes_one_open_link(app, client, group_of_300) -> None:  # noqa: ANN001
    from survey.extensions import db
    from survey.models import Group

    make_user("org", "organizer")
    sign_in(client, "org")
    token = console_token(client)
    paused = client.post("/console/rounds/r2012/groups/students/pause", data={"csrf_token": token})
    assert paused.status_code == 303
    db.session.rollback()
    assert db.session.scalar(sa.select(Group.paused).where(Group.key == "students")) is True
    assert "已暂停" in client.get("/console/rounds/r2012").get_data(as_text=True)
    assert client.post("/console/rounds/r2012/groups/students/resume", data={"csrf_token": token}).status_code == 303
    db.session.rollback()
    assert db.session.scalar(sa.select(Group.paused).where(Group.key == "students")) is False
    actions = db.session.scalars(sa.text("SELECT action FROM audit_log ORDER BY id")).all()
    assert actions[-2:] == ["link.pause", "link.resume"]


def test_pausing_is_for_organizers_and_for_open_links_only(app, client, group_of_300) -> None:  # noqa: ANN001
    make_user("rev", "reviewer", ["r2012"])
    sign_in(client, "rev")
    token = console_token(client)
    assert client.post("/console/rounds/r2012/groups/students/pause", data={"csrf_token": token}).status_code == 403
    other = app.test_client()
    make_user("org", "organizer")
    sign_in(other, "org")
    token = console_token(other)
    assert other.post("/console/rounds/r2012/groups/staff/pause", data={"csrf_token": token}).status_code == 400


def test_the_round_page_counts_code_ballots_and_refusals_too(app, client, make_round, spec, issue_codes, clock) -> None:  # noqa: ANN001
    spec["groups"][1]["per_address_per_minute"] = 2
    round_ = make_round(spec)
    codes = issue_codes(round_, "staff", 2)
    for code in codes:
        phone = app.test_client()
        page = phone.get(f"/b/{code}")
        assert phone.post(f"/b/{code}", data={**page_tokens(page.get_data(as_text=True)),
                                               **ANSWERS}).status_code == 200
    assert [vote(app).status_code for _ in range(4)] == [200, 200, 429, 429]
    make_user("org", "organizer")
    sign_in(client, "org")
    page = client.get("/console/rounds/r2012").get_data(as_text=True)
    staff, students = page.split("教职工", 1)[1].split("学生", 1)
    assert "0 · 0 · 0 · 0 · 0 · 2" in staff
    assert "0 · 0 · 0 · 0 · 0 · 2" in students and "被拒：0 · 0 · 0 · 0 · 0 · 2" in students


# --- a paused link ---------------------------------------------------------------------------------


def pause(app: Flask, action: str = "pause") -> None:
    organizer = app.test_client()
    sign_in(organizer, "org")
    token = console_token(organizer)
    assert organizer.post(f"/console/rounds/r2012/groups/students/{action}", data={"csrf_token": token}).status_code == 303


def test_a_paused_link_tells_respondents_and_takes_nothing(app, second_app, group_of_300) -> None:  # noqa: ANN001
    make_user("org", "organizer")
    phone = second_app.test_client()
    page = phone.get(URL)  # opened before the pause
    pause(app)
    closed = second_app.test_client().get(URL)
    assert closed.status_code == 403 and "暂停" in closed.get_data(as_text=True)
    sent = phone.post(URL, data={**page_tokens(page.get_data(as_text=True)), **ANSWERS})
    assert sent.status_code == 403
    text = sent.get_data(as_text=True)
    assert "暂停" in text and 'value="satisfied" checked' in text.replace("checked=\"checked\"", "checked")
    assert stored_ballots() == 0
    pause(app, "resume")
    again = phone.post(URL, data={**page_tokens(text), **ANSWERS})
    assert again.status_code == 200 and stored_ballots() == 1


# --- the least reading time ------------------------------------------------------------------------


def test_the_least_reading_time_is_about_a_second_per_question_by_default(tmp_path) -> None:  # noqa: ANN001
    from survey import create_app

    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "s", "CODE_KEY": "c",
                      "AUDIT_KEY": "a", "INSTANCE_PATH": str(tmp_path / "instance")})
    assert app.config["MIN_SECONDS_PER_QUESTION"] == 1.0


def test_a_ballot_sooner_than_its_page_can_be_read_is_refused_kindly(app, make_round, spec, clock) -> None:  # noqa: ANN001
    """The students' page asks two questions: at one second each, a ballot posted 1.5 s after
    its page was served is refused (nothing stored, the choices kept); 2 s after, it is taken."""
    app.config["MIN_SECONDS_PER_QUESTION"] = 1.0
    make_round(spec)
    phone = app.test_client()
    page = phone.get(URL)
    form = {**page_tokens(page.get_data(as_text=True)), **ANSWERS}
    clock.advance(1.5)
    early = phone.post(URL, data=form)
    assert early.status_code == 429 and early.headers["Retry-After"] == "1"
    text = early.get_data(as_text=True)
    assert "您提交得比阅读全部题目所需的时间还快" in text and "您的选择已保留" in text
    assert stored_ballots() == 0
    clock.advance(0.5)
    assert phone.post(URL, data=form).status_code == 200
    assert stored_ballots() == 1


def test_the_reading_time_is_for_open_links_only(app, make_round, issue_codes, clock) -> None:  # noqa: ANN001
    app.config["MIN_SECONDS_PER_QUESTION"] = 1.0
    (code,) = issue_codes(make_round(), "staff", 1)
    phone = app.test_client()
    page = phone.get(f"/b/{code}")
    assert phone.post(f"/b/{code}", data={**page_tokens(page.get_data(as_text=True)),
                                           **ANSWERS}).status_code == 200
