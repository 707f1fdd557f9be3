"""Behind a reverse proxy every request comes from the proxy's address; the per-address limits
(sign-in, code guessing, open links) need the client's own address from X-Forwarded-For, but
only a proxy in SURVEY_TRUSTED_PROXIES is believed: anyone else can write that header."""

from __future__ import annotations

import pytest
from flask import Flask, request

from survey import create_app

from .conftest import SECRET


def make_app(tmp_path, **config) -> Flask:  # noqa: ANN001, ANN003
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": SECRET, "CODE_KEY": "k",
                      "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True, **config})

    @app.get("/_seen")
    def seen() -> str:
        return f"{request.remote_addr} {request.scheme}"

    return app


def seen(app: Flask, peer: str, forwarded: str | None = None, proto: str | None = None) -> str:
    environ = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    if proto is not None:
        environ["HTTP_X_FORWARDED_PROTO"] = proto
    return app.test_client().get("/_seen", environ_base=environ).get_data(as_text=True)


def test_without_trusted_proxies_the_header_is_ignored(tmp_path) -> None:  # noqa: ANN001
    app = make_app(tmp_path)
    assert seen(app, "127.0.0.1", "203.0.113.9", "https") == "127.0.0.1 http"


def test_a_trusted_proxy_is_believed_and_anyone_else_is_not(tmp_path) -> None:  # noqa: ANN001
    app = make_app(tmp_path, TRUSTED_PROXIES="127.0.0.1")
    assert seen(app, "127.0.0.1", "203.0.113.9", "https") == "203.0.113.9 https"
    # a client reaching the app directly, with a made-up header: its own address counts
    assert seen(app, "198.51.100.20", "203.0.113.9", "https") == "198.51.100.20 http"


def test_the_client_is_the_rightmost_address_that_is_not_a_proxy_of_ours(tmp_path) -> None:  # noqa: ANN001
    app = make_app(tmp_path, TRUSTED_PROXIES="127.0.0.1, 10.0.0.0/24")
    # the client wrote "1.2.3.4" itself; nginx (127.0.0.1) appended what it saw
    assert seen(app, "127.0.0.1", "1.2.3.4, 198.51.100.20").split()[0] == "198.51.100.20"
    # two proxies of ours: a load balancer (10.0.0.7) in front of nginx
    assert seen(app, "127.0.0.1", "1.2.3.4, 198.51.100.20, 10.0.0.7").split()[0] == "198.51.100.20"
    # rubbish where the client's address should be: the last proxy that spoke clearly
    assert seen(app, "127.0.0.1", "1.2.3.4, not-an-address, 10.0.0.7").split()[0] == "10.0.0.7"
    # an address with a port, and an IPv6 one in brackets
    assert seen(app, "127.0.0.1", "198.51.100.21:50123").split()[0] == "198.51.100.21"
    assert seen(app, "127.0.0.1", "[2001:db8::7]:443").split()[0] == "2001:db8::7"


def test_the_old_proxy_count_is_not_read(tmp_path) -> None:  # noqa: ANN001
    """Beside SURVEY_TRUSTED_PROXIES (a settings file carried over) it changes nothing."""
    app = make_app(tmp_path, PROXY_COUNT=1, TRUSTED_PROXIES="10.0.0.5")
    assert seen(app, "127.0.0.1", "203.0.113.9").split()[0] == "127.0.0.1"


def test_the_setting_comes_from_the_environment(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("SURVEY_TRUSTED_PROXIES", "10.0.0.5,127.0.0.1")
    app = make_app(tmp_path)
    assert seen(app, "10.0.0.5", "203.0.113.9").split()[0] == "203.0.113.9"
    monkeypatch.setenv("SURVEY_TRUSTED_PROXIES", "127.0.0.1")  # one address is not JSON either
    assert seen(make_app(tmp_path), "127.0.0.1", "203.0.113.9").split()[0] == "203.0.113.9"


@pytest.mark.parametrize(("config", "says"), [
    ({"TRUSTED_PROXIES": "127.0.0.1, nginx"}, "'nginx' is not an IP address"),
    ({"PROXY_COUNT": 1}, "SURVEY_TRUSTED_PROXIES"),
    ({"MIN_SECONDS_PER_QUESTION": -1}, "SURVEY_MIN_SECONDS_PER_QUESTION"),
    ({"MIN_SECONDS_PER_QUESTION": "soon"}, "SURVEY_MIN_SECONDS_PER_QUESTION"),
])
def test_a_setting_that_cannot_work_is_refused_at_start(tmp_path, config, says) -> None:  # noqa: ANN001
    with pytest.raises(ValueError, match=says):
        make_app(tmp_path, **config)
