"""Keys and files: the code key apart from the session key, checked against the database; key
files, the database and every file holding codes or answers private to the service's account."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from flask import Flask

from survey import create_app
from survey.config import instance_secret

from .conftest import AUDIT_KEY, BALLOT_BOX_KEY, CODE_KEY, SECRET, page_tokens


def twin(app: Flask, **config) -> Flask:  # noqa: ANN003
    """Another app on the same database, as after a restart with other settings."""
    other = create_app({"DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": SECRET, "CODE_KEY": CODE_KEY,
                        "AUDIT_KEY": AUDIT_KEY, "BALLOT_BOX_KEY": BALLOT_BOX_KEY, "BASE_URL": app.config["BASE_URL"],
                        "TESTING": True, "MIN_SECONDS_PER_QUESTION": 0, **config})
    other.instance_path = app.instance_path
    return other


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_rotating_the_session_key_keeps_printed_codes_and_device_marks(app, make_round, issue_codes) -> None:  # noqa: ANN001
    from survey.extensions import db

    (code,) = issue_codes(make_round(), "staff", 1)
    phone = app.test_client()
    page = phone.get("/r/r2012/students")
    assert phone.post("/r/r2012/students", data={"confirm_partial": "1", **page_tokens(page.get_data(as_text=True)),
                                                 "a:B01:service": "satisfied"}).status_code == 200
    db.session.remove()

    rotated = twin(app, SECRET_KEY="a-new-session-key")
    with rotated.app_context():
        assert rotated.test_client().get(f"/b/{code}").status_code == 200
        again = rotated.test_client()
        for cookie in phone._cookies.values():  # the same browser, after the restart
            again.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
        assert "您已在本设备上提交过" in again.get("/r/r2012/students").get_data(as_text=True)
        from survey.extensions import db as rotated_db

        rotated_db.session.remove()
        rotated_db.engine.dispose()


def test_another_code_key_is_refused_not_silently_turned_into_used_codes(app, make_round, issue_codes) -> None:  # noqa: ANN001
    from survey.codes.services import startup_check
    from survey.extensions import db

    (code,) = issue_codes(make_round(), "staff", 1)
    db.session.remove()
    wrong = twin(app, CODE_KEY="not-the-key-the-codes-were-issued-under")
    problem = startup_check(wrong)
    assert problem and "\n" not in problem and "code key" in problem
    with wrong.app_context():
        response = wrong.test_client().get(f"/b/{code}")
        assert response.status_code == 503
        assert "已经使用过" not in response.get_data(as_text=True)
        from survey.extensions import db as wrong_db

        wrong_db.session.remove()
        wrong_db.engine.dispose()
    assert startup_check(twin(app)) is None


def test_issuing_codes_under_another_key_is_refused(app, runner, make_round, issue_codes, tmp_path) -> None:  # noqa: ANN001
    from survey.extensions import db

    issue_codes(make_round(), "staff", 1)
    db.session.remove()
    wrong = twin(app, CODE_KEY="not-the-key")
    with wrong.app_context():
        result = wrong.test_cli_runner().invoke(
            args=["codes", "issue", "r2012", "--group", "staff", "--count", "1", "--out", str(tmp_path / "c.csv")])
        from survey.extensions import db as wrong_db

        wrong_db.session.remove()
        wrong_db.engine.dispose()
    assert result.exit_code != 0 and "code key" in result.output
    assert not (tmp_path / "c.csv").exists()


def test_the_key_fingerprint_is_stored_not_the_key(app, make_round, issue_codes) -> None:  # noqa: ANN001
    from survey.codes.services import key_fingerprint
    from survey.extensions import db
    from survey.models import KeyFingerprint

    issue_codes(make_round(), "staff", 1)
    stored = db.session.get(KeyFingerprint, "ballot-codes")
    assert stored.fingerprint == key_fingerprint() and CODE_KEY not in stored.fingerprint


def test_key_files_are_created_private_from_the_first_byte(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """Written with mode 0600 from creation: no moment where another account could read it,
    whatever the umask (recorded at every chmod, link and rename of a file in the folder)."""
    seen: list[tuple[str, int]] = []

    def watch(name: str, original):  # noqa: ANN001, ANN202
        def wrapped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
            target = Path(args[0] if not isinstance(args[0], Path) else args[0])
            if target.exists():
                seen.append((name, mode(target)))
            return original(*args, **kwargs)

        return wrapped

    for name in ("chmod", "link", "rename", "replace"):
        monkeypatch.setattr(os, name, watch(name, getattr(os, name)))
    monkeypatch.setattr(Path, "chmod", lambda self, m: os.chmod(self, m))
    previous = os.umask(0)
    try:
        key = instance_secret(tmp_path / "secret_key")
    finally:
        os.umask(previous)
    assert len(key) == 64
    assert mode(tmp_path / "secret_key") == 0o600
    assert all(m == 0o600 for _, m in seen), seen
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_concurrent_first_starts_end_with_one_key(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "code_key"
    start = threading.Barrier(12)
    keys: list[str] = []

    def first_start() -> None:
        start.wait()
        keys.append(instance_secret(path))

    threads = [threading.Thread(target=first_start) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 12 and len(set(keys)) == 1 and path.read_text().strip() == keys[0]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_the_sqlite_database_its_log_and_the_key_files_are_private(tmp_path, umask) -> None:  # noqa: ANN001
    from flask_migrate import upgrade

    instance = tmp_path / "instance"
    previous = os.umask(umask)
    try:
        app = create_app({"TESTING": True, "INSTANCE_PATH": str(instance)})
        with app.app_context():
            upgrade()
            from survey.extensions import db

            with db.engine.begin() as conn:
                conn.exec_driver_sql("INSERT INTO key_fingerprints VALUES ('x', 'y')")
            files = {p.name: mode(p) for p in instance.iterdir()}
            db.engine.dispose()
    finally:
        os.umask(previous)
    assert mode(instance) == 0o700
    assert "survey.db-wal" in files and "code_key" in files
    assert files == dict.fromkeys(files, 0o600), files


def test_code_lists_slips_and_exports_are_private(app, runner, make_round, tmp_path) -> None:  # noqa: ANN001
    make_round()
    out = tmp_path / "out"
    out.mkdir()
    previous = os.umask(0o022)
    try:
        for args in (["codes", "issue", "r2012", "--group", "staff", "--count", "2", "--out", str(out / "codes.csv")],
                     ["codes", "sheet", "r2012", "--group", "staff", "--count", "2", "--out", str(out / "slips.pdf")],
                     ["rounds", "close", "r2012"],
                     ["export", "r2012", "--out", str(out / "export")]):
            result = runner.invoke(args=args)
            assert result.exit_code == 0, result.output
    finally:
        os.umask(previous)
    assert mode(out / "codes.csv") == 0o600 and mode(out / "slips.pdf") == 0o600
    assert mode(out / "export") == 0o700
    assert {p.name: mode(p) for p in (out / "export").iterdir()} == dict.fromkeys(
        ("answers.csv", "comments.csv", "org.csv", "spec.json", "audit_head.txt"), 0o600)


def test_flask_run_refuses_to_start_under_another_code_key(app, make_round, issue_codes, tmp_path) -> None:  # noqa: ANN001
    import subprocess
    import sys

    from survey.extensions import db

    issue_codes(make_round(), "staff", 1)
    db.session.remove()
    env = {**os.environ, "SURVEY_DATABASE_URL": app.config["DATABASE_URL"], "SURVEY_SECRET_KEY": SECRET,
           "SURVEY_CODE_KEY": "not-the-key", "SURVEY_AUDIT_KEY": AUDIT_KEY}
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run([str(flask), "--app", "survey", "run", "--port", "1"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    (line,) = [x for x in result.stderr.splitlines() if "refusing to start" in x]
    assert "code key" in line and "Traceback" not in result.stderr
