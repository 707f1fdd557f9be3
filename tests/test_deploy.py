"""The deployment kit, run for real: Debian's nginx with ``deploy/nginx/survey.conf`` and TLS in
front of two app servers (separate gunicorn processes, the shipped ``gunicorn.conf.py``) on one
PostgreSQL, settings from ``deploy/survey.env.example``, commands through ``deploy/survey-flask``.

A round goes through it over HTTPS as docs/deploy.md runs one: codes issued on the command line,
ballots by code and by the open link, an app server lost in the middle, the round closed, the
scorecard downloaded in a signed-in console. Then no ballot code may be in anything nginx or
the app servers wrote. And phones trickling their requests byte by byte must not keep another
phone's ballot waiting.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from .conftest import BASE_SPEC, CODE_KEY, SECRET
from .pg_server import PostgresServer
from .test_anonymity_logs import variants
from .web_servers import (
    DOMAIN, ROOT, Browser, Nginx, free_port, need, receipt_in, self_signed, start_gunicorn, start_nginx, stop,
    wait_listening,
)

PASSWORD = "zuzhibu-" + "7" * 12
STAFF = {"a:B01:service": "satisfied", "a:B01:conduct": "basic", "a:B02:service": "dissatisfied",
         "a:B02:conduct": "satisfied"}
STUDENT = {"a:B01:service": "satisfied", "a:B01:conduct": "satisfied"}


def filled_settings(database_url: str) -> str:
    """``deploy/survey.env.example`` filled in as docs/deploy.md says: every empty secret gets
    ``openssl rand -hex 32``'s kind of value, the database URL its server."""
    keys = {"SURVEY_SECRET_KEY": SECRET, "SURVEY_CODE_KEY": CODE_KEY}
    lines = []
    for line in (ROOT / "deploy" / "survey.env.example").read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and not line.startswith("#"):
            if name == "SURVEY_DATABASE_URL":
                assert value.startswith("postgresql+psycopg://") and value.endswith("?connect_timeout=5")
                value = database_url + "?connect_timeout=5"
            elif not value:
                value = keys.get(name) or secrets.token_hex(32)
            line = f"{name}={value}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def read_settings(text: str) -> dict[str, str]:
    """The settings as systemd's EnvironmentFile= reads them."""
    pairs = (line.partition("=") for line in text.splitlines() if line.strip() and not line.startswith("#"))
    return {name: value for name, _, value in pairs}


def survey_flask(cli: Path, settings: Path, *args: str, stdin: str | None = None) -> str:
    """``survey-flask ARGS``: the command an administrator types on an app server, with nothing
    from the test's environment but where Python finds this checkout."""
    env = {"PATH": "/usr/bin:/bin", "SURVEY_ENV_FILE": str(settings)}
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    done = subprocess.run(["sh", str(cli), *args], capture_output=True, text=True, input=stdin,
                          cwd=settings.parent, env=env)
    assert done.returncode == 0, f"survey-flask {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


@dataclass
class Deployment:
    """nginx, two app servers and what they share, as a test sees them."""

    work: Path
    settings: Path
    cli: Path
    nginx: Nginx
    cert: Path
    apps: dict[str, subprocess.Popen] = field(default_factory=dict)
    app_logs: dict[str, Path] = field(default_factory=dict)

    def flask(self, *args: str, stdin: str | None = None) -> str:
        return survey_flask(self.cli, self.settings, *args, stdin=stdin)

    def browser(self) -> Browser:
        return Browser(self.nginx.https_port, self.cert)

    def everything_logged(self) -> str:
        return self.nginx.log_text() + "\n".join(p.read_text(errors="replace") for p in self.app_logs.values())


def start_app_server(name: str, settings: dict[str, str], work: Path) -> tuple[subprocess.Popen, Path, int]:
    """One app server, as survey.service starts it: the settings file's environment, its own
    port (as if on its own machine) and control-socket folder."""
    port = free_port()
    runtime = work / f"run-{name}"
    runtime.mkdir()
    log = work / f"app-{name}.log"
    env = {
        **settings, "SURVEY_BIND": f"127.0.0.1:{port}", "SURVEY_WORKERS": "2", "XDG_RUNTIME_DIR": str(runtime),
        # SURVEY_PROXY_COUNT until SURVEY_TRUSTED_PROXIES (in the settings) replaces it
        "SURVEY_PROXY_COUNT": "1",
        # ballots come straight after their page here
        "SURVEY_MIN_SECONDS_PER_QUESTION": "0",
    }
    return start_gunicorn(env, log), log, port


