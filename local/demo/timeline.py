"""What happens when on the simulated day: sheet rows appear, Cloud Scheduler ticks, operators send commands.

The demo plays the part of Cloud Scheduler (ticks on the ``tick-*`` topics at the declared times) and of the
strategist (rows typed into the sheet). Faults are played by the simulator itself from the scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from demo.scenario import Scenario

POLLER_WINDOW = (time(9, 27), time(10, 30))
WATCHDOG_WINDOW = (time(9, 30), time(16, 0))
PNL_DAILY_AT = time(16, 30)


@dataclass(frozen=True, order=True)
class Event:
    at: datetime
    kind: str = field(compare=False)  # sheet_row | tick | command
    payload: dict[str, Any] = field(compare=False, default_factory=dict)
    label: str = field(compare=False, default="")


def _minutes(scenario: Scenario, start: time, end: time) -> list[datetime]:
    first, last = scenario.at(start), scenario.at(end)
    count = int((last - first).total_seconds() // 60)
    return [first + timedelta(minutes=i) for i in range(count + 1)]


def build_timeline(scenario: Scenario) -> list[Event]:
    """Every event of the day, in time order, within the scenario's start and end."""
    events: list[Event] = []
    for number, sheet in enumerate(scenario.sheet, start=1):
        events.append(Event(scenario.at(sheet.at), "sheet_row", {"row": sheet.row}, f"sheet row {number} written"))
    for at in _minutes(scenario, *POLLER_WINDOW):
        events.append(Event(at, "tick", {"job": "signal-poller", "topic": "tick-signal-poller"}))
    for at in _minutes(scenario, *WATCHDOG_WINDOW):
        events.append(Event(at, "tick", {"job": "watchdog", "topic": "tick-watchdog"}))
    events.append(
        Event(
            scenario.at(PNL_DAILY_AT),
            "tick",
            {"job": "pnl-daily", "topic": "tick-pnl-daily"},
            "daily P&L rollup (16:30 ET)",
        )
    )
    for command in scenario.commands:
        raw_at = command.get("at")
        when = time.fromisoformat(str(raw_at)) if not isinstance(raw_at, int) else time(raw_at // 60, raw_at % 60)
        body = {k: v for k, v in command.items() if k != "at"}
        events.append(Event(scenario.at(when), "command", body, f"operator command {body.get('kind')}"))
    start, end = scenario.at(scenario.start), scenario.at(scenario.end)
    return sorted(e for e in events if start <= e.at <= end)
