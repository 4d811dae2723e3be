"""Half days: the day's options settle at the exchange calendar's early close (13:00 ET), not at 16:00."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
from ib_async import IB, LimitOrder, Option
from ibsim_harness import GUARD_S, config, run, wait_until

from ibsim.market import close_on
from ibsim.testing import simulator_in_process
from spreadpilot.clock import new_york


def test_the_close_is_13_00_on_the_day_after_thanksgiving_and_16_00_on_a_regular_day_or_a_weekend() -> None:
    assert close_on(date(2026, 11, 27)) == time(13, 0)
    assert close_on(date(2026, 12, 24)) == time(13, 0)
    assert close_on(date(2026, 11, 25)) == time(16, 0)
    assert close_on(date(2026, 11, 28)) == time(16, 0)  # a Saturday: no session, the regular rule


@pytest.mark.parametrize(("day", "settles"), [("2026-11-27", True), ("2026-11-25", False)])
def test_an_option_of_the_day_settles_at_13_00_on_a_half_day_and_is_still_held_then_on_a_regular_day(
        day: str, settles: bool) -> None:
    async def body() -> None:
        # 12:59:30 ET, one simulated minute per real second: 13:00 comes after half a second
        async with simulator_in_process(config(), start=f"{day}T12:59:30-05:00", speed=60) as sim:
            ib = IB()
            await ib.connectAsync("127.0.0.1", sim.port, clientId=1, timeout=GUARD_S)
            try:
                [put] = await ib.qualifyContractsAsync(
                    Option("QQQ", day.replace("-", ""), 470, "P", "SMART", tradingClass="QQQ"))
                trade = ib.placeOrder(put, LimitOrder("BUY", 1, 50.0, account="DU001"))
                await wait_until(trade.isDone)
                await wait_until(lambda: new_york(sim.now()).time() >= time(13, 1))
                expiries = [e for e in sim.journal.events if e["event"] == "expiry"]
                if settles:
                    assert [e["con_id"] for e in expiries] == [put.conId]
                    settled_at = new_york(datetime.fromisoformat(expiries[0]["ts"])).time()
                    assert time(13, 0) <= settled_at < time(13, 1)
                else:
                    assert expiries == []
                    assert [p.contract.conId for p in await ib.reqPositionsAsync()] == [put.conId]
            finally:
                ib.disconnect()

    run(body)
