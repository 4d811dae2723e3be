"""A SPY spread through the real adapter (``IBBroker`` over ib_async) against ibsim, which lists SPY beside QQQ:
qualified, placed and filled as SPY options, held and priced as SPY, settled into SPY stock at expiry; and left out
of the lifecycle's positions by a gateway that does not trade SPY (there it is the follower's own)."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

from executor.broker import BrokerListener, OrderRequest
from executor.ib import IBBroker
from executor.lifecycle.ports import SingleOrder
from ibsim import settlement
from ibsim.config import FillMode, SimConfig
from ibsim.contracts import UNDERLYINGS
from ibsim.testing import simulator_in_process
from spreadpilot.models import Right

START = "2026-03-17T11:00:00-04:00"
DAY = date(2026, 3, 17)
SPY = UNDERLYINGS["SPY"]


async def eventually(check, seconds: float = 5.0):  # type: ignore[no-untyped-def]
    for _ in range(int(seconds / 0.02)):
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.02)
    raise AssertionError("the broker never reported it")


async def _flat(broker: IBBroker) -> bool:
    return await broker.positions("DU001") == []


def test_a_spy_spread_is_placed_held_priced_and_settled_as_spy_and_ignored_where_spy_is_not_traded() -> None:
    async def body() -> None:
        config = SimConfig(accounts=["DU001"], port=0, underlying=480.0, volatility=0.30,
                           fill_mode=FillMode.IMMEDIATE, funds={"DU001": Decimal(100_000)})
        async with simulator_in_process(config, start=START) as sim:
            broker = IBBroker("gw", "127.0.0.1", sim.port, 7, ack_timeout_s=5.0, symbols=frozenset({"QQQ", "SPY"}))
            qqq_only = IBBroker("gw-qqq", "127.0.0.1", sim.port, 8, ack_timeout_s=5.0)
            for b in (broker, qqq_only):
                b.set_listener(BrokerListener())
                await b.connect()
                await b.truth()
            try:
                combo = await broker.qualify("SPY", DAY, Right.PUT, Decimal(585), Decimal(580))
                assert combo.symbol == "SPY"
                assert all(0 < leg.con_id - SPY.option_base < 100_000_000 for leg in combo.legs)  # SPY's options
                ack = await broker.place(OrderRequest("entry-spy-f01", "DU001", combo, "BUY", 1, Decimal("-1.00")))
                assert ack.status in {"Submitted", "Filled"}

                held = await eventually(lambda: broker.positions("DU001"))
                assert {(p.symbol, p.strike, p.qty) for p in held} == {("SPY", Decimal(585), -1),
                                                                      ("SPY", Decimal(580), 1)}
                assert await qqq_only.positions("DU001") == []  # not traded there: the follower's own, left alone
                assert {e.symbol for e in (await broker.truth()).executions} == {"SPY"}

                spy_price, qqq_price = await broker.underlying_price("SPY"), await broker.underlying_price("QQQ")
                assert spy_price is not None
                assert qqq_price is not None
                assert abs(spy_price - Decimal(str(sim.broker.underlying("SPY")))) <= Decimal("0.01")
                assert abs(qqq_price - Decimal(480)) <= Decimal("0.01")

                sim.set_price(583.0 / SPY.ratio)  # SPY at 583: the short 585 put $2 in the money, the long 580 out
                settlement.expire(sim.broker, DAY)

                async def stock() -> list[object]:
                    return [p for p in await broker.positions("DU001") if p.sec_type == "STK"]

                (shares,) = await eventually(stock)
                assert (shares.symbol, shares.con_id, shares.qty) == ("SPY", SPY.stock_con_id, 100)  # at 585

                # the assigned stock sold as the assignment repair sells it: its execution says SPY (ib_async hands
                # an order's own contract to its executions; sent without a symbol, the sale was booked as "STK:")
                await broker.place_single(SingleOrder("flatten-spy-f01", "DU001", SPY.stock_con_id, "STK", "SELL",
                                                      100, None, "SPY"))

                async def sold() -> list[object]:
                    return [e for e in (await broker.truth()).executions if e.order_ref == "flatten-spy-f01"]

                (sale,) = await eventually(sold)
                assert (sale.symbol, sale.sec_type, sale.qty) == ("SPY", "STK", 100)
                assert await eventually(lambda: _flat(broker))
            finally:
                for b in (broker, qqq_only):
                    await b.disconnect()

    asyncio.run(asyncio.wait_for(body(), 60))
