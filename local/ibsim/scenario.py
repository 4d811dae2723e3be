"""The parts of a scenario file (local/scenarios/*.yaml) the simulator uses: the price path and the faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any

import yaml

from ibsim.market import parse_path


@dataclass(frozen=True)
class ScheduledFault:
    """A fault at a simulated New York time."""

    at: time
    kind: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """Price path knots and fault schedule for one simulated day."""

    name: str
    day: date | None
    path: list[tuple[time, float]]
    faults: list[ScheduledFault]


def _as_time(value: Any) -> time:
    if isinstance(value, int):  # YAML reads an unquoted 09:31 as sexagesimal minutes
        return time(value // 60, value % 60)
    text = str(value)
    return time.fromisoformat(text if len(text) > 5 else text + ":00")


def load_scenario(path: str) -> Scenario:
    """Read a scenario file."""
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    market = raw.get("market") or {}
    underlying = {str(_as_time(k)): float(v) for k, v in (market.get("underlying") or {}).items()}
    faults = []
    for item in raw.get("faults") or []:
        params = {k: v for k, v in item.items() if k not in ("at", "kind")}
        faults.append(ScheduledFault(at=_as_time(item["at"]), kind=str(item["kind"]), params=params))
    day = raw.get("date")
    return Scenario(
        name=str(raw.get("name", Path(path).stem)),
        day=day if isinstance(day, date) else (date.fromisoformat(str(day)) if day else None),
        path=parse_path(underlying),
        faults=sorted(faults, key=lambda f: f.at),
    )
