"""The shipped deployment started for real, for the deploy tests and ``bench/ballots_nginx.py``:
gunicorn with ``gunicorn.conf.py``, Debian's nginx with ``deploy/nginx/survey.conf`` rendered
for high loopback ports and a prefix of its own, a self-signed certificate, and an HTTPS client
that keeps its cookies like a phone's browser.

Programs the machine lacks (nginx, openssl) skip the tests that need them, except under
``CI=true``, where a missing program is a failure: ``.ci/run`` installs them.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "deploy" / "nginx" / "survey.conf"
#: the domain the shipped site is written for; the tests keep it (SNI, Host, certificate)
DOMAIN = "pingyi.example.edu.cn"
IN_CI = os.environ.get("CI", "").lower() == "true"


def need(program: str, package: str) -> str:
    """The path of ``program``: the test is skipped without it, or fails under CI."""
    found = shutil.which(program) or next(
        (str(p) for p in (Path("/usr/sbin") / program, Path("/sbin") / program) if p.exists()), None
    )
    if found:
        return found
    message = f"{program} is not installed (Debian package {package})"
    if IN_CI:
        pytest.fail(f"CI=true but {message}: .ci/run must install it")
    pytest.skip(f"{message}: skipping")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def self_signed(folder: Path, name: str = DOMAIN) -> tuple[Path, Path]:
    """A throw-away certificate for ``name`` (and 127.0.0.1) and its key, made with openssl:
    P-256, as certbot makes them."""
    openssl = need("openssl", "openssl")
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


# --- gunicorn ------------------------------------------------------------------------------------


def start_gunicorn(env: dict[str, str], log: Path, *extra: str) -> subprocess.Popen:
    """The service under gunicorn with the shipped configuration, as the systemd unit runs it;
    everything it writes (access and error log) goes to ``log``."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(gunicorn), "-c", str(ROOT / "gunicorn.conf.py"), *extra, "survey:create_app()"],
            cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


def wait_listening(port: int, process: subprocess.Popen, what: str = "gunicorn", timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"{what} exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"{what} does not listen on {port} after {timeout} s")


def stop(process: subprocess.Popen | None, sig: int = signal.SIGTERM) -> None:
    """Stop a server started in its own session, and wait for it (and its workers) to end."""
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, sig)
    try:
        process.wait(timeout=40)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --- nginx ---------------------------------------------------------------------------------------


def render_site(*, https_port: int, http_port: int, upstreams: list[str], cert: Path, key: Path,
                logs: Path, site: str | None = None) -> str:
    """``deploy/nginx/survey.conf`` with only what a machine changes changed: the listening
    ports (loopback, no IPv6), the app servers, the certificate, the log folder and the folder
    of the busy page. Each replaced text must be in the site as shipped."""
    text = SITE.read_text() if site is None else site
    servers = "\n    ".join(f"server {u} max_fails=1 fail_timeout=10s;" for u in upstreams)
    replacements = [
        ("listen 80 default_server;", f"listen 127.0.0.1:{http_port} default_server;"),
        ("listen 443 ssl http2 default_server;", f"listen 127.0.0.1:{https_port} ssl http2 default_server;"),
        ("server 127.0.0.1:8000 max_fails=1 fail_timeout=10s;", servers),
        (f"/etc/letsencrypt/live/{DOMAIN}/fullchain.pem", str(cert)),
        (f"/etc/letsencrypt/live/{DOMAIN}/privkey.pem", str(key)),
        ("/var/log/nginx/", f"{logs}/"),
        ("/opt/survey/deploy/nginx", str(ROOT / "deploy" / "nginx")),
    ]
    for old, new in replacements:
        assert old in text, f"deploy/nginx/survey.conf no longer has {old!r}: update tests/web_servers.py"
        text = text.replace(old, new)
    return re.sub(r"^\s*listen \[::\]:.*\n", "", text, flags=re.MULTILINE)


