"""When IB Gateway is expected to go away: restart and maintenance windows as data.

A disconnect inside one of these windows is expected: it is logged and reconciled after the reconnect, never paged.
One that lasts past its window's end (plus the usual ``down_alert_s``), or starts outside every window, is paged.

Windows (America/New_York; FIELD-NOTES "Restart schedule"):
- the gateway's own daily restart by IBC (``ibc_restart`` for ``ibc_restart_minutes``, default 23:45 for 10 min);
- IBKR's North American daily reset, 00:15–01:45;
- IBKR's weekend maintenance, Friday 23:00 – Saturday 03:00;
- the Sunday token invalidation at 01:00 (the gateway then waits for one manual 2FA: expected, and announced by
  the supervisor's state, not by the executor's outage page), until 03:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from spreadpilot.clock import new_york


@dataclass(frozen=True)
class Window:
    """A weekly or daily span of New York time; ``weekday`` None = every day (Monday = 0)."""

    name: str
    start: time
    minutes: int
    weekday: int | None = None

    def covering(self, at: datetime) -> tuple[datetime, datetime] | None:
        """The occurrence of this window that contains ``at`` (start, end), or None."""
        local = new_york(at)
        for days_back in (0, 1):  # a window may start the day before and run past midnight
            day = local.date() - timedelta(days=days_back)
            if self.weekday is not None and day.weekday() != self.weekday:
                continue
            start = datetime.combine(day, self.start, tzinfo=local.tzinfo)
            start = new_york(start)
            end = start + timedelta(minutes=self.minutes)
            if start <= local < end:
                return start, end
        return None


@dataclass(frozen=True)
class RestartWindows:
    """Every window in which a gateway may be down without an operator being paged."""

    windows: tuple[Window, ...]

    @classmethod
    def standard(cls, ibc_restart: time = time(23, 45), ibc_restart_minutes: int = 10) -> RestartWindows:
        """IBC's restart at the configured time, and IBKR's published reset and maintenance windows."""
        return cls((
            Window("IBC daily restart", ibc_restart, ibc_restart_minutes),
            Window("IBKR daily reset", time(0, 15), 90),
            Window("IBKR weekend maintenance", time(23, 0), 4 * 60, weekday=4),
            Window("IBKR Sunday token invalidation", time(1, 0), 120, weekday=6),
        ))

    def covering(self, at: datetime) -> tuple[str, datetime] | None:
        """The window ``at`` falls in and when it ends (the latest end if several overlap), or None."""
        found = [(w.name, span[1]) for w in self.windows if (span := w.covering(at)) is not None]
        return max(found, key=lambda f: f[1]) if found else None

    def page_after(self, down_since: datetime, down_alert_s: float) -> datetime:
        """When an outage that began at ``down_since`` deserves a page: ``down_alert_s`` after it began, or after
        the end of the restart window it began in."""
        grace = timedelta(seconds=down_alert_s)
        window = self.covering(down_since)
        return (window[1] if window else down_since) + grace
