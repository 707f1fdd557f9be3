"""Per-client counters for the public pages: failed code lookups, and ballots on open links.

Kept in the process's memory, never in the database (least of all beside the ballots): a
counter is keyed by the client's address, and an address stored with a ballot would be a
handle on the person. Each app process counts alone, so with N gunicorn workers a client gets
up to N times the limit; that still turns 275 guesses a second into a few an hour.
"""

from __future__ import annotations

import threading
import time
from collections import deque

from flask import current_app, request


class SlidingWindow:
    """How many events each key had within the last ``window`` seconds."""

    def __init__(self) -> None:
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def count(self, key: str, window: float) -> int:
        with self._lock:
            return len(self._prune(key, window, time.monotonic()))

    def add(self, key: str, window: float) -> int:
        """Record one event; the count within the window, this one included."""
        now = time.monotonic()
        with self._lock:
            events = self._prune(key, window, now)
            events.append(now)
            if len(self._events) > 100_000:  # forget idle clients rather than grow without end
                for stale in [k for k, v in self._events.items() if not v or v[-1] < now - window]:
                    del self._events[stale]
            return len(events)

    def _prune(self, key: str, window: float, now: float) -> deque[float]:
        events = self._events.setdefault(key, deque())
        while events and events[0] <= now - window:
            events.popleft()
        return events


def _windows() -> dict[str, SlidingWindow]:
    return current_app.extensions.setdefault("survey.limits", {})


def _counter(name: str) -> SlidingWindow:
    return _windows().setdefault(name, SlidingWindow())


def client() -> str:
    return request.remote_addr or "-"


def code_lookups_blocked() -> bool:
    """Whether this client has had too many failed code lookups lately."""
    config = current_app.config
    return _counter("code-failures").count(client(), config["CODE_FAILURE_WINDOW"]) >= config["CODE_FAILURES_PER_WINDOW"]


def failed_code_lookup() -> None:
    _counter("code-failures").add(client(), current_app.config["CODE_FAILURE_WINDOW"])


def open_ballot_allowed(group_id: int) -> bool:
    """Count one ballot from this client on an open link; False when over the limit."""
    config = current_app.config
    key = f"{client()} {group_id}"
    counter = _counter("open-ballots")
    if counter.count(key, config["OPEN_BALLOT_WINDOW"]) >= config["OPEN_BALLOTS_PER_WINDOW"]:
        return False
    counter.add(key, config["OPEN_BALLOT_WINDOW"])
    return True
