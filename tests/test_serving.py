"""Where gunicorn may listen: loopback behind nginx, TLS of its own, or plain HTTP on a network
only when told so in words (survey/serving.py, checked by gunicorn.conf.py before it binds)."""

from __future__ import annotations

import shutil
import ssl
import urllib.request
from pathlib import Path

import pytest

from survey.serving import Verdict, bind_host, check_serving

from .conftest import CODE_KEY, SECRET
from .web_servers import free_port, self_signed, start_gunicorn, stop, wait_listening


@pytest.mark.parametrize("bind", ["127.0.0.1:8000", "localhost:5000", "[::1]:8000", "127.0.0.2:80",
                                  "unix:/run/survey/gunicorn.sock"])
def test_loopback_and_unix_sockets_need_nothing(bind: str) -> None:
    assert check_serving([bind], None, None, None).refusal is None
    assert check_serving([bind], None, None, None).warning is None


@pytest.mark.parametrize("bind", ["0.0.0.0:5000", "[::]:80", "192.168.1.20:5000", ":8000", "fd://3"])
def test_plain_http_on_a_network_address_is_refused(bind: str) -> None:
    verdict = check_serving(["127.0.0.1:8000", bind], None, None, None)

    assert verdict.refusal is not None
    assert bind in verdict.refusal and "SURVEY_PLAIN_HTTP_LAN=yes" in verdict.refusal
    assert "SURVEY_TLS_CERT" in verdict.refusal


@pytest.mark.parametrize("choice", ["", "no", "1", "true"])
def test_only_the_word_yes_chooses_plain_http(choice: str) -> None:
    assert check_serving(["0.0.0.0:5000"], None, None, choice).refusal is not None


def test_plain_http_chosen_for_a_lab_starts_with_a_warning() -> None:
    verdict = check_serving(["0.0.0.0:5000"], None, None, "yes")

    assert verdict.refusal is None
    assert "PLAIN HTTP on 0.0.0.0:5000" in verdict.warning
    assert "every ballot code" in verdict.warning


@pytest.mark.parametrize(("address", "host"), [("127.0.0.1:8000", "127.0.0.1"), ("[::1]:80", "::1"),
                                                ("localhost", "localhost"), (":80", "0.0.0.0"),
                                                ("unix:/tmp/s", None)])
def test_bind_host(address: str, host: str | None) -> None:
    assert bind_host(address) == host


def test_a_certificate_without_its_key_is_refused(tmp_path: Path) -> None:
    cert, _ = self_signed(tmp_path)

    assert "go together" in check_serving(["0.0.0.0:443"], str(cert), None, None).refusal


def test_tls_allows_a_network_address_when_the_files_load(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    _, other_key = self_signed(tmp_path, "other.example.edu.cn")

    assert check_serving(["0.0.0.0:443"], str(cert), str(key), None) == Verdict()
    assert "cannot be loaded" in check_serving(["0.0.0.0:443"], str(cert), str(other_key), None).refusal
    assert "cannot be loaded" in check_serving(["0.0.0.0:443"], str(tmp_path / "none.pem"), str(key), None).refusal


# --- gunicorn with the shipped gunicorn.conf.py --------------------------------------------------


@pytest.fixture
def service_env(sqlite_template: Path, tmp_path: Path) -> dict[str, str]:
    database = tmp_path / "survey.db"
    shutil.copy(sqlite_template, database)
    return {"SURVEY_DATABASE_URL": f"sqlite:///{database}", "SURVEY_SECRET_KEY": SECRET,
            "SURVEY_CODE_KEY": CODE_KEY, "SURVEY_WORKERS": "1"}


def test_gunicorn_refuses_plain_http_on_every_address(service_env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "gunicorn.log"
    port = free_port()
    server = start_gunicorn({**service_env, "SURVEY_BIND": f"0.0.0.0:{port}"}, log)
    try:
        assert server.wait(timeout=60) != 0
    finally:
        stop(server)
    refusals = [line for line in log.read_text().splitlines() if "refusing to start" in line]
    assert len(refusals) == 1 and "SURVEY_PLAIN_HTTP_LAN=yes" in refusals[0], log.read_text()
    assert "Listening at" not in log.read_text()


def test_gunicorn_serves_plain_http_on_a_lab_network_only_after_a_warning(
    service_env: dict[str, str], tmp_path: Path
) -> None:
    log = tmp_path / "gunicorn.log"
    port = free_port()
    server = start_gunicorn({**service_env, "SURVEY_BIND": f"0.0.0.0:{port}", "SURVEY_PLAIN_HTTP_LAN": "yes"}, log)
    try:
        wait_listening(port, server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=30) as response:
            assert response.status == 200
    finally:
        stop(server)
    text = log.read_text()
    assert text.index(f"PLAIN HTTP on 0.0.0.0:{port}") < text.index("Listening at"), text


def test_gunicorn_serves_https_with_the_certificate_it_is_given(service_env: dict[str, str], tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "localhost")
    log = tmp_path / "gunicorn.log"
    port = free_port()
    server = start_gunicorn({**service_env, "SURVEY_BIND": f"127.0.0.1:{port}",
                             "SURVEY_TLS_CERT": str(cert), "SURVEY_TLS_KEY": str(key)}, log)
    try:
        wait_listening(port, server)
        context = ssl.create_default_context(cafile=str(cert))
        with urllib.request.urlopen(f"https://localhost:{port}/healthz", timeout=30, context=context) as response:
            assert response.status == 200
            assert response.read() == b"ok\n"
    finally:
        stop(server)
