"""A whole executor core over fakes: followers, gateways, a fast simulated clock, one signal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import TypeVar

from executor_fakes import FakeBroker, MemoryLeases, MemoryStore, RecordingPublisher

from executor.engine import Engine
from executor.settings import ExecutorSettings
from spreadpilot.clock import NEW_YORK, SimClock
from spreadpilot.models import Follower, Gateway, Signal, Spread, Strategy, make_signal_id

DAY = date(2026, 3, 17)
T = TypeVar("T")


def follower(n: int, gateway_id: str = "gw-advisor", *, multiplier: str = "1", max_contracts: int = 10,
             enabled: bool = True) -> Follower:
    return Follower(id=f"f{n:02d}", name=f"Follower {n}", email=f"f{n}@example.com", iban="DE89370400440532013000",
                    commission_pct=Decimal(20), gateway_id=gateway_id, ibkr_account=f"DU{n:03d}",
                    multiplier=Decimal(multiplier), max_contracts=max_contracts, enabled=enabled)


def signal(qty: int = 2, at: datetime | None = None) -> Signal:
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
    return Signal(signal_id=make_signal_id(DAY, "QQQ", spread, qty), date=DAY, ticker="QQQ", spread=spread,
                  qty_per_leg=qty, detected_at=at or datetime(2026, 3, 17, 9, 31, tzinfo=NEW_YORK))


def sim_clock(hh: int = 9, mm: int = 45, speed: float = 600.0) -> SimClock:
    return SimClock(datetime(2026, 3, 17, hh, mm, tzinfo=NEW_YORK), speed, time.time())


def settings(**overrides: object) -> ExecutorSettings:
    return ExecutorSettings(GOOGLE_CLOUD_PROJECT="test-project", **overrides)  # type: ignore[arg-type]


@dataclass
class World:
    """One executor process's view: its brokers (connections), and the store and leases every process shares."""

    store: MemoryStore
    brokers: dict[str, FakeBroker]
    publisher: RecordingPublisher
    clock: SimClock
    settings: ExecutorSettings
    leases: MemoryLeases = field(default_factory=MemoryLeases)
    holder: str = "executor-a"

    def engine(self) -> Engine:
        return Engine(self.store, self.brokers, self.publisher, self.settings, self.clock,
                      leases=self.leases, holder=self.holder)

    @property
    def broker(self) -> FakeBroker:
        return next(iter(self.brokers.values()))

    def orders(self) -> list[dict[str, object]]:
        return [e for b in self.brokers.values() for e in b.journal if e["event"] == "order"]


def world(followers: list[Follower], *, clock: SimClock | None = None, **settings_overrides: object) -> World:
    gateway_ids = sorted({f.gateway_id for f in followers})
    gateways = [Gateway(id=g, port=4002 + i, client_id=1) for i, g in enumerate(gateway_ids)]
    brokers = {g: FakeBroker(accounts=[f.ibkr_account for f in followers if f.gateway_id == g]) for g in gateway_ids}
    return World(MemoryStore(followers, gateways), brokers, RecordingPublisher(), clock or sim_clock(),
                 settings(**settings_overrides))


async def started(w: World, *, owns: bool = True) -> Engine:
    """A started engine; with ``owns``, once every gateway is ready (else once every lease was asked for)."""
    engine = w.engine()
    await engine.start()
    if owns:
        await until(lambda: all(link.ready.is_set() for link in engine.links.values()))
    else:
        await until(lambda: all(w.leases.records.get(g) is not None for g in engine.links))
        await asyncio.sleep(0.05)
    return engine


async def until(condition: Callable[[], bool], limit_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit_s
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.005)


def run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await coro_fn()

    return asyncio.run(main())


def trade_one_signal(w: World) -> None:
    """Start an engine on ``w``, hand it the day's signal and wait until every intent is settled."""
    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(signal())
        await engine.idle()

    run(scenario)
