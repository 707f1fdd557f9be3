"""Backup and restore, drilled as an operator would: a backup taken while a round takes
ballots, more ballots, the database lost, the backup restored into a new empty database, the
round carried on and closed. Only the command line and the public pages are used, so the drill
holds whatever the storage of ballots looks like inside."""

from __future__ import annotations

import csv
import json
import re
import stat
import subprocess
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from survey import create_app
from survey.backup import postgres
from survey.backup.postgres import ClientRefused, find_client

from .conftest import TEST_CONFIG, PhoneClient, page_tokens, receipt_of
from .pg_server import find_bindir

#: what a phone answers: the staff rate both subjects, the students B01 only; the comment is
#: looked for in the backup, where it must not be readable
COMMENT = "食堂排队时间太长希望增加窗口"
ANSWERS = {"a:B01:service": "satisfied", "a:B01:conduct": "basic", "c:B01": COMMENT}
STAFF_ANSWERS = {**ANSWERS, "a:B02:service": "dissatisfied", "a:B02:conduct": "basic"}


def cast(client, url: str) -> str:  # noqa: ANN001
    """A phone opens the questionnaire and submits it; the receipt it was shown."""
    page = client.get(url)
    assert page.status_code == 200, page.get_data(as_text=True)
    answers = STAFF_ANSWERS if url.startswith("/b/") else ANSWERS
    answer = client.post(url, data={**page_tokens(page.get_data(as_text=True)), **answers})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    receipt = receipt_of(answer)
    assert receipt
    return receipt


def invoke(app: Flask, *args: str):  # noqa: ANN201
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result


def lose_database(app: Flask) -> None:
    """The disk fails: the database is gone, and an empty one of the same name takes its place."""
    from survey.extensions import db

    db.session.remove()
    db.engine.dispose()
    url = sa.engine.make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
        return
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE {url.database} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {url.database}"))
    admin.dispose()


def fresh_app(app: Flask, url: str | None = None) -> Flask:
    """The service started again with the same keys and instance folder (on another database)."""
    other = create_app({**TEST_CONFIG, "DATABASE_URL": url or app.config["DATABASE_URL"]})
    other.instance_path = app.instance_path
    other.test_client_class = PhoneClient
    return other


def readable_text(backup: Path) -> str:
    """What someone holding the backup file reads without any key: the SQLite file's bytes, or
    the SQL that pg_restore writes out of a custom archive (whose table data is compressed)."""
    if backup.read_bytes().startswith(b"SQLite format 3"):
        return backup.read_bytes().decode("utf-8", errors="replace")
    client = find_bindir() / "pg_restore"  # the test server's own version
    return subprocess.run([str(client), "--file=-", str(backup)], capture_output=True, check=True).stdout.decode(
        "utf-8", errors="replace")


def response_ids(folder: Path) -> set[str]:
    with open(folder / "answers.csv", encoding="utf-8-sig", newline="") as fh:
        return {row["response_id"] for row in csv.DictReader(fh)}