@pytest.fixture(scope="module")
def deployment(pg_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    need("nginx", "nginx")
    work = tmp_path_factory.mktemp("deploy")
    cert, key = self_signed(work)
    database = f"deploy_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(pg_server.url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {database}"))

    settings = work / "survey.env"
    settings.write_text(filled_settings(pg_server.url_for(database)))
    settings.chmod(0o600)
    cli = work / "survey-flask"
    cli.write_text((ROOT / "deploy" / "survey-flask").read_text().replace(
        "/opt/survey/.venv/bin/flask", str(Path(sys.executable).with_name("flask"))))

    apps: dict[str, subprocess.Popen] = {}
    nginx = None
    try:
        survey_flask(cli, settings, "db", "upgrade")
        survey_flask(cli, settings, "config", "set-base-url", f"https://{DOMAIN}")
        app_logs, ports = {}, []
        for name in ("a", "b"):
            apps[name], app_logs[name], port = start_app_server(name, read_settings(settings.read_text()), work)
            ports.append(port)
        for name, port in zip(apps, ports):
            wait_listening(port, apps[name])
        nginx = start_nginx(work / "nginx", [f"127.0.0.1:{p}" for p in ports], cert, key)
        yield Deployment(work, settings, cli, nginx, cert, apps, app_logs)
    finally:
        if nginx is not None:
            nginx.stop()
        for process in apps.values():
            stop(process)
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        admin.dispose()


def open_round(deployment: Deployment, slug: str) -> None:
    spec = copy.deepcopy(BASE_SPEC)
    spec["slug"] = slug
    path = deployment.work / f"{slug}.json"
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    deployment.flask("rounds", "import", str(path))
    deployment.flask("rounds", "open", slug)


def issued_codes(deployment: Deployment, slug: str, count: int) -> list[str]:
    out = deployment.work / f"{slug}-codes.csv"
    deployment.flask("codes", "issue", slug, "--group", "staff", "--count", str(count), "--out", str(out))
    with out.open(encoding="utf-8-sig") as f:
        urls = [row["url"] for row in csv.DictReader(f)]
    assert all(url.startswith(f"https://{DOMAIN}/b/") for url in urls), urls
    return [url.rsplit("/", 1)[1] for url in urls]


def cast(deployment: Deployment, path: str, answers: dict[str, str]) -> str:
    page = deployment.browser().submit(path, answers)
    receipt = receipt_in(page)
    assert page.status == 200 and receipt, (path, page.status, page.text[:500])
    return receipt


# --- what the app servers are told -----------------------------------------------------------


class EchoHeaders(BaseHTTPRequestHandler):
    """An upstream that answers with the request headers it received, as JSON pairs."""

    def do_GET(self) -> None:  # noqa: N802
        body = json.dumps(list(self.headers.items())).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_the_app_server_is_told_the_connecting_address_never_one_a_client_sent(tmp_path: Path) -> None:
    echo = ThreadingHTTPServer(("127.0.0.1", 0), EchoHeaders)
    threading.Thread(target=echo.serve_forever, daemon=True).start()
    cert, key = self_signed(tmp_path)
    nginx = start_nginx(tmp_path / "nginx", [f"127.0.0.1:{echo.server_address[1]}"], cert, key)
    try:
        forged = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9", "Forwarded": "for=203.0.113.9",
                  "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "http", "X-Forwarded-Port": "80"}
        page = Browser(nginx.https_port, cert).request("GET", "/r/anything", headers=forged)
    finally:
        nginx.stop()
        echo.shutdown()
        echo.server_close()
    assert page.status == 200, page.text
    received = [(name.lower(), value) for name, value in json.loads(page.text)]
    assert [v for k, v in received if k == "x-forwarded-for"] == ["127.0.0.1"]
    assert [v for k, v in received if k == "x-forwarded-proto"] == ["https"]
    assert [v for k, v in received if k == "host"] == [DOMAIN]
    assert not {k for k, _ in received} & {"x-real-ip", "forwarded", "x-forwarded-host", "x-forwarded-port"}


# --- slow clients --------------------------------------------------------------------------------


class Trickler(threading.Thread):
    """A client that sends a request one byte every half second: its headers that never end, or
    a POST whose 100 KB body never ends. Behind gunicorn alone, each held a sync worker until
    gunicorn's 30 s timeout killed it."""

    def __init__(self, port: int, cafile: Path, body: bool, stop_event: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.cafile, self.body, self.stop_event = port, cafile, body, stop_event
        self.connected = threading.Event()
        self.bytes_sent = 0

    def run(self) -> None:
        context = ssl.create_default_context(cafile=str(self.cafile))
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=60) as raw, \
                    context.wrap_socket(raw, server_hostname=DOMAIN) as tls:
                if self.body:
                    tls.sendall(f"POST /r/slow/students HTTP/1.1\r\nHost: {DOMAIN}\r\nContent-Length: 100000\r\n"
                                "Content-Type: application/x-www-form-urlencoded\r\n\r\n".encode())
                else:
                    tls.sendall(f"GET /r/slow/students HTTP/1.1\r\nHost: {DOMAIN}\r\n".encode())
                self.connected.set()
                while not self.stop_event.wait(0.5):
                    tls.sendall(b"a" if self.body else b"X")
                    self.bytes_sent += 1
        except OSError:  # nginx ended a header that took too long (client_header_timeout): fine
            pass
        finally:
            self.connected.set()


