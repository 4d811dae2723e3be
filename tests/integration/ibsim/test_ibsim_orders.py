"""Orders: what-if, the bull put credit spread as a BAG at a negative limit, fills, modify, cancel, reject."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from ib_async import IB, ExecutionFilter
from ibsim_harness import (
    LONG_STRIKE,
    SHORT_STRIKE,
    bull_put_spread,
    combo_mid,
    config,
    credit_order,
    eventually,
    run,
    session,
    wait_until,
)

from ibsim.config import FillMode

WIDTH = SHORT_STRIKE - LONG_STRIKE


def test_what_if_of_a_credit_spread_reports_width_times_100_times_qty_less_the_credit() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            credit = combo_mid(sim, short, long_)
            state = await ib.whatIfOrderAsync(bag, credit_order(credit, 2, "DU001", "wi-1"))
            expected = WIDTH * 100 * 2 - credit * 100 * 2
            assert Decimal(state.initMarginChange) == expected
            assert Decimal(state.initMarginBefore) == 0
            assert sim.broker.orders == {}  # a what-if leaves nothing behind
            [line] = sim.journal.events
            assert line["event"] == "order"
            assert line["what_if"] is True
            assert line["order_ref"] == "wi-1"

    run(body)


def test_bull_put_spread_bought_at_a_negative_limit_fills_with_per_leg_executions_and_commissions() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            credit = combo_mid(sim, short, long_)
            trade = ib.placeOrder(bag, credit_order(credit, 2, "DU001", "intent-42"))
            await wait_until(lambda: trade.isDone() and len(trade.fills) == 2
                             and all(f.commissionReport.commission > 0 for f in trade.fills))
            assert trade.orderStatus.status == "Filled"
            assert trade.orderStatus.filled == 2
            assert trade.orderStatus.avgFillPrice == -float(credit)
            sides = {f.contract.conId: (f.execution.side, f.execution.shares) for f in trade.fills}
            assert sides == {short.conId: ("SLD", 2.0), long_.conId: ("BOT", 2.0)}
            assert {f.execution.orderRef for f in trade.fills} == {"intent-42"}
            leg_sum = sum(f.execution.price * (1 if f.execution.side == "BOT" else -1) for f in trade.fills)
            assert round(leg_sum, 2) == -float(credit)
            assert all(f.commissionReport.commission == 1.30 for f in trade.fills)
            assert trade.order.permId > 0

    run(body)


def test_executions_positions_and_pnl_reflect_the_fill() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 2, "DU001", "intent-7"))
            await wait_until(trade.isDone)
            fills = await ib.reqExecutionsAsync(ExecutionFilter())
            assert sorted(f.execution.side for f in fills) == ["BOT", "SLD"]
            assert {f.execution.permId for f in fills} == {trade.order.permId}
            positions = {p.contract.conId: p.position for p in await ib.reqPositionsAsync()}
            assert positions == {short.conId: -2.0, long_.conId: 2.0}
            pnl = ib.reqPnL("DU001")
            await wait_until(lambda: pnl.dailyPnL == pnl.dailyPnL and pnl.realizedPnL == pnl.realizedPnL)
            # Filled at mid, marked at mid: only the commissions are lost so far.
            assert round(pnl.dailyPnL, 2) == -2.60
            single = ib.reqPnLSingle("DU001", "", short.conId)
            await wait_until(lambda: single.position == -2)
            sim.set_price(470.0)  # deep in the money: the short put loses
            await wait_until(lambda: pnl.unrealizedPnL < -500)
            values = {v.tag: v.value for v in await ib.accountSummaryAsync("DU001")}
            assert Decimal(values["InitMarginReq"]) >= 0
            assert Decimal(values["NetLiquidation"]) < Decimal("100000")

    run(body)


def test_a_resting_order_is_modified_by_placing_it_again_and_then_cancelled() -> None:
    async def body() -> None:
        async with session(config(fill_mode=FillMode.NEVER)) as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            order = credit_order(combo_mid(sim, short, long_) + Decimal("0.20"), 1, "DU001", "ladder-1")
            trade = ib.placeOrder(bag, order)
            await wait_until(lambda: trade.orderStatus.status == "Submitted")
            order.lmtPrice = round(order.lmtPrice + 0.01, 2)
            ib.placeOrder(bag, order)
            await wait_until(lambda: any(e.message == "Modified" for e in trade.log))
            perm_id = trade.order.permId
            assert sim.broker.orders[(1, order.orderId)].limit == Decimal(str(order.lmtPrice))
            ib.cancelOrder(order)
            await wait_until(lambda: trade.orderStatus.status == "Cancelled")
            events = [e["event"] for e in sim.journal.events]
            assert events == ["order", "order", "cancel"]
            assert {e["perm_id"] for e in sim.journal.events} == {perm_id}

    run(body)


def test_a_limit_better_than_mid_rests_until_the_market_comes_to_it() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_) + Decimal("0.30"), 1, "DU001", "r"))
            await wait_until(lambda: trade.orderStatus.status == "Submitted")
            assert trade.fills == []
            sim.set_price(478.0)  # the short put gains value: the credit on offer grows
            await wait_until(trade.isDone)
            assert trade.orderStatus.status == "Filled"

    run(body)


def test_global_cancel_cancels_every_working_order_of_every_client() -> None:
    async def body() -> None:
        async with session(config(["DU001", "DU002"], fill_mode=FillMode.NEVER), client_ids=(1, 2)) as (sim, clients):
            trades = []
            for ib, account in zip(clients, ["DU001", "DU002"], strict=True):
                bag, short, long_ = await bull_put_spread(ib)
                trades.append(ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, account, account)))
            await wait_until(lambda: all(t.orderStatus.status == "Submitted" for t in trades))
            clients[0].reqGlobalCancel()
            await wait_until(lambda: all(t.orderStatus.status == "Cancelled" for t in trades))

    run(body)


def test_an_order_beyond_the_accounts_funds_is_rejected_with_201() -> None:
    async def body() -> None:
        async with session(config(funds={"DU001": Decimal("300")})) as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            errors: list[int] = []
            ib.errorEvent += lambda req_id, code, text, contract: errors.append(code)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 2, "DU001", "too-big"))
            await wait_until(lambda: trade.orderStatus.status == "Cancelled")
            assert errors == [201]
            assert [e["event"] for e in sim.journal.events] == ["order", "reject"]
            assert await ib.reqPositionsAsync() == []

    run(body)


def test_funds_set_at_run_time_decide_the_next_order() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            sim.set_funds("DU001", Decimal("100"))
            bag, short, long_ = await bull_put_spread(ib)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "x"))
            await wait_until(lambda: trade.orderStatus.status == "Cancelled")

    run(body)


def test_after_a_reconnect_completed_orders_and_executions_carry_order_ref_and_perm_id() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            trade = ib.placeOrder(bag, credit_order(combo_mid(sim, short, long_), 1, "DU001", "intent-9"))
            await wait_until(trade.isDone)
            ib.disconnect()
            await wait_until(lambda: 1 not in sim.broker.connections)
            again = IB()
            await again.connectAsync("127.0.0.1", sim.port, clientId=1, raiseSyncErrors=True)
            try:
                completed = await again.reqCompletedOrdersAsync(apiOnly=True)
                assert [(t.order.orderRef, t.order.permId, t.orderStatus.status) for t in completed] == [
                    ("intent-9", trade.order.permId, "Filled")]
                fills = await again.reqExecutionsAsync()
                assert {f.execution.orderRef for f in fills} == {"intent-9"}
                assert await again.reqAllOpenOrdersAsync() == []
            finally:
                again.disconnect()

    run(body)


def test_the_journal_agrees_with_what_the_client_saw() -> None:
    async def body() -> None:
        async with session() as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            credit = combo_mid(sim, short, long_)
            trade = ib.placeOrder(bag, credit_order(credit, 3, "DU001", "intent-j"))
            await wait_until(lambda: trade.isDone() and len(trade.fills) == 2)
            await asyncio.sleep(0)
            order_line, *fill_lines = sim.journal.events
            assert order_line["event"] == "order"
            assert (order_line["order_id"], order_line["perm_id"], order_line["order_ref"]) == (
                trade.order.orderId, trade.order.permId, "intent-j")
            assert (order_line["action"], order_line["qty"], order_line["order_type"]) == ("BUY", 3, "LMT")
            assert order_line["limit"] == -credit
            assert [(leg["con_id"], leg["action"], leg["ratio"]) for leg in order_line["legs"]] == [
                (short.conId, "SELL", 1), (long_.conId, "BUY", 1)]
            assert {line["exec_id"] for line in fill_lines} == {f.execution.execId for f in trade.fills}
            assert {(line["exec_id"], line["price"]) for line in fill_lines} == {
                (f.execution.execId, Decimal(str(f.execution.price))) for f in trade.fills}
            assert all(line["account"] == "DU001" and line["event"] == "fill" for line in fill_lines)

    run(body)


def test_orders_of_different_accounts_land_in_their_own_books() -> None:
    async def body() -> None:
        async with session(config(["DU001", "DU002"])) as (sim, [ib]):
            bag, short, long_ = await bull_put_spread(ib)
            credit = combo_mid(sim, short, long_)
            trades = [ib.placeOrder(bag, credit_order(credit, n, acct, acct)) for n, acct in ((1, "DU001"),
                                                                                            (3, "DU002"))]
            await wait_until(lambda: all(t.isDone() for t in trades))
            positions = await eventually(ib.reqPositionsAsync, lambda ps: len(ps) == 4)
            by_account = {(p.account, p.contract.conId): p.position for p in positions}
            assert by_account[("DU001", short.conId)] == -1
            assert by_account[("DU002", short.conId)] == -3

    run(body)


def test_a_market_order_for_stock_fills_at_the_ask_and_shows_in_the_portfolio() -> None:
    from ib_async import MarketOrder, Stock

    async def body() -> None:
        async with session() as (_sim, [ib]):
            stock = Stock("QQQ", "SMART", "USD")
            await ib.qualifyContractsAsync(stock)
            trade = ib.placeOrder(stock, MarketOrder("BUY", 100, account="DU001"))
            await wait_until(trade.isDone)
            [fill] = trade.fills
            assert (fill.execution.shares, fill.execution.price) == (100.0, 480.01)
            await wait_until(lambda: [(p.contract.conId, p.position) for p in ib.portfolio("DU001")] == [
                (stock.conId, 100.0)])

    run(body)
