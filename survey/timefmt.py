"""Times shown to people are Beijing time, and so are the dates the service writes down (a
领导点评 saved at 02:38 on 4 December is dated 2026-12-04, not the UTC day before)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8))


def beijing(moment: datetime) -> datetime:
    """``moment`` in Beijing time; a naive value is taken as UTC (how SQLite returns them)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(BEIJING)


def beijing_today() -> date:
    """Today's date in Beijing, whatever the server's own time zone."""
    return datetime.now(BEIJING).date()