@pytest.mark.slow
@pytest.mark.postgres
def test_phones_trickling_requests_do_not_hold_up_another_ballot(deployment: Deployment) -> None:
    open_round(deployment, "slow")
    stop_event = threading.Event()
    # more than the 4 gunicorn workers behind nginx (2 app servers × 2), of each kind
    tricklers = [Trickler(deployment.nginx.https_port, deployment.cert, body, stop_event)
                 for body in (True, False) for _ in range(6)]
    try:
        for trickler in tricklers:
            trickler.start()
        for trickler in tricklers:
            assert trickler.connected.wait(30)
        time.sleep(1.5)  # every trickler is inside its request by now

        began = time.monotonic()
        cast(deployment, "/r/slow/students", STUDENT)
        took = time.monotonic() - began

        still_sending = sum(t.is_alive() for t in tricklers if t.body)
    finally:
        stop_event.set()
        for trickler in tricklers:
            trickler.join(timeout=10)
    # a ballot takes well under a second here; held up, it would wait for gunicorn's 30 s timeout
    assert took < 10, f"a ballot took {took:.1f} s while {len(tricklers)} clients trickled"
    assert still_sending == 6, "the trickling bodies were still being sent when the ballot came back"


# --- a round ---------------------------------------------------------------------------------------


def scorecard_rows(text: str) -> dict[str, dict[str, str]]:
    return {row["subject"]: row for row in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))}


@pytest.mark.slow
@pytest.mark.postgres
def test_a_round_through_nginx_on_two_app_servers_leaves_no_code_in_any_log(deployment: Deployment) -> None:
    nginx = deployment.nginx
    open_round(deployment, "r2012")
    codes = issued_codes(deployment, "r2012", 6)
    deployment.flask("users", "create", "zuzhibu", "--role", "organizer", "--password-stdin", stdin=PASSWORD + "\n")

    health = deployment.browser().get("/healthz")
    assert (health.status, health.text) == (200, "ok\n")

    # ballots by code: each page and its POST may be served by different app servers
    receipts = [cast(deployment, f"/b/{code}", STAFF) for code in codes[:4]]
    # the entry form: the code typed into /b/?code=...
    phone = deployment.browser()
    typed = phone.get(f"/b/?code={codes[4].lower()}")
    assert typed.status in (301, 302, 303), typed.status
    receipts.append(cast(deployment, typed.headers["Location"], STAFF))
    # the open link, two phones
    receipts += [cast(deployment, "/r/r2012/students", STUDENT) for _ in range(2)]
    # plain http: sent on to https, code and all, and answered by nginx alone
    conn = socket.create_connection(("127.0.0.1", nginx.http_port), timeout=30)
    conn.sendall(f"GET /b/{codes[5]} HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\n\r\n".encode())
    answer = conn.makefile("rb").read().decode("latin-1")
    conn.close()
    assert answer.startswith("HTTP/1.1 301") and f"Location: https://{DOMAIN}/b/{codes[5]}" in answer, answer

    served = {name: log.read_text().count("POST ") for name, log in deployment.app_logs.items()}
    assert all(served.values()), f"ballots per app server: {served}"

    # one app server dies: nginx passes its requests to the other, no ballot is lost
    stop(deployment.apps["b"], signal.SIGKILL)
    receipts.append(cast(deployment, f"/b/{codes[5]}", STAFF))
    receipts.append(cast(deployment, "/r/r2012/students", STUDENT))
    assert len(set(receipts)) == 9

    deployment.flask("rounds", "close", "r2012")
    cli_scorecard = deployment.work / "scorecard.csv"
    deployment.flask("score", "r2012", "--out", str(cli_scorecard))

    organizer = deployment.browser()
    signed_in = organizer.submit("/login", {"username": "zuzhibu", "password": PASSWORD})
    assert signed_in.status == 303, signed_in.text[:500]
    download = organizer.get("/console/rounds/r2012/scorecard.csv")
    assert download.status == 200, download.text[:500]
    assert download.text == cli_scorecard.read_text(encoding="utf-8"), "console and flask score differ"
    b01 = scorecard_rows(download.text)["B01"]
    assert (b01["n_staff"], b01["n_students"]) == ("6", "3"), b01

    nginx.stop()
    stop(deployment.apps["a"])
    logged = deployment.everything_logged()
    for code in codes:
        for form in variants(code):
            assert form not in logged, f"{form} is in a log"
    access = (nginx.logs / "survey-access.log").read_text()
    assert access.count('"POST /b/***" 200') == 6 and access.count('"GET /b/***" 301') == 1, access
    assert access.count('"POST /r/r2012/students" 200') == 3, access
    assert not (nginx.logs / "default-access.log").read_text(), "a request was logged outside the site's log"
