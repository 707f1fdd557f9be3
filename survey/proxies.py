"""The client's address, told by a reverse proxy only when the proxy is one we trust.

Behind nginx every connection comes from nginx, so the client's own address must come from
the ``X-Forwarded-For`` header nginx adds. But anyone who reaches the app directly can send
that header too, and a fresh made-up address with every request would dissolve every
per-address limit. So the header is read only when the connection comes from an address in
``TRUSTED_PROXIES`` (``SURVEY_TRUSTED_PROXIES``); from anyone else the connection's own address
is the client's, and the header is ignored.

``X-Forwarded-For`` lists the addresses a request passed, the client's first, each proxy
appending the address it saw. Read from the right, the first address that is not one of our
proxies is the client: what lies left of it was written by the client and proves nothing.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

#: where the connection's own address is kept when the client's replaces it
PEER_KEY = "survey.proxy_peer"


def parse_trusted_proxies(value: Any) -> tuple[Network, ...]:
    """``"10.0.0.5, 10.0.1.0/24"`` (or a list of them) as networks; a bad entry is refused,
    naming it."""
    if value is None or value == "":
        return ()
    entries: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    networks: list[Network] = []
    for entry in entries:
        if isinstance(entry, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
            networks.append(entry)
            continue
        text = str(entry).strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(
                f"SURVEY_TRUSTED_PROXIES: {text!r} is not an IP address or network (comma-separated, "
                "e.g. 127.0.0.1,10.0.0.0/24)"
            ) from None
    return tuple(networks)


def _address(text: str) -> Address | None:
    """An address as a header or the server gives it, with a port or brackets taken off."""
    text = text.strip().strip('"')
    if text.startswith("["):  # [2001:db8::1]:443
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # 203.0.113.9:5000
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """WSGI middleware: ``REMOTE_ADDR`` becomes the client's address, and the scheme the one the
    client used, when the connection comes from a trusted proxy; otherwise nothing changes."""

    def __init__(self, app: Any, networks: tuple[Network, ...]) -> None:
        self.app = app
        self.networks = networks

    def trusted(self, address: Address | None) -> bool:
        return address is not None and any(address in network for network in self.networks)

    def client(self, peer: str, forwarded: str) -> str:
        """The client's address: the rightmost one in ``forwarded`` that is not a trusted
        proxy; if one there is malformed, the last good one before it (or the peer's)."""
        client = peer
        for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
            address = _address(hop)
            if address is None:
                break
            client = str(address)
            if not self.trusted(address):
                break
        return client

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        peer = environ.get("REMOTE_ADDR") or ""
        if self.networks and self.trusted(_address(peer)):
            environ[PEER_KEY] = peer
            forwarded = environ.get("HTTP_X_FORWARDED_FOR", "")
            if forwarded:
                environ["REMOTE_ADDR"] = self.client(peer, forwarded)
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
        return self.app(environ, start_response)
