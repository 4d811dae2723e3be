"""The account's post-expiration excess through the real adapter (``IBBroker`` over ib_async) from ibsim's account
updates: the value IB's ``PostExpirationExcess`` projects, read from one subscription started on the first ask."""

from __future__ import annotations

import asyncio
from datetime import date
from decimal import Decimal

from executor.broker import BrokerListener, OrderRequest
from executor.ib import IBBroker
from ibsim import reporting
from ibsim.config import FillMode, SimConfig
from ibsim.simulator import Simulator
from ibsim.testing import simulator_in_process
from spreadpilot.models import Right

START = "2026-03-17T15:20:00-04:00"
DAY = date(2026, 3, 17)


async def excess_when_reported(broker: IBBroker) -> Decimal:
    assert await broker.post_expiry_excess("DU001") is None  # the first ask starts the subscription
    for _ in range(200):
        value = await broker.post_expiry_excess("DU001")
        if value is not None:
            return value
        await asyncio.sleep(0.02)
    raise AssertionError("PostExpirationExcess never reported")


def simulator_says(sim: Simulator) -> Decimal:
    return Decimal(reporting.account_values(sim.broker, sim.broker.accounts["DU001"])["PostExpirationExcess"])


def test_the_post_expiration_excess_is_the_brokers_projection_negative_when_the_short_put_would_be_assigned() -> None:
    async def body() -> None:
        config = SimConfig(accounts=["DU001"], port=0, underlying=480.0, volatility=0.30,
                           fill_mode=FillMode.IMMEDIATE, funds={"DU001": Decimal(3000)})
        async with simulator_in_process(config, start=START) as sim:
            broker = IBBroker("gw", "127.0.0.1", sim.port, 7, ack_timeout_s=5.0)
            broker.set_listener(BrokerListener())
            await broker.connect()
            await broker.truth()
            try:
                combo = await broker.qualify("QQQ", DAY, Right.PUT, Decimal(479), Decimal(474))
                await broker.place(OrderRequest("entry-post-expiry-f01", "DU001", combo, "BUY", 2, Decimal("-1.50")))
                sim.set_price(476.0)  # the short 479 put $3 in the money, the long 474 out: 200 shares at 479
                projected = await excess_when_reported(broker)
                assert projected == simulator_says(sim)
                assert projected < 0  # $95,800 of stock on a $3,000 account: IBKR would liquidate at expiry
            finally:
                await broker.disconnect()

            # after a reconnect the subscription starts again; both legs out of the money: the cash is what is left
            sim.set_price(490.0)
            await broker.connect()
            try:
                projected = await excess_when_reported(broker)
                assert projected == simulator_says(sim) == sim.broker.accounts["DU001"].cash
                assert projected > Decimal(3000)  # the funds and the credit, less commissions
            finally:
                await broker.disconnect()

    asyncio.run(asyncio.wait_for(body(), 60))
