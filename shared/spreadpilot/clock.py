"""The clock every entry point reads: real, or a simulated trading day that runs faster.

One setting, ``SPREADPILOT_CLOCK``, chooses it, so that every process of the demo (functions, executor, simulator)
shares the same simulated time without talking to each other:

- ``real`` (default): wall-clock time.
- ``sim:<sim_start_iso>@<speed>x/<real_anchor_epoch>``, e.g. ``sim:2026-03-17T09:25:00-04:00@120x/1773753900.0``:
  at real time ``real_anchor_epoch`` the simulated time is ``sim_start``, and it advances ``speed`` times faster.
  Several simulated days follow each other with ``;<real_epoch>=<sim_iso>`` appended per jump: from that real
  time on, the simulated time restarts at ``sim_iso`` (the night between two trading days passes in an instant).

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
    """A simulated clock: ``sim_start`` at real ``anchor`` (epoch seconds), advancing ``speed`` times faster.

    ``jumps`` (real epoch, simulated time), in order: from each real time on the clock restarts at its simulated
    time, so one run can play several trading days without the nights between them.
    """

    sim_start: datetime
    speed: float
    anchor: float
    jumps: tuple[tuple[float, datetime], ...] = ()

    def __post_init__(self) -> None:
        if self.sim_start.tzinfo is None or any(at.tzinfo is None for _, at in self.jumps):
            raise ConfigError(f"{CLOCK_ENV}: the simulated start time needs a UTC offset")
        if self.speed <= 0:
            raise ConfigError(f"{CLOCK_ENV}: speed must be > 0, got {self.speed}")
        if [real for real, _ in self.jumps] != sorted(real for real, _ in self.jumps) or any(
                real <= self.anchor for real, _ in self.jumps):
            raise ConfigError(f"{CLOCK_ENV}: jumps must follow the anchor and each other in real time")

    def _segment(self, real: float) -> tuple[float, datetime]:
        anchor, start = self.anchor, self.sim_start
        for jump_real, jump_sim in self.jumps:
            if real >= jump_real:
                anchor, start = jump_real, jump_sim
        return anchor, start

    def now(self) -> datetime:
        """Simulated UTC time."""
        real = time.time()
        anchor, start = self._segment(real)
        return datetime.fromtimestamp(start.timestamp() + (real - anchor) * self.speed, UTC)

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        await asyncio.sleep(max(0.0, seconds) / self.speed)

    def sleep_sync(self, seconds: float) -> None:
        """Sleep ``seconds`` of simulated time."""
        time.sleep(max(0.0, seconds) / self.speed)

    def real_epoch_at(self, sim_time: datetime) -> float:
        """The real epoch second at which the simulation reaches ``sim_time`` (in the last segment that starts at or
        before it)."""
        anchor, start = self.anchor, self.sim_start
        for jump_real, jump_sim in self.jumps:
            if jump_sim <= sim_time:
                anchor, start = jump_real, jump_sim
        return anchor + (sim_time.timestamp() - start.timestamp()) / self.speed

    def spec(self) -> str:
        """This clock as a ``SPREADPILOT_CLOCK`` value."""
        jumps = "".join(f";{real:.3f}={at.isoformat()}" for real, at in self.jumps)
        return f"sim:{self.sim_start.isoformat()}@{self.speed:g}x/{self.anchor:.3f}{jumps}"


def parse_clock(spec: str) -> RealClock | SimClock:
    """Build the clock a ``SPREADPILOT_CLOCK`` value names; a malformed value is a ``ConfigError``."""
    spec = spec.strip()
    if spec in ("", "real"):
        return RealClock()
    if not spec.startswith("sim:"):
        raise ConfigError(f"{CLOCK_ENV}={spec!r}: expected 'real' or 'sim:<start-iso>@<speed>x/<anchor-epoch>'")
    try:
        head, *jump_texts = spec[4:].split(";")
        start_text, rest = head.rsplit("@", 1)
        speed_text, anchor_text = rest.split("x/", 1)
        jumps = tuple((float(real), datetime.fromisoformat(at)) for real, at in (j.split("=", 1) for j in jump_texts))
        return SimClock(datetime.fromisoformat(start_text), float(speed_text), float(anchor_text), jumps)
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
