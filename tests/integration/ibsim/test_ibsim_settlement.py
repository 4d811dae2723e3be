"""Exercise, assignment and the 16:00 expiry: options become stock, seen in positions and in the journal."""

from __future__ import annotations

from ib_async import IB, Contract, LimitOrder
from ibsim_harness import (
    LONG_STRIKE,
    bull_put_spread,
    combo_mid,
    credit_order,
    put,
    run,
    session,
    wait_until,
)

from ibsim.contracts import STOCK_CON_ID
from ibsim.simulator import Simulator


def _positions(ib: object) -> dict[int, float]:
    return {p.contract.conId: p.position for p in ib.positions()}  # type: ignore[attr-defined]


async def _long_puts(sim: Simulator, ib: IB, qty: int) -> Contract:
    option = put(LONG_STRIKE)
    await ib.qualifyContractsAsync(option)
    quote = sim.broker.quote(sim.broker.chain.by_con_id(option.conId))  # type: ignore[arg-type]
    trade = ib.placeOrder(option, LimitOrder("BUY", qty, quote.ask, account="DU001", orderRef="hedge"))
    await wait_until(trade.isDone)
    option.exchange = "CBOE"  # exercise on the listing exchange, not SMART
    return option


def test_exercising_a_long_put_in_the_money_turns_it_into_short_stock() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            option = await _long_puts(sim, ib, 3)
            sim.set_price(LONG_STRIKE - 2)
            ib.exerciseOptions(option, 1, 2, "DU001", 0)
            await wait_until(lambda: _positions(ib).get(STOCK_CON_ID) == -200)
            assert _positions(ib)[option.conId] == 1
            [line] = [e for e in sim.journal.events if e["event"] == "exercise"]
            assert (line["account"], line["con_id"], line["qty"]) == ("DU001", option.conId, 2)

    run(body)


def test_an_exercise_out_of_the_money_without_override_is_not_carried_out() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            option = await _long_puts(sim, ib, 2)  # the 474 put with QQQ at 480: $6 out of the money
            ib.exerciseOptions(option, 1, 2, "DU001", 0)
            await wait_until(lambda: any(e["event"] == "exercise" for e in sim.journal.events))
            [line] = [e for e in sim.journal.events if e["event"] == "exercise"]
            assert (line["action"], line["shares"]) == ("refused", 0)
            assert _positions(ib)[option.conId] == 2
            assert STOCK_CON_ID not in _positions(ib)
            ib.exerciseOptions(option, 1, 1, "DU001", 1)  # forced: carried out, selling the shares below the market
            await wait_until(lambda: _positions(ib).get(STOCK_CON_ID) == -100)

    run(body)


def test_exercising_more_than_is_held_is_refused() -> None:
    async def body() -> None:
        async with session() as (_sim, [ib]):
            option = put(LONG_STRIKE)
            await ib.qualifyContractsAsync(option)
            errors: list[int] = []
            ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
            ib.exerciseOptions(option, 1, 1, "DU001", 0)
            await wait_until(lambda: errors == [321])

    run(body)


def test_assignment_injection_turns_the_short_put_into_long_stock() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 2, "DU001", "a"))
            await wait_until(trade.isDone)
            result = sim.inject("assignment", follower="f01")
            assert result["assigned"] == ["DU001"]
            await wait_until(lambda: _positions(ib).get(STOCK_CON_ID) == 200)
            assert _positions(ib).get(short.conId, 0) == 0
            assert _positions(ib)[long_.conId] == 2
            [line] = [e for e in sim.journal.events if e["event"] == "assignment"]
            assert (line["con_id"], line["qty"], line["shares"]) == (short.conId, 2, 200)

    run(body)


def test_at_1600_in_the_money_options_settle_into_stock_and_the_rest_expire() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "e"))
            await wait_until(trade.isDone)
            sim.set_price(476.0)  # short 479 put in the money, long 474 put out of it
            sim.advance(6 * 3600)  # 10:00 → 16:00
            await wait_until(lambda: _positions(ib) == {STOCK_CON_ID: 100.0})
            lines = {e["con_id"]: e for e in sim.journal.events if e["event"] == "expiry"}
            assert lines[short.conId]["in_the_money"] is True
            assert lines[short.conId]["shares"] == 100
            assert lines[long_.conId]["in_the_money"] is False
            account = sim.state()["accounts"]["DU001"]
            assert [p["con_id"] for p in account["positions"]] == [STOCK_CON_ID]

    run(body)


def test_working_day_orders_are_cancelled_at_the_close() -> None:
    from ibsim_harness import config

    from ibsim.config import FillMode

    async def body() -> None:
        async with session(config(fill_mode=FillMode.NEVER)) as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "late"))
            await wait_until(lambda: trade.orderStatus.status == "Submitted")
            sim.advance(6 * 3600)
            await wait_until(lambda: trade.orderStatus.status == "Cancelled")
            assert [e["event"] for e in sim.journal.events] == ["order", "cancel"]

    run(body)
