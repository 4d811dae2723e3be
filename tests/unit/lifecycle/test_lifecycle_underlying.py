"""A SPY spread through the day: watched at SPY's price, closed as SPY options, its assignment repaired with SPY
stock, its expiry settled from SPY's close. Each test fails where the lifecycle read QQQ for every underlying (SPY
near 585, QQQ near 480: QQQ's price says every SPY strike is far away)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from lifecycle_broker import MemoryBroker
from lifecycle_fakes import DAY, FixedClock, MemorySettlementStore, follower, option, stock
from lifecycle_rig import Rig, rig

from executor.broker import HeldPosition
from executor.ledger import ExecutionLedger
from executor.lifecycle.ports import LegQuote
from executor.lifecycle.settlement import SettlementDesk
from spreadpilot.ledger import SettlementKind
from spreadpilot.models import IntentKind, OrderIntent, Right, Spread, Strategy

A = "DU001"
SPY_PRICES = {"SPY": Decimal("585.40"), "QQQ": Decimal("480.00")}


def spy(position: HeldPosition) -> HeldPosition:
    """The same position in SPY (its own conId: SPY's 585 put is not QQQ's)."""
    return replace(position, symbol="SPY", con_id=position.con_id + 90_000)


def et(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 3, 17, hh + 4, mm, tzinfo=UTC)  # EDT


def spy_entry(at: datetime) -> OrderIntent:
    """f01's filled SPY entry of the day (bull put 585/580)."""
    return OrderIntent(intent_id="entry-20260317-SPY-bull_put-x-f01", signal_id="20260317-SPY-bull_put-x",
                       follower_id="f01", gateway_id="gw-advisor", account=A, symbol="SPY",
                       spread=Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(585), long_strike=Decimal(580)),
                       expiry=DAY, contracts=1, filled_qty=1, created_at=at, updated_at=at)


async def passes(r: Rig, n: int = 2) -> None:
    for _ in range(n):
        await r.parts.monitor.pass_once(r.ctx.clock.now())
        await r.settle()


def test_a_spy_spread_at_pin_risk_is_closed_as_one_spy_combo_from_spys_price() -> None:
    short, long_ = spy(option(A, 585, -1)), spy(option(A, 580, 1))
    quotes = {short.con_id: LegQuote(short.con_id, Decimal("2.00"), Decimal("2.10"))}  # time value left
    broker = MemoryBroker([short, long_], quotes, prices=dict(SPY_PRICES))
    r = rig(broker, [follower(1)], FixedClock(et(15, 56)))
    r.store.entries.append(spy_entry(et(9, 31)))

    asyncio.run(passes(r))

    (close,) = broker.sent("combo")
    assert (close["symbol"], close["action"], close["legs"]) == ("SPY", "SELL", sorted([short.con_id, long_.con_id]))
    assert set(broker.priced) == {"SPY"}  # asked, and only for SPY: QQQ's price was never the one read
    (exit_,) = [t.intent for t in r.ctx.book.tracked.values()]
    assert (exit_.kind, exit_.symbol, exit_.signal_id) == (IntentKind.EXIT, "SPY", "20260317-SPY-bull_put-x")
    assert broker.positions_ == []


def test_a_spy_spread_far_from_spys_price_is_left_alone_while_qqq_sits_on_its_strike() -> None:
    short, long_ = spy(option(A, 480, -1)), spy(option(A, 475, 1))  # QQQ (480.00) sits on 480; SPY is at 585.40
    quotes = {short.con_id: LegQuote(short.con_id, Decimal("0.01"), Decimal("0.02"))}
    broker = MemoryBroker([short, long_], quotes, prices=dict(SPY_PRICES))
    r = rig(broker, [follower(1)], FixedClock(et(15, 56)))

    asyncio.run(passes(r))

    assert broker.sent("combo") == []


def test_assigned_spy_stock_is_sold_at_spys_mid_and_the_alert_names_spy() -> None:
    assigned = replace(stock(A, 100), symbol="SPY", con_id=756733)
    broker = MemoryBroker([assigned, spy(option(A, 580, 1))], prices={"SPY": Decimal("583.00"),
                                                                      "QQQ": Decimal("480.00")})
    r = rig(broker, [follower(1)], FixedClock(et(11)), compensation="flatten")
    r.store.entries.append(spy_entry(et(9, 31)))

    asyncio.run(passes(r, 1))

    sale = broker.sent("single")[0]
    assert (sale["action"], sale["qty"], sale["con_id"]) == ("SELL", 100, 756733)
    assert sale["limit"] == Decimal("582.95")  # SPY's mid less stock_limit_slack, not QQQ's
    (assigned_alert,) = [a for a in r.alerts.alerts() if a.type == "position.assigned"]
    assert "100 SPY shares" in assigned_alert.message
    (sale_intent,) = [t.intent for t in r.ctx.book.tracked.values()]
    assert sale_intent.symbol == "SPY"


def test_a_spy_call_that_finishes_in_the_money_is_settled_from_spys_close_with_spy_stock() -> None:
    # a bear call 583/588 with SPY closing at 584.50: the short is 1.50 in the money (QQQ's 480 would say worthless)
    short, long_ = spy(option(A, 583, -1, Right.CALL)), spy(option(A, 588, 1, Right.CALL))
    broker = MemoryBroker([short, long_], prices={"SPY": Decimal("584.50"), "QQQ": Decimal("480.00")})
    clock = FixedClock(et(15))
    r = rig(broker, [follower(1)], clock)
    store = MemorySettlementStore()
    desk = SettlementDesk(r.ctx, ExecutionLedger(r.ctx.intents, clock), store, lambda _: False)

    async def body() -> None:
        await desk.pass_once(clock.now())
        await desk.pass_once(et(16, 1))

    asyncio.run(body())

    by_con = {e.con_id: e for e in store.events.values()}
    assert {e.kind for e in by_con.values()} == {SettlementKind.EXPIRY}
    assigned = by_con[short.con_id]
    assert (assigned.symbol, assigned.shares, assigned.closing_price) == ("SPY", -100, Decimal("584.50"))
    assert (by_con[long_.con_id].shares, by_con[long_.con_id].symbol) == (0, "SPY")
