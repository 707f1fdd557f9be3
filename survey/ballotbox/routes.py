"""The 监票人's key page, reached through a one-time link (no account): it makes the ballot box
key pair in the browser, lets the 监票人 save the key file and print the key sheet, and sends
the server only the public key. Plus the template filters that show a round's fingerprint.

The page runs vendored, pinned libraries from ``static/vendor`` (X25519 from @noble/curves,
hashes from @noble/hashes, QR from @paulmillr/qr) and no code from anywhere else; its own
Content-Security-Policy allows scripts from this site only, and the import map by its hash.
It refuses to make a key outside a secure context (https://, or localhost): a page sent in
the clear could be altered on the way.
"""

from __future__ import annotations

import base64
import hashlib
import json

from flask import Blueprint, Flask, Response, jsonify, render_template, request, url_for
from markupsafe import Markup

from ..database import unit_of_work
from ..errors import ServiceError
from ..extensions import csrf
from ..models import Round
from .box import box_fingerprint, custody_of
from .custody import LinkUnusable, deliver_by_link, keygen_link

bp = Blueprint("keygen", __name__)
csrf.exempt(bp)  # the unguessable one-time token in the address is the credential; no session

#: where the page's modules find the vendored libraries
IMPORT_MAP = {"imports": {
    "@noble/curves/": "/static/vendor/noble-curves-2.4.0/",
    "@noble/hashes/": "/static/vendor/noble-hashes-2.4.0/",
    "@paulmillr/qr": "/static/vendor/paulmillr-qr-0.3.0/index.js",
}}


def _csp(import_map: str) -> str:
    digest = base64.b64encode(hashlib.sha256(import_map.encode()).digest()).decode()
    return (
        f"default-src 'none'; script-src 'self' 'sha256-{digest}'; style-src 'unsafe-inline'; "
        "img-src 'self' data: blob:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


@bp.after_request
def _private(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    return response


@bp.get("/k/<token>")
def key_page(token: str):  # noqa: ANN201
    try:
        link = keygen_link(token)
    except LinkUnusable as exc:
        return render_template("respond/message.html", title="生成投票箱密钥", text=str(exc)), 404
    import_map = json.dumps(IMPORT_MAP, separators=(",", ":"))
    round_ = link.round
    response = Response(render_template(
        "ballotbox/keygen.html", round=round_, import_map=Markup(import_map),
        deliver=url_for("keygen.deliver", token=token), expires=link.expires_at,
    ))
    response.headers["Content-Security-Policy"] = _csp(import_map)
    return response


@bp.post("/k/<token>")
def deliver(token: str):  # noqa: ANN201
    """``{"public_key": "<64 hex digits>"}`` → ``{"fingerprint": ...}``; never a private key."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or set(data) != {"public_key"} or not isinstance(data["public_key"], str):
        return jsonify(error="只接受公钥（public_key，64 位十六进制）。"), 400
    try:
        public_key = bytes.fromhex(data["public_key"])
    except ValueError:
        return jsonify(error="公钥应为 64 位十六进制数字。"), 400
    try:
        with unit_of_work():
            mark = deliver_by_link(token, public_key)
    except LinkUnusable as exc:
        return jsonify(error=str(exc)), 404
    except ServiceError as exc:
        return jsonify(error=str(exc)), 400
    return jsonify(fingerprint=mark)


def custody_label(round_: Round) -> str:
    return custody_of(round_).label


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.add_template_filter(box_fingerprint, "box_fingerprint")
    app.add_template_filter(custody_label, "box_custody_label")
