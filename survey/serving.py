"""Where gunicorn may listen, and how: checked by ``gunicorn.conf.py`` before it binds.

A ballot request carries its code and its answers. In plain HTTP anyone on the path (the same
Wi-Fi, a switch's mirror port) reads both, and may cast the ballot first with the code it read.
So gunicorn listens on loopback only (nginx in front does TLS, docs/deploy.md), or speaks TLS
itself (``SURVEY_TLS_CERT`` and ``SURVEY_TLS_KEY``), or is told in so many words that plain
HTTP on a network is wanted (``SURVEY_PLAIN_HTTP_LAN=yes``, for a closed lab), and then says
loudly what that gives away.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from dataclasses import dataclass

from .hosts import is_loopback_host

TLS_CERT = "SURVEY_TLS_CERT"
TLS_KEY = "SURVEY_TLS_KEY"
PLAIN_HTTP_LAN = "SURVEY_PLAIN_HTTP_LAN"


@dataclass(frozen=True)
class Verdict:
    """``refusal``: why gunicorn must not start; ``warning``: what to print if it does."""

    refusal: str | None = None
    warning: str | None = None


def bind_host(address: str) -> str | None:
    """The host of a gunicorn bind address (``HOST:PORT``, ``[V6]:PORT``, ``HOST``), or None
    for a unix socket, which no network reaches. ``fd://N`` (a socket systemd opened) and a
    bare ``:PORT`` are treated as every address."""
    if address.startswith("unix:"):
        return None
    if address.startswith("fd://"):
        return "0.0.0.0"
    if address.startswith("["):
        return address[1:address.index("]")] if "]" in address else address
    host = address.rsplit(":", 1)[0] if address.count(":") == 1 else address
    return host or "0.0.0.0"


def network_binds(binds: Iterable[str]) -> list[str]:
    """The bind addresses that another machine can reach."""
    found = []
    for address in binds:
        host = bind_host(address)
        if host is not None and not is_loopback_host(host):
            found.append(address)
    return found


def check_serving(binds: Iterable[str], certfile: str | None, keyfile: str | None,
                  plain_http_lan: str | None) -> Verdict:
    """Whether gunicorn may start on ``binds`` with these TLS files (gunicorn's ``certfile`` and
    ``keyfile``, from ``SURVEY_TLS_CERT``/``SURVEY_TLS_KEY``) and ``SURVEY_PLAIN_HTTP_LAN``."""
    if bool(certfile) != bool(keyfile):
        return Verdict(refusal=f"{TLS_CERT} and {TLS_KEY} go together: set both (the certificate chain and its key) or neither")
    if certfile and keyfile:
        try:
            ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(certfile, keyfile)
        except (OSError, ssl.SSLError) as exc:
            return Verdict(refusal=f"the TLS certificate {certfile} with key {keyfile} cannot be loaded: {exc}")
        return Verdict()
    exposed = network_binds(binds)
    if not exposed:
        return Verdict()
    where = ", ".join(exposed)
    if (plain_http_lan or "").strip().lower() != "yes":
        return Verdict(refusal=(
            f"{where} is reachable from the network and this would be plain HTTP, every ballot code "
            f"and answer readable on the way: bind 127.0.0.1 behind nginx (docs/deploy.md), or give "
            f"gunicorn a certificate ({TLS_CERT}, {TLS_KEY}), or, for a closed lab network only, "
            f"set {PLAIN_HTTP_LAN}=yes"
        ))
    return Verdict(warning=plain_http_warning(where))


def plain_http_warning(where: str) -> str:
    """The banner printed when plain HTTP on a network was chosen."""
    rule = "!" * 78
    return "\n".join([
        rule,
        f"PLAIN HTTP on {where} ({PLAIN_HTTP_LAN}=yes)",
        "Anyone on this network can read every ballot code and every answer in transit,",
        "and cast a ballot with a code read off the air before its owner does.",
        "明文 HTTP：同一网络中的任何人都能看到评议码和答案，并可抢先用截获的评议码投票。",
        "Only for a closed lab network that nobody else is on. For a real round: nginx",
        f"with TLS in front (docs/deploy.md), or {TLS_CERT} and {TLS_KEY}.",
        rule,
    ])
