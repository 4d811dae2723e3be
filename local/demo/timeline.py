"""What happens when on the simulated day: sheet rows appear, Cloud Scheduler ticks, operators send commands.

The demo plays the part of Cloud Scheduler (ticks on the ``tick-*`` topics at the declared times) and of the
strategist (rows typed into the sheet). Faults are played by the simulator itself from the scenario, or, over
several days, by the demo through the simulator's control channel at their times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from demo.scenario import Day, Scenario
from spreadpilot import market_calendar

POLLER_WINDOW = (time(9, 27), time(10, 30))
WATCHDOG_WINDOW = (time(9, 30), time(16, 0))
PNL_DAILY_AT = time(16, 30)


@dataclass(frozen=True, order=True)
class Event:
    at: datetime
    kind: str = field(compare=False)  # sheet_row | tick | command | fault
    payload: dict[str, Any] = field(compare=False, default_factory=dict)
    label: str = field(compare=False, default="")


def _minutes(scenario: Scenario, day: date, start: time, end: time) -> list[datetime]:
    first, last = scenario.at(start, day), scenario.at(end, day)
    count = int((last - first).total_seconds() // 60)
    return [first + timedelta(minutes=i) for i in range(count + 1)]


def day_events(scenario: Scenario, day: Day, multi_day: bool) -> list[Event]:
    """One day's events, within the scenario's start and end of that day."""
    d = day.date
    events: list[Event] = []
    for number, sheet in enumerate(day.sheet, start=1):
        events.append(Event(scenario.during(sheet.at, d), "sheet_row", {"row": sheet.row},
                            f"{d} sheet row {number} written" if multi_day else f"sheet row {number} written"))
    for at in _minutes(scenario, d, *POLLER_WINDOW):
        events.append(Event(at, "tick", {"job": "signal-poller", "topic": "tick-signal-poller"}))
    watch_from, watch_until = WATCHDOG_WINDOW
    for at in _minutes(scenario, d, watch_from, market_calendar.on_the_day(d, watch_until)):  # 13:00 on a half day
        events.append(Event(at, "tick", {"job": "watchdog", "topic": "tick-watchdog"}))
    label = "daily P&L rollup (16:30 ET)"
    events.append(Event(scenario.at(PNL_DAILY_AT, d), "tick", {"job": "pnl-daily", "topic": "tick-pnl-daily"},
                        f"{d} {label}" if multi_day else label))
    for command in day.commands:
        raw_at = command.get("at")
        when = time.fromisoformat(str(raw_at)) if not isinstance(raw_at, int) else time(raw_at // 60, raw_at % 60)
        body = {k: v for k, v in command.items() if k != "at"}
        events.append(Event(scenario.during(when, d), "command", body, f"operator command {body.get('kind')}"))
    if multi_day or scenario.overnight:  # the demo plays the faults at their times (one simulator's are one day's)
        for fault in day.faults:
            body = fault.model_dump(exclude_none=True, exclude={"at"})
            at = scenario.during(fault.at, d)
            events.append(Event(at, "fault", body, f"{at:%Y-%m-%d} fault {fault.kind}"))
    start, end = scenario.span(d)
    return sorted(e for e in events if start <= e.at <= end)


def build_timeline(scenario: Scenario) -> list[Event]:
    """Every event of every day, in time order."""
    days = scenario.day_list()
    return [event for day in days for event in day_events(scenario, day, len(days) > 1)]
