"""NYSE trading days and session times (XNYS from ``exchange_calendars``), in America/New_York."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from spreadpilot.clock import NEW_YORK

REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)


@cache
def _xnys() -> Any:
    # Imported lazily: exchange_calendars pulls in pandas (~0.5 s), which only day-aware entry points need.
    import exchange_calendars

    return exchange_calendars.get_calendar("XNYS")


def preload() -> None:
    """Load the calendar now (pandas and exchange_calendars: most of a second); call it off an event loop at
    start-up, so a loop that asks for today's close later does not stall on the import."""
    _xnys()


def is_trading_day(day: date) -> bool:
    """True on NYSE sessions (no weekends, no holidays)."""
    return bool(_xnys().is_session(day.isoformat()))


def session_open(day: date) -> datetime:
    """The regular open of ``day`` in New York time; ``ValueError`` if the market is closed that day."""
    if not is_trading_day(day):
        raise ValueError(f"{day} is not an NYSE trading day")
    return datetime.combine(day, REGULAR_OPEN, NEW_YORK)


def session_close(day: date) -> datetime:
    """The close of ``day`` in New York time: 16:00, or 13:00 on half days."""
    if not is_trading_day(day):
        raise ValueError(f"{day} is not an NYSE trading day")
    close = _xnys().session_close(day.isoformat()).tz_convert(str(NEW_YORK)).to_pydatetime()
    return datetime.combine(day, close.time(), NEW_YORK)


@cache
def early_by(day: date) -> timedelta:
    """How much earlier than 16:00 ``day`` closes: 3 hours on a half day, nothing on a regular day or a day without
    a session (a rule at a regular-day time moves by this on a half day: 15:55 becomes 12:55)."""
    if not is_trading_day(day):
        return timedelta(0)
    return datetime.combine(day, REGULAR_CLOSE, NEW_YORK) - session_close(day)


def on_the_day(day: date, regular: time) -> time:
    """``regular`` (a New York time of a regular day) moved to ``day``'s close: earlier by ``early_by(day)``."""
    return (datetime.combine(day, regular) - early_by(day)).time()
