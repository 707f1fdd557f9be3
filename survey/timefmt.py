"""Times shown to people are Beijing time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))


def beijing(moment: datetime) -> datetime:
    """``moment`` in Beijing time; a naive value is taken as UTC (how SQLite returns them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(BEIJING)
