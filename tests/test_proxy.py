"""Behind a reverse proxy every request comes from the proxy's address; the per-address limits
(sign-in, code guessing, open links) need the client's own address from X-Forwarded-For."""

from __future__ import annotations

import pytest
from flask import Flask, request

from survey import create_app

from .conftest import SECRET


def seen_address(app: Flask, environ: dict[str, str]) -> str:
    @app.get("/_address")
    def address() -> str:
        return request.remote_addr or ""

    return app.test_client().get("/_address", environ_base=environ).get_data(as_text=True)


@pytest.mark.parametrize(("proxies", "expected"), [(0, "127.0.0.1"), (1, "203.0.113.9")])
def test_the_client_address_comes_from_the_proxy_only_when_told_to_trust_one(
    tmp_path, proxies: int, expected: str  # noqa: ANN001
) -> None:
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": SECRET, "CODE_KEY": "k",
                      "INSTANCE_PATH": str(tmp_path / "instance"), "TESTING": True, "PROXY_COUNT": proxies})
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    assert seen_address(app, environ) == expected
