"""Scenario files (``local/scenarios/*.yaml``): one simulated trading day or several, validated with clear errors."""

from __future__ import annotations

import datetime as dt
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spreadpilot.clock import NEW_YORK
from spreadpilot.errors import ConfigError


def _et_time(value: object) -> time:
    if isinstance(value, int):  # YAML reads an unquoted 09:27 as a sexagesimal integer
        return time(value // 60, value % 60)
    return time.fromisoformat(str(value))


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")


class FollowerSpec(_Model):
    id: str
    multiplier: Decimal = Decimal(1)
    max_contracts: int = 10
    enabled: bool = True
    account: str | None = None
    gateway: str | None = None
    funds: Decimal | None = None  # the account's available funds at the simulator (margin tests)
    commission_pct: Decimal = Decimal(20)
    daily_loss_limit: Decimal = Decimal(2000)


class SheetEvent(_Model):
    at: time
    row: dict[str, Any]

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: object) -> time:
        return _et_time(value)


class Fault(_Model):
    at: time
    kind: str
    seconds: float | None = None
    follower: str | None = None

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: object) -> time:
        return _et_time(value)


class Market(_Model):
    underlying: dict[str, float] = Field(min_length=1)
    volatility: float | None = None


class Day(_Model):
    """One trading day of a scenario: its sheet rows, market path, faults and operator commands."""

    date: date
    sheet: list[SheetEvent] = Field(default_factory=list)
    market: Market
    faults: list[Fault] = Field(default_factory=list)
    commands: list[dict[str, Any]] = Field(default_factory=list)


class Scenario(_Model):
    """One simulated day (``date``, ``sheet``, ``market``, ``faults``, ``commands``) or several (``days:``, each
    with its own, played in sequence; ``date`` is then the first of them)."""

    name: str
    date: date
    followers: int | list[FollowerSpec] = 5
    sheet: list[SheetEvent] = Field(default_factory=list)
    market: Market
    faults: list[Fault] = Field(default_factory=list)
    commands: list[dict[str, Any]] = Field(default_factory=list)
    days: list[Day] = Field(default_factory=list)
    start: time = time(9, 20)
    end: time = time(16, 40)

    @model_validator(mode="before")
    @classmethod
    def _first_day(cls, raw: Any) -> Any:
        if isinstance(raw, dict) and raw.get("days"):
            first = raw["days"][0] if isinstance(raw["days"][0], dict) else {}
            return {"date": first.get("date"), "market": first.get("market"), **raw}
        return raw

    @model_validator(mode="after")
    def _days_in_order(self) -> Scenario:
        dates = [d.date for d in self.days]
        if dates != sorted(set(dates)):
            raise ValueError("days must be distinct dates in order")
        return self

    @field_validator("start", "end", mode="before")
    @classmethod
    def _times(cls, value: object) -> time:
        return _et_time(value)

    def day_list(self) -> list[Day]:
        """The days to play: ``days``, or the one day the scenario describes."""
        if self.days:
            return list(self.days)
        return [Day(date=self.date, sheet=self.sheet, market=self.market, faults=self.faults,
                    commands=self.commands)]

    @property
    def multi_day(self) -> bool:
        """More than one day to play."""
        return len(self.day_list()) > 1

    def at(self, when: time, day: dt.date | None = None) -> datetime:
        """``when`` on ``day`` (default: the scenario's first day), in New York time."""
        return datetime.combine(day or self.date, when, NEW_YORK)

    @property
    def overnight(self) -> bool:
        """The played span runs past midnight (``end`` before ``start``: e.g. 23:35 to 00:50, the restart night)."""
        return self.end < self.start

    def span(self, day: dt.date | None = None) -> tuple[datetime, datetime]:
        """When ``day`` is played, start and end (the end on the next date when the span runs past midnight)."""
        first = day or self.date
        return self.at(self.start, first), self.at(self.end, first + dt.timedelta(days=1 if self.overnight else 0))

    def during(self, when: time, day: dt.date | None = None) -> datetime:
        """``when`` within ``day``'s played span: a time before ``start`` of an overnight span is the next date's."""
        first = day or self.date
        after_midnight = self.overnight and when < self.start
        return self.at(when, first + dt.timedelta(days=1 if after_midnight else 0))

    def months(self) -> list[str]:
        """Every month a day of the scenario falls in, in order."""
        return sorted({f"{d.date:%Y-%m}" for d in self.day_list()})

    def follower_specs(self, count_override: int | None) -> list[FollowerSpec]:
        """The followers: the scenario's list, or ``count`` generated ones (varied sizing, all enabled)."""
        if isinstance(self.followers, list) and count_override is None:
            return list(self.followers)
        count = count_override if count_override is not None else int(self.followers)  # type: ignore[arg-type]
        width = max(2, len(str(count)))
        multipliers = [Decimal(1), Decimal("1.5"), Decimal(1), Decimal(2), Decimal("0.5")]
        return [
            FollowerSpec(id=f"f{i:0{width}d}", multiplier=multipliers[(i - 1) % len(multipliers)], max_contracts=10)
            for i in range(1, count + 1)
        ]


def load_scenario(path: Path) -> Scenario:
    """Read and validate a scenario file; a bad one is a ``ConfigError`` that says what and where."""
    raw = _read(path)
    if isinstance(raw, dict) and isinstance(raw.get("days"), list):
        raw = {**raw, "days": [_played(path, n, day) for n, day in enumerate(raw["days"])]}
    return _validated(path, raw)


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"scenario {path} not found (see local/scenarios/ for examples)") from exc
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for an impossible date
        raise ConfigError(f"scenario {path} is not valid YAML: {exc}") from exc


def _validated(path: Path, raw: Any) -> Scenario:
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"scenario {path}: {problems}") from exc


def _played(path: Path, n: int, day: Any) -> Any:
    """A day given as ``{date: ..., play: <scenario>}``: that one-day scenario's sheet, market, faults and commands on
    this date (the sheet rows' ``Data`` moved to it), so a multi-day run plays the shipped days themselves."""
    if not isinstance(day, dict) or "play" not in day:
        return day
    played_path = path.parent / f"{day['play']}.yaml"
    where = f"scenario {path}: days.{n}.play"
    if not played_path.is_file():
        raise ConfigError(f"{where}: {played_path} not found (a scenario of local/scenarios/, without .yaml)")
    raw = _read(played_path)
    if isinstance(raw, dict) and raw.get("days"):  # looked at before it is loaded: two files playing each other
        raise ConfigError(f"{where}: {played_path} has days of its own; only a one-day scenario can be played")
    played = _validated(played_path, raw)
    when = day.get("date")
    if not isinstance(when, date):
        raise ConfigError(f"{where}: a played day needs its date (YYYY-MM-DD)")
    sheet = [{"at": e.at.isoformat(), "row": {**e.row, **({"Data": when.isoformat()} if "Data" in e.row else {})}}
             for e in played.sheet]
    own = {k: v for k, v in day.items() if k != "play"}
    return {"sheet": sheet, "market": played.market.model_dump(exclude_none=True),
            "faults": [f.model_dump(exclude_none=True, mode="json") for f in played.faults],
            "commands": list(played.commands), **own}
