"""NYSE trading days and session times (XNYS from ``exchange_calendars``), in America/New_York.

``exchange_calendars`` (with pandas) costs most of a second and about 60 MB of memory. A long-running process that
needs only the days around now (the executor, ibsim) calls ``preload_isolated``: a child process reads the
calendar and hands back its sessions from ``TABLE_DAYS_BACK`` days ago to the calendar's last one (a year ahead) as
a small table, so pandas is never loaded in the long-running one. A day outside the table is answered by the
calendar itself, loaded then (correct, only heavier): nothing is ever guessed.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any

from spreadpilot.clock import NEW_YORK

log = logging.getLogger(__name__)
REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
TABLE_DAYS_BACK = 400
_table: dict[str, Any] | None = None  # {"first", "last": ISO dates, "closes": {ISO date: "HH:MM" New York}}


@cache
def _xnys() -> Any:
    # Imported lazily: exchange_calendars pulls in pandas (~0.5 s), which only day-aware entry points need.
    import exchange_calendars

    return exchange_calendars.get_calendar("XNYS")


def sessions_table(first: date) -> dict[str, Any]:
    """Every session from ``first`` to the calendar's last, with its close in New York (what an isolated preload
    hands back)."""
    calendar = _xnys()
    start = max(first, calendar.first_session.date())
    closes = calendar.schedule.loc[start.isoformat():, "close"].dt.tz_convert(str(NEW_YORK))
    return {"first": start.isoformat(), "last": calendar.last_session.date().isoformat(),
            "closes": {day.date().isoformat(): f"{close:%H:%M}" for day, close in closes.items()}}


def preload() -> None:
    """Load the calendar now (pandas and exchange_calendars: most of a second); call it off an event loop at
    start-up, so a loop that asks for today's close later does not stall on the import."""
    _xnys()


def preload_isolated(today: date) -> None:
    """Read the calendar in a child process and keep only its sessions from ``TABLE_DAYS_BACK`` days before ``today``
    on (for a long-running process: pandas never loads in it); off an event loop, at start-up."""
    global _table
    first = today - timedelta(days=TABLE_DAYS_BACK)
    argv = [sys.executable, "-m", "spreadpilot.market_calendar", first.isoformat()]
    try:
        out = subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120).stdout  # noqa: S603 - argv is ours
        _table = json.loads(out)
    except (OSError, subprocess.SubprocessError, ValueError) as exc:  # the child failed: the calendar answers itself
        log.warning("market calendar table not read in a child process; loading the calendar here instead",
                    extra={"error": str(exc)[:300]})
        _xnys()


def _tabled(day: date) -> dict[str, str] | None:
    """The table's closes when it covers ``day``, else None (the calendar answers)."""
    table = _table
    if table is None or not table["first"] <= day.isoformat() <= table["last"]:
        return None
    closes: dict[str, str] = table["closes"]
    return closes


def is_trading_day(day: date) -> bool:
    """True on NYSE sessions (no weekends, no holidays)."""
    closes = _tabled(day)
    if closes is not None:
        return day.isoformat() in closes
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
    closes = _tabled(day)
    if closes is not None:
        return datetime.combine(day, time.fromisoformat(closes[day.isoformat()]), NEW_YORK)
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


if __name__ == "__main__":  # the child of an isolated preload: the sessions table from the date given, as JSON
    json.dump(sessions_table(date.fromisoformat(sys.argv[1])), sys.stdout)
