"""The simulator's money like IBKR's: settlement at the strike, exercise by exception from one cent in the money,
stock commissions per share with the per-order minimum, a journal that carries each fill's commission, and a
reqPnL day that starts at zero."""

from __future__ import annotations

from decimal import Decimal

from ib_async import IB, MarketOrder, Option, Stock
from ibsim_harness import (
    DAY,
    bull_put_spread,
    combo_mid,
    credit_order,
    run,
    session,
    wait_until,
)

from ibsim.contracts import STOCK_CON_ID
from ibsim.simulator import Simulator


def _positions(ib: IB) -> dict[int, float]:
    return {p.contract.conId: p.position for p in ib.positions()}


def _avg_costs(ib: IB) -> dict[int, float]:
    return {p.contract.conId: p.avgCost for p in ib.positions()}


def _fills(sim: Simulator) -> list[dict[str, object]]:
    return [e for e in sim.journal.events if e["event"] == "fill"]


async def _sell_spread(sim: Simulator, ib: IB, qty: int) -> tuple[Option, Option, float]:
    bag, short, long_ = await bull_put_spread(ib)
    trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), qty, "DU001", "entry"))
    await wait_until(trade.isDone)
    credit = sum(float(f["price"]) * (1 if f["action"] == "SELL" else -1) for f in _fills(sim))  # type: ignore[arg-type]
    return short, long_, credit


def test_an_out_of_the_money_assignment_delivers_the_stock_at_the_strike_not_at_the_underlying() -> None:
    """Defect: an out-of-the-money assignment was booked at the underlying (480) instead of the strike (479)."""
    async def body() -> None:
        async with session() as (sim, [ib]):
            short, _long, _credit = await _sell_spread(sim, ib, 1)  # short 479 put, QQQ at 480
            sim.inject("assignment", account="DU001")
            await wait_until(lambda: _positions(ib).get(STOCK_CON_ID) == 100)

            assert _avg_costs(ib)[STOCK_CON_ID] == 479.0  # bought at the strike
            [line] = [e for e in sim.journal.events if e["event"] == "assignment"]
            assert (line["strike"], line["stock_price"], line["side"], line["shares"]) == (479.0, 479.0, "short", 100)
            account = sim.broker.accounts["DU001"]
            # the short put left at no price: its whole premium is realized, less the two legs' commissions
            [sold] = [f for f in _fills(sim) if f["action"] == "SELL"]
            assert account.day_realized == Decimal(str(sold["price"])) * 100 - Decimal("1.30")
            assert short.conId not in _positions(ib)

    run(body)


def test_an_in_the_money_exercise_sells_the_stock_at_the_strike() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            option = Option("QQQ", DAY, 482, "P", "SMART", tradingClass="QQQ")
            await ib.qualifyContractsAsync(option)
            trade = ib.placeOrder(option, MarketOrder("BUY", 1, account="DU001", orderRef="hedge"))
            await wait_until(trade.isDone)
            option.exchange = "CBOE"
            ib.exerciseOptions(option, 1, 1, "DU001", 0)  # 482 put, QQQ at 480: $2 in the money
            await wait_until(lambda: _positions(ib).get(STOCK_CON_ID) == -100)

            assert _avg_costs(ib)[STOCK_CON_ID] == 482.0
            [line] = [e for e in sim.journal.events if e["event"] == "exercise"]
            assert (line["action"], line["stock_price"], line["shares"]) == ("exercise", 482.0, -100)

    run(body)


def test_at_the_close_a_call_one_cent_in_the_money_is_exercised_by_exception() -> None:
    """Defect: the threshold was compared in floats: 480.01 − 480 = 0.00999… missed a call one cent in the money."""
    async def body() -> None:
        async with session() as (sim, [ib]):
            itm, atm = (Option("QQQ", DAY, strike, "C", "SMART", tradingClass="QQQ") for strike in (480, 481))
            await ib.qualifyContractsAsync(itm, atm)
            for option in (itm, atm):
                trade = ib.placeOrder(option, MarketOrder("BUY", 1, account="DU001", orderRef="calls"))
                await wait_until(trade.isDone)
            sim.set_price(480.01)
            sim.advance(6 * 3600)  # 10:00 → 16:00
            await wait_until(lambda: _positions(ib) == {STOCK_CON_ID: 100.0})

            lines = {e["con_id"]: e for e in sim.journal.events if e["event"] == "expiry"}
            assert (lines[itm.conId]["in_the_money"], lines[itm.conId]["stock_price"]) == (True, 480.0)
            assert (lines[atm.conId]["in_the_money"], lines[atm.conId]["shares"]) == (False, 0)
            assert _avg_costs(ib)[STOCK_CON_ID] == 480.0

    run(body)


def test_selling_a_hundred_shares_costs_the_per_order_minimum_not_65_dollars() -> None:
    """Defect: stock was charged the option rate, 0.65 per share (65.00 to sell 100 shares)."""
    async def body() -> None:
        async with session() as (sim, [ib]):
            stock = Stock("QQQ", "SMART", "USD")
            await ib.qualifyContractsAsync(stock)
            small = ib.placeOrder(stock, MarketOrder("SELL", 100, account="DU001", orderRef="flatten"))
            await wait_until(small.isDone)
            large = ib.placeOrder(stock, MarketOrder("BUY", 300, account="DU001", orderRef="buy-back"))
            await wait_until(large.isDone)

            commissions = [f["commission"] for f in _fills(sim)]
            assert commissions == [Decimal("1.00"), Decimal("1.500")]  # 100 x 0.005 = 0.50 → minimum 1.00; 1.50
            await wait_until(lambda: len(ib.fills()) == 2 and all(f.commissionReport.execId for f in ib.fills()))
            assert [f.commissionReport.commission for f in ib.fills()] == [1.0, 1.5]

    run(body)


def test_a_single_option_contract_pays_the_per_order_minimum_once_across_partial_fills() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            option = Option("QQQ", DAY, 478, "P", "SMART", tradingClass="QQQ")
            await ib.qualifyContractsAsync(option)
            one = ib.placeOrder(option, MarketOrder("BUY", 1, account="DU001", orderRef="one"))
            await wait_until(one.isDone)
            sim.inject("partial_fill", account="DU001")
            two = ib.placeOrder(option, MarketOrder("BUY", 2, account="DU001", orderRef="two"))
            await wait_until(lambda: len(_fills(sim)) == 2)
            two.order.totalQuantity = 2
            ib.placeOrder(option, two.order)  # a modify lets the stalled rest fill
            await wait_until(two.isDone)

            assert [f["commission"] for f in _fills(sim)] == [Decimal("1.00"), Decimal("1.00"), Decimal("0.30")]

    run(body)


def test_the_journal_carries_each_fills_commission_and_security_type() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            await _sell_spread(sim, ib, 2)

            assert [(f["commission"], f["sec_type"]) for f in _fills(sim)] == [(Decimal("1.30"), "OPT")] * 2

    run(body)


def test_the_days_realized_pnl_starts_at_zero_on_a_new_day() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            await _sell_spread(sim, ib, 1)
            sim.advance(6 * 3600)  # the spread expires at 16:00 (QQQ at 480: both puts worthless)
            account = sim.broker.accounts["DU001"]
            assert account.day_realized > 0

            sim.advance(17 * 3600 + 1800)  # 09:30 the next day

            assert (account.day_realized, account.realized > 0) == (Decimal(0), True)

    run(body)
