"""Attacks on logs: no log the project ships or configures holds a ballot code.

A code beside a time (an access log line) is a handle on the ballot cast at that moment. These
tests start the shipped gunicorn configuration for real and read what it wrote, make Flask log
a failed request, and check the development server's filter.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from survey.codes.services import normalize_code

from .conftest import AUDIT_KEY, BALLOT_BOX_KEY, CODE_KEY, SECRET

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gunicorn_env(database_url: str, port: int, code_key: str = CODE_KEY) -> dict[str, str]:
    return {
        **os.environ, "SURVEY_DATABASE_URL": database_url, "SURVEY_SECRET_KEY": SECRET,
        "SURVEY_CODE_KEY": code_key, "SURVEY_AUDIT_KEY": AUDIT_KEY, "SURVEY_BALLOT_BOX_KEY": BALLOT_BOX_KEY,
        "SURVEY_BIND": f"127.0.0.1:{port}", "SURVEY_WORKERS": "1",
        "SURVEY_BASE_URL": "https://survey.example.edu.cn", "SURVEY_MIN_SECONDS_PER_QUESTION": "0",
    }


def start_gunicorn(env: dict[str, str], log: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", "survey:create_app()"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


def wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("gunicorn exited")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError("gunicorn did not start")


def fetch(url: str, **kwargs) -> int:  # noqa: ANN003
    try:
        with urllib.request.urlopen(urllib.request.Request(url, **kwargs), timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def variants(code: str) -> list[str]:
    plain = normalize_code(code)
    return [plain, plain.lower(), code, code.lower(), plain[:5], plain[5:]]


def test_the_shipped_gunicorn_configuration_logs_no_code(app, make_round, issue_codes, tmp_path) -> None:  # noqa: ANN001
    from survey.extensions import db

    round_ = make_round()
    codes = issue_codes(round_, "staff", 4)
    db.session.remove()
    port = free_port()
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(gunicorn_env(app.config["DATABASE_URL"], port), log)
    try:
        wait_for(port, server)
        base = f"http://127.0.0.1:{port}"
        statuses = [
            fetch(f"{base}/b/{codes[0]}"),
            fetch(f"{base}/b/{codes[1]}", data=b"a%3AB01%3Aservice=satisfied", method="POST"),
            fetch(f"{base}/b/?code={codes[2].lower()}"),
            fetch(f"{base}/b/?lang=zh&code={normalize_code(codes[3])}"),
            fetch(f"{base}/", headers={"Referer": f"{base}/b/{codes[3]}"}),
            fetch(f"{base}/%62/{codes[0]}"),
        ]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    text = log.read_text()
    assert statuses[0] == 200 and statuses[1] == 400, statuses
    assert text.count("/b/***") >= 4, text  # the requests were logged, blanked
    for code in codes:
        for form in variants(code):
            assert form not in text, f"{form} in the gunicorn log:\n{text}"


def test_gunicorn_refuses_to_start_under_another_code_key(app, make_round, issue_codes, tmp_path) -> None:  # noqa: ANN001
    from survey.extensions import db

    issue_codes(make_round(), "staff", 1)
    db.session.remove()
    port = free_port()
    log = tmp_path / "gunicorn.log"
    server = start_gunicorn(gunicorn_env(app.config["DATABASE_URL"], port, code_key="another-key"), log)
    try:
        assert server.wait(timeout=60) != 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
    lines = [line for line in log.read_text().splitlines() if "refusing to start" in line]
    assert len(lines) == 1 and "code key" in lines[0], log.read_text()


def test_flask_error_log_does_not_name_the_code(app, make_round, issue_codes, caplog, monkeypatch) -> None:  # noqa: ANN001
    """A page that fails is logged as ``Exception on <path>``, with its traceback."""
    import survey.respond.routes as routes

    (code,) = issue_codes(make_round(), "staff", 1)
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken(raw: str):  # noqa: ANN202
        raise RuntimeError(f"lookup failed for /b/{raw}")

    monkeypatch.setattr(routes, "find_code_with_round", broken)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get(f"/b/{code}")
    assert response.status_code == 500
    assert "Exception on /b/***" in caplog.text
    for form in variants(code):
        assert form not in caplog.text, caplog.text


def test_flask_error_log_is_redacted_for_every_handler(app, make_round, issue_codes, monkeypatch, tmp_path) -> None:  # noqa: ANN001
    """Also a handler an operator adds to the root logger (a log file) gets no code."""
    import survey.respond.routes as routes

    (code,) = issue_codes(make_round(), "staff", 1)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    monkeypatch.setattr(routes, "find_code_with_round", lambda raw: 1 / 0)
    handler = logging.FileHandler(tmp_path / "app.log")
    logging.getLogger().addHandler(handler)
    try:
        assert app.test_client().get(f"/b/{code}").status_code == 500
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()
    text = (tmp_path / "app.log").read_text()
    assert "Exception on /b/***" in text and "ZeroDivisionError" in text
    for form in variants(code):
        assert form not in text, text


def test_make_run_says_it_is_not_for_a_real_round() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run = makefile[makefile.index("\nrun:"):].split("\n\n")[0]
    assert "not for a real round" in run


def test_flask_run_debug_refuses_an_address_others_can_reach(tmp_path) -> None:  # noqa: ANN001
    env = {**os.environ, "SURVEY_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SURVEY_SECRET_KEY": SECRET,
           "SURVEY_CODE_KEY": CODE_KEY, "SURVEY_AUDIT_KEY": AUDIT_KEY}
    flask = Path(sys.executable).with_name("flask")
    result = subprocess.run(
        [str(flask), "--app", "survey", "run", "--debug", "--host", "0.0.0.0", "--port", str(free_port())],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "refusing --debug on 0.0.0.0" in result.stderr
    assert "Traceback" not in result.stderr
