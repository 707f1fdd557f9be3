"""Whether a host name or address is this machine only: the one test behind every refusal to
hand out a loopback address (codes, posters, the key page) and to expose a debugger or plain
HTTP to the network."""

from __future__ import annotations

import ipaddress

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


def is_loopback_host(host: str | None) -> bool:
    """``localhost`` (or a name under ``.localhost``), 127.x.x.x or ::1, brackets allowed; an
    empty host counts as loopback (nothing another machine could reach)."""
    host = (host or "").strip("[]").lower()
    if not host or host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
