"""Shared scaffolding for the simulator's integration tests: a simulator on this loop plus connected clients.

Tests run the real ib_async client against a real simulator socket; nothing is mocked. Waits poll a condition with
a generous guard, never assert on elapsed time.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from decimal import Decimal
from typing import Any

from ib_async import IB, ComboLeg, Contract, LimitOrder, Option

from ibsim.config import FillMode, SimConfig
from ibsim.simulator import Simulator
from ibsim.testing import simulator_in_process

DAY = "20260317"
START = "2026-03-17T10:00:00-04:00"
UNDERLYING = 480.0
SHORT_STRIKE = 479
LONG_STRIKE = 474
GUARD_S = 10.0


def config(accounts: list[str] | None = None, **overrides: Any) -> SimConfig:
    """A simulator config on a free port with a fixed underlying."""
    base: dict[str, Any] = {"accounts": accounts or ["DU001"], "port": 0, "underlying": UNDERLYING,
                            "volatility": 0.30, "fill_mode": FillMode.IMMEDIATE}
    base.update(overrides)
    return SimConfig(**base)


@contextlib.asynccontextmanager
async def session(cfg: SimConfig | None = None, client_ids: tuple[int, ...] = (1,)) -> AsyncIterator[
        tuple[Simulator, list[IB]]]:
    """A simulator at 10:00 ET on 2026-03-17 and one connected IB per client id."""
    async with simulator_in_process(cfg or config(), start=START) as sim:
        clients = []
        try:
            for cid in client_ids:
                ib = IB()
                await ib.connectAsync("127.0.0.1", sim.port, clientId=cid, timeout=GUARD_S, raiseSyncErrors=True)
                clients.append(ib)
            yield sim, clients
        finally:
            for ib in clients:
                ib.disconnect()


def run(body: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run one async test body."""
    asyncio.run(asyncio.wait_for(body(), 60))


async def wait_until(predicate: Callable[[], bool], guard_s: float = GUARD_S) -> None:
    """Poll until ``predicate`` holds (the guard only stops a broken test from hanging)."""
    async def poll() -> None:
        # The conditions are client-side state fed by socket callbacks: polling is the only hook available.
        while not predicate():  # noqa: ASYNC110 - no event exists for an arbitrary predicate
            await asyncio.sleep(0.01)

    await asyncio.wait_for(poll(), guard_s)


async def eventually(fetch: Callable[[], Awaitable[Any]], accept: Callable[[Any], bool]) -> Any:
    """Await ``fetch()`` until ``accept`` holds for its result."""
    async def loop() -> Any:
        while True:
            value = await fetch()
            if accept(value):
                return value
            await asyncio.sleep(0.02)

    return await asyncio.wait_for(loop(), GUARD_S)


def put(strike: int) -> Option:
    """A 0-DTE QQQ put as the executor builds it."""
    return Option("QQQ", DAY, strike, "P", "SMART", tradingClass="QQQ")


async def bull_put_spread(ib: IB) -> tuple[Contract, Option, Option]:
    """Qualify both legs and build the BAG: SELL the higher put, BUY the lower put."""
    short, long_ = put(SHORT_STRIKE), put(LONG_STRIKE)
    await ib.qualifyContractsAsync(short, long_)
    bag = Contract(secType="BAG", symbol="QQQ", exchange="SMART", currency="USD",
                   comboLegs=[ComboLeg(short.conId, 1, "SELL", "SMART"), ComboLeg(long_.conId, 1, "BUY", "SMART")])
    return bag, short, long_


def credit_order(credit: Decimal, qty: int, account: str, ref: str) -> LimitOrder:
    """BUY the credit spread combo: the limit is the credit, negated (IB's sign rule)."""
    return LimitOrder("BUY", qty, -float(credit), account=account, orderRef=ref, tif="DAY")


def combo_mid(sim: Simulator, short: Option, long_: Option) -> Decimal:
    """The simulator's current credit for the spread (positive)."""
    chain = sim.broker.chain
    s = chain.by_con_id(short.conId)
    lg = chain.by_con_id(long_.conId)
    assert s is not None
    assert lg is not None
    return Decimal(str(round(sim.broker.mark(s) - sim.broker.mark(lg), 2)))