def test_a_backup_taken_mid_round_restores_after_the_database_is_lost(app, client, spec, tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "spec.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    invoke(app, "rounds", "import", str(tmp_path / "spec.json"))
    invoke(app, "rounds", "open", "r2012")
    invoke(app, "codes", "issue", "r2012", "--group", "staff", "--count", "6", "--out", str(tmp_path / "codes.csv"))
    with open(tmp_path / "codes.csv", encoding="utf-8-sig", newline="") as fh:
        codes = [row["code"] for row in csv.DictReader(fh)]

    before = [cast(app.test_client(), f"/b/{code}") for code in codes[:3]]
    before.append(cast(app.test_client(), "/r/r2012/students"))
    backup = tmp_path / "backups" / "survey.backup"
    backup.parent.mkdir()
    taken = invoke(app, "backup", "--out", str(backup))
    assert "backup written" in taken.output
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    held = readable_text(backup)
    assert spec["title"] in held  # what is stored in clear is read: the ballots below are not
    assert COMMENT not in held and "satisfied" not in held
    lost = [cast(app.test_client(), f"/b/{codes[3]}"), cast(app.test_client(), "/r/r2012/students")]

    lose_database(app)
    with fresh_app(app).app_context() as ctx:
        again = ctx.app
        restored = invoke(again, "restore", str(backup))
        assert "r2012 (open)" in restored.output
        phone = again.test_client()
        # codes spent before the backup are still spent
        for code in codes[:3]:
            answer = phone.get(f"/b/{code}")
            assert 400 <= answer.status_code < 500, answer.status_code
        # a code never used works; so does one whose ballot was lost with the database
        after = [cast(again.test_client(), f"/b/{codes[5]}"), cast(again.test_client(), f"/b/{codes[3]}")]

        invoke(again, "rounds", "close", "r2012")
        invoke(again, "rounds", "publish", "r2012")
        invoke(again, "export", "r2012", "--out", str(tmp_path / "export"))
        invoke(again, "audit", "verify")
        receipts = again.test_client().get("/r/r2012/receipts").get_data(as_text=True)
        from survey.extensions import db

        db.session.remove()
        db.engine.dispose()

    assert all(r in receipts for r in before + after)
    assert not any(r in receipts for r in lost)
    assert len(response_ids(tmp_path / "export")) == len(before) + len(after)
    with open(tmp_path / "export" / "comments.csv", encoding="utf-8-sig", newline="") as fh:
        assert [row["text"] for row in csv.DictReader(fh)] == [COMMENT] * (len(before) + len(after))


def new_empty_database(app: Flask, tmp_path: Path) -> str:
    url = sa.engine.make_url(app.config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp_path / 'restored.db'}"
    name = f"r_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


RECEIPT = re.compile(r"[2-9A-Z]{4}-[2-9A-Z]{4}")


def test_a_backup_taken_while_ballots_arrive_is_one_moment(app, spec, tmp_path) -> None:  # noqa: ANN001
    """Every ballot acknowledged before the backup began is in it, and what it holds is whole:
    after its restore and the close, as many receipts are listed as ballots are counted."""
    (tmp_path / "spec.json").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    invoke(app, "rounds", "import", str(tmp_path / "spec.json"))
    invoke(app, "rounds", "open", "r2012")
    backup_began = threading.Event()
    stop = threading.Event()
    before: list[str] = []

    def phones() -> int:
        cast_ = 0
        while not stop.is_set() and cast_ < 150:
            receipt = cast(app.test_client(), "/r/r2012/students")
            cast_ += 1
            if not backup_began.is_set():  # acknowledged before the backup began
                before.append(receipt)
        return cast_

    with ThreadPoolExecutor(2) as pool:
        running = [pool.submit(phones) for _ in range(2)]
        while len(before) < 10:
            assert not any(f.done() for f in running), [f.result() for f in running]
            threading.Event().wait(0.01)
        backup_began.set()
        invoke(app, "backup", "--out", str(tmp_path / "survey.backup"))
        stop.set()
        assert sum(f.result() for f in running) > len(before)

    with fresh_app(app, new_empty_database(app, tmp_path)).app_context() as ctx:
        invoke(ctx.app, "restore", str(tmp_path / "survey.backup"))
        invoke(ctx.app, "rounds", "close", "r2012")
        invoke(ctx.app, "rounds", "publish", "r2012")
        invoke(ctx.app, "export", "r2012", "--out", str(tmp_path / "export"))
        listed = set(RECEIPT.findall(ctx.app.test_client().get("/r/r2012/receipts").get_data(as_text=True)))
        from survey.extensions import db

        db.session.remove()
        db.engine.dispose()

    assert set(before) <= listed
    assert len(listed) == len(response_ids(tmp_path / "export"))


def test_restore_refuses_a_database_that_is_not_empty(app, runner, make_round, tmp_path) -> None:  # noqa: ANN001
    make_round()
    backup = tmp_path / "survey.backup"
    assert runner.invoke(args=["backup", "--out", str(backup)]).exit_code == 0

    result = runner.invoke(args=["restore", str(backup)])

    assert result.exit_code != 0
    assert "the database is not empty" in result.output and "rounds: r2012)" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_restore_refuses_a_file_that_is_not_a_backup(runner, tmp_path) -> None:  # noqa: ANN001
    other = tmp_path / "notes.txt"
    other.write_text("not a backup", encoding="utf-8")

    result = runner.invoke(args=["restore", str(other)])

    assert result.exit_code != 0
    assert "not a backup made by flask --app survey backup" in result.output


def test_a_backup_into_a_missing_folder_is_refused_in_one_line(runner, tmp_path) -> None:  # noqa: ANN001
    result = runner.invoke(args=["backup", "--out", str(tmp_path / "nowhere" / "survey.backup")])

    assert result.exit_code != 0
    assert result.output.strip().splitlines()[-1] == f"Error: {tmp_path / 'nowhere'}: no such folder"
    assert not (tmp_path / "nowhere").exists()


def test_a_backup_is_recorded_in_the_audit_log(app, runner, tmp_path) -> None:  # noqa: ANN001
    from survey.extensions import db

    assert runner.invoke(args=["backup", "--out", str(tmp_path / "b1")]).exit_code == 0
    db.session.rollback()
    action, detail = db.session.execute(sa.text("SELECT action, detail FROM audit_log ORDER BY id DESC")).first()
    assert action == "backup" and '"file":"b1"' in detail


# --- which PostgreSQL client ---------------------------------------------------------------


def fake_client(folder: Path, tool: str, version: str) -> Path:
    """A stand-in client that only reports its version."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / tool
    path.write_text(f"#!/bin/sh\necho '{tool} (PostgreSQL) {version}'\n")
    path.chmod(0o755)
    return path


def test_the_client_of_the_servers_major_version_is_chosen(tmp_path) -> None:  # noqa: ANN001
    same = fake_client(tmp_path / "15", "pg_dump", "15.4 (Debian 15.4-1)")
    assert find_client("pg_dump", 15, str(same.parent)) == same
    newer = fake_client(tmp_path / "16", "pg_dump", "16.1")
    assert find_client("pg_dump", 15, str(newer.parent)) == newer


def test_an_older_client_is_refused_naming_the_versions(tmp_path) -> None:  # noqa: ANN001
    older = fake_client(tmp_path / "13", "pg_dump", "13.9")
    with pytest.raises(ClientRefused) as refused:
        find_client("pg_dump", 15, str(older.parent))
    assert "older than the server: the server runs PostgreSQL 15, found only" in str(refused.value)
    assert "postgresql-client-15" in str(refused.value)


def test_a_missing_client_is_refused_saying_what_to_install(tmp_path) -> None:  # noqa: ANN001
    with pytest.raises(ClientRefused) as refused:
        find_client("pg_restore", 15, str(tmp_path))
    assert f"pg_restore not found in {tmp_path}" in str(refused.value)
    assert "apt install postgresql-client-15" in str(refused.value)


def test_an_older_client_refuses_the_backup_command_on_postgresql(app, runner, tmp_path) -> None:  # noqa: ANN001
    if app.config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("PostgreSQL only: SQLite needs no client")
    app.config["PG_BINDIR"] = str(fake_client(tmp_path / "old", "pg_dump", "9.6.24").parent)

    result = runner.invoke(args=["backup", "--out", str(tmp_path / "survey.backup")])

    assert result.exit_code != 0
    assert "pg_dump is older than the server" in result.output
    assert not (tmp_path / "survey.backup").exists()


def test_the_password_goes_through_the_environment_not_the_command_line() -> None:
    url = sa.engine.make_url("postgresql+psycopg://survey:s3cr'et@db.example/survey?sslmode=require")
    conninfo, env = postgres.connection(url)
    assert "s3cr" not in conninfo
    assert env["PGPASSWORD"] == "s3cr'et"
    assert conninfo == "host='db.example' user='survey' dbname='survey' sslmode='require'"
