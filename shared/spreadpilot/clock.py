"""The clock every entry point reads: real, or a simulated trading day that runs faster.

One setting, ``SPREADPILOT_CLOCK``, chooses it, so that every process of the demo (functions, executor, simulator)
shares the same simulated time without talking to each other:

- ``real`` (default): wall-clock time.
- ``sim:<sim_start_iso>@<speed>x/<real_anchor_epoch>``, e.g. ``sim:2026-03-17T09:25:00-04:00@120x/1773753900.0``:
  at real time ``real_anchor_epoch`` the simulated time is ``sim_start``, and it advances ``speed`` times faster.

Business durations (poll every 2 s, ladder step every 5 s) are simulated seconds: sleep with ``clock.sleep`` /
``clock.sleep_sync`` so they shrink with the speed. Network timeouts stay in real seconds.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from spreadpilot.errors import ConfigError

NEW_YORK = ZoneInfo("America/New_York")
CLOCK_ENV = "SPREADPILOT_CLOCK"


class Clock(Protocol):
    """Source of "now" and of business-time sleeps."""

    @property
    def speed(self) -> float:
        """Simulated seconds per real second (1 for the real clock)."""
        ...

    def now(self) -> datetime:
        """Current time, timezone-aware (UTC)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of business time without blocking the loop."""
        ...

    def sleep_sync(self, seconds: float) -> None:
        """Sleep ``seconds`` of business time (for synchronous entry points)."""
        ...


@dataclass(frozen=True)
class RealClock:
    """Wall-clock time."""

    speed: float = 1.0

    def now(self) -> datetime:
        """Current UTC time."""
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        """Sleep in real seconds."""
        await asyncio.sleep(max(0.0, seconds))

    def sleep_sync(self, seconds: float) -> None:
        """Sleep in real seconds."""
        time.sleep(max(0.0, seconds))


@dataclass(frozen=True)
class SimClock:
    """A simulated clock: ``sim_start`` at real ``anchor`` (epoch seconds), advancing ``speed`` times faster."""

    sim_start: datetime
    speed: float
    anchor: float

    def __post_init__(self) -> None:
        if self.sim_start.tzinfo is None:
            raise ConfigError(f"{CLOCK_ENV}: the simulated start time needs a UTC offset")
        if self.speed <= 0:
            raise ConfigError(f"{CLOCK_ENV}: speed must be > 0, got {self.speed}")

    def now(self) -> datetime:
        """Simulated UTC time."""
        elapsed = (time.time() - self.anchor) * self.speed
        return datetime.fromtimestamp(self.sim_start.timestamp() + elapsed, UTC)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def sleep_sync(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        time.sleep(max(0.0, seconds) / self.speed)

    def real_epoch_at(self, sim_time: datetime) -> float:
        """The real epoch second at which the simulation reaches ``sim_time``."""
        return self.anchor + (sim_time.timestamp() - self.sim_start.timestamp()) / self.speed

    def spec(self) -> str:
        """This clock as a ``SPREADPILOT_CLOCK`` value."""
        return f"sim:{self.sim_start.isoformat()}@{self.speed:g}x/{self.anchor:.3f}"


def parse_clock(spec: str) -> RealClock | SimClock:
    """Build the clock a ``SPREADPILOT_CLOCK`` value names; a malformed value is a ``ConfigError``."""
    spec = spec.strip()
    if spec in ("", "real"):
        return RealClock()
    if not spec.startswith("sim:"):
        raise ConfigError(f"{CLOCK_ENV}={spec!r}: expected 'real' or 'sim:<start-iso>@<speed>x/<anchor-epoch>'")
    try:
        start_text, rest = spec[4:].rsplit("@", 1)
        speed_text, anchor_text = rest.split("x/", 1)
        return SimClock(datetime.fromisoformat(start_text), float(speed_text), float(anchor_text))
    except ValueError as exc:
        raise ConfigError(
            f"{CLOCK_ENV}={spec!r}: expected 'sim:<start-iso>@<speed>x/<anchor-epoch>' ({exc})"
        ) from exc


def clock_from_env() -> RealClock | SimClock:
    """The clock chosen by ``SPREADPILOT_CLOCK`` (entry points only)."""
    return parse_clock(os.environ.get(CLOCK_ENV, "real"))


def new_york(at: datetime) -> datetime:
    """``at`` in America/New_York (market time)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: every datetime in SpreadPilot is timezone-aware")
    return at.astimezone(NEW_YORK)