#: what Debian's /etc/nginx/nginx.conf sets around a site, in a prefix of the test's own: the
#: http-level access log and the main error log (at info) are there so that a line the site
#: fails to keep in its own logs shows up in them
MAIN_CONF = """\
{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/main-error.log info;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {prefix}/logs/default-access.log;
    client_body_temp_path {prefix}/temp/body;
    proxy_temp_path {prefix}/temp/proxy;
    fastcgi_temp_path {prefix}/temp/fastcgi;
    uwsgi_temp_path {prefix}/temp/uwsgi;
    scgi_temp_path {prefix}/temp/scgi;
    include {prefix}/survey.conf;
}}
"""


@dataclass
class Nginx:
    prefix: Path
    process: subprocess.Popen
    https_port: int
    http_port: int

    @property
    def logs(self) -> Path:
        return self.prefix / "logs"

    def log_text(self) -> str:
        """Everything nginx wrote: its logs and its own output."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.iterdir()) if p.is_file())

    def stop(self) -> None:
        """Graceful stop (SIGQUIT), which also flushes the logs."""
        stop(self.process, signal.SIGQUIT)


def start_nginx(prefix: Path, upstreams: list[str], cert: Path, key: Path) -> Nginx:
    """Debian's nginx in front of ``upstreams`` with the shipped site, on two free ports."""
    nginx = need("nginx", "nginx")
    logs = prefix / "logs"
    for folder in (logs, prefix / "temp"):
        folder.mkdir(parents=True, exist_ok=True)
    https_port, http_port = free_port(), free_port()
    (prefix / "survey.conf").write_text(
        render_site(https_port=https_port, http_port=http_port, upstreams=upstreams, cert=cert, key=key, logs=logs)
    )
    user = "user root root;" if os.geteuid() == 0 else ""
    (prefix / "nginx.conf").write_text(MAIN_CONF.format(prefix=prefix, user=user))
    command = [nginx, "-p", str(prefix), "-e", str(logs / "startup-error.log"), "-c", str(prefix / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, f"nginx -t refused the rendered site:\n{checked.stderr}"
    with (logs / "nginx-output.log").open("ab") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Nginx(prefix, process, https_port, http_port)
    wait_listening(https_port, process, "nginx")
    return server


# --- a phone's browser over HTTPS ----------------------------------------------------------------


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to ``host`` (SNI, certificate check, Host header) on 127.0.0.1: no DNS needed."""

    def connect(self) -> None:
        sock = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


@dataclass
class Page:
    status: int
    headers: http.client.HTTPMessage
    text: str


FORM_TOKEN = re.compile(r'name="(csrf_token|ticket)"[^>]*value="([^"]*)"')
RECEIPT = re.compile(r'id="receipt">([^<]+)<')


@dataclass
class Browser:
    """One phone or laptop: its own cookies, a new HTTPS connection per request."""

    port: int
    cafile: Path
    host: str = DOMAIN
    cookies: dict[str, str] = field(default_factory=dict)
    timeout: float = 60

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Page:
        context = ssl.create_default_context(cafile=str(self.cafile))
        conn = _PinnedHTTPS(self.host, self.port, context=context, timeout=self.timeout)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            text = response.read().decode("utf-8", errors="replace")
        finally:
            conn.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name.strip()] = value.strip()
        return Page(response.status, response.headers, text)

    def get(self, path: str) -> Page:
        return self.request("GET", path)

    def submit(self, path: str, fields: dict[str, str]) -> Page:
        """Open a form page and post ``fields`` with its hidden tokens, as a browser does."""
        page = self.get(path)
        assert page.status == 200, (path, page.status, page.text[:500])
        return self.request("POST", path, {**dict(FORM_TOKEN.findall(page.text)), **fields})


def receipt_in(page: Page) -> str | None:
    found = RECEIPT.search(page.text)
    return found.group(1) if found else None
