"""Per-client limits of the public pages: failed code lookups, and ballots on open links.

Counted once for the whole installation (``survey.counters``, in the database): every worker
and app server shares the count, and a restart keeps it. A client is its address
(``request.remote_addr``, the proxy's word only for ``TRUSTED_PROXIES``: ``survey.proxies``),
stored only as a keyed hash, in rows that go once their window has passed, written in their own
short transaction: call these before a ballot's transaction or after its commit, never inside.

Beside the per-client counts, ballots arriving on each group are counted per minute, with no
client at all, for the round's console page (``arrivals``).
"""

from __future__ import annotations

from flask import current_app, request

from .. import counters
from ..counters import Window
from ..extensions import db
from ..models import Group

#: ballots arriving per group and minute: one-minute buckets, kept seven minutes
ARRIVALS = Window(seconds=6 * 60, limit=0)
#: the minutes the console shows: the five before and the one in progress
ARRIVAL_MINUTES = 6


def client() -> str:
    return request.remote_addr or "-"


# --- guessing codes -------------------------------------------------------------------------------


def _code_window() -> Window:
    config = current_app.config
    return Window(int(config["CODE_FAILURE_WINDOW"]), int(config["CODE_FAILURES_PER_WINDOW"]))


def _code_key() -> str:
    return counters.client_key("code-failure", client())


def code_lookups_blocked() -> bool:
    """Whether this client has had too many failed code lookups lately (a valid code never
    counts, so a campus NAT opening hundreds of good codes is never held back)."""
    window = _code_window()
    return counters.total("code-failure", _code_key(), window) >= window.limit


def failed_code_lookup() -> None:
    counters.add("code-failure", _code_key(), _code_window())


# --- open links -----------------------------------------------------------------------------------


def open_ballot_window(group_id: int, per_minute: int | None = None) -> Window:
    """At most the group's ``per_address_per_minute`` ballots from one client in any minute."""
    if per_minute is None:
        group = db.session.get(Group, group_id)  # the request has loaded it: no query
        per_minute = group.per_address_per_minute if group is not None else 60
    return Window(60, int(per_minute))


def _open_key(group_id: int) -> str:
    return counters.client_key("open-ballot", client(), group_id)


def _group_key(group_id: int) -> str:
    return f"g{group_id}"


def take_open_ballot(group_id: int, per_minute: int | None = None) -> list[counters.Slot] | None:
    """Count one ballot from this client on an open link, and its arrival, if the client is
    under its rate: where they were counted (``give_back`` if the ballot is not stored after
    all); None, with nothing counted, when it is at its limit."""
    return counters.take("open-ballot", _open_key(group_id), open_ballot_window(group_id, per_minute),
                         also=[("arrivals", _group_key(group_id), ARRIVALS)])


def give_back(slots: list[counters.Slot] | None) -> None:
    """Uncount a ballot ``take_open_ballot`` counted and that was not stored."""
    if slots:
        counters.give_back(slots)


def count_refusal(group_id: int) -> None:
    """Count one ballot refused on an open link for its client's rate (shown, per minute, on
    the round's console page, with no address)."""
    counters.add("refused", _group_key(group_id), ARRIVALS)


def open_ballot_allowed(group_id: int, per_minute: int | None = None) -> bool:
    """Count one ballot from this client on an open link, and its arrival; False, with nothing
    counted but the refusal, when the client is at its limit."""
    if take_open_ballot(group_id, per_minute) is not None:
        return True
    count_refusal(group_id)
    return False


def open_ballot_within_limit(group_id: int, per_minute: int | None = None) -> bool:
    """Whether this client may cast one more ballot on an open link now (counts nothing)."""
    window = open_ballot_window(group_id, per_minute)
    return counters.total("open-ballot", _open_key(group_id), window) < window.limit


def count_open_ballot(group_id: int, per_minute: int | None = None) -> None:
    """Count one ballot from this client on an open link, and its arrival."""
    counters.add_all([("open-ballot", _open_key(group_id), open_ballot_window(group_id, per_minute)),
                      ("arrivals", _group_key(group_id), ARRIVALS)])


def count_arrival(group_id: int) -> None:
    """Count one ballot arriving on a group (a code's: the open link's are counted with their
    client's)."""
    counters.add("arrivals", _group_key(group_id), ARRIVALS)


def arrivals(group_ids: list[int]) -> dict[int, list[int]]:
    """Ballots stored per minute on each group, the last ``ARRIVAL_MINUTES`` minutes, the
    minute in progress last."""
    counts = counters.per_minute("arrivals", [_group_key(g) for g in group_ids], ARRIVAL_MINUTES)
    return {g: counts[_group_key(g)] for g in group_ids}


def refusals(group_ids: list[int]) -> dict[int, list[int]]:
    """Ballots refused per minute on each open link for their client's rate, as ``arrivals``."""
    counts = counters.per_minute("refused", [_group_key(g) for g in group_ids], ARRIVAL_MINUTES)
    return {g: counts[_group_key(g)] for g in group_ids}
