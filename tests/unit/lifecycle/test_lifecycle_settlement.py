"""Settlement events into the account ledger: assignment, exercise and expiry as the executor records them, and the
broker readings the daily reconciliation compares with, over the in-memory broker."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

from lifecycle_broker import MemoryBroker
from lifecycle_fakes import (
    DAY,
    STOCK_CON_ID,
    FixedClock,
    MemoryIntents,
    MemorySettlementStore,
    follower,
    option,
    stock,
)
from lifecycle_rig import rig, spreads

from executor.broker import HeldPosition
from executor.ledger import ExecutionLedger
from executor.lifecycle.ports import AccountPnL
from executor.lifecycle.settlement import SettlementDesk
from spreadpilot.ledger import SettlementKind
from spreadpilot.models import Fill, Right

ACCOUNT = "DU001"
SHORT, LONG = 4851, 4801  # the fakes' conIds of the 485 and 480 puts


def et(hh: int, mm: int = 0, day: int = 17) -> datetime:
    return datetime(2026, 3, day, hh + 4, mm, tzinfo=UTC)


class PnLBroker(MemoryBroker):
    """The in-memory broker with a reqPnL answer."""

    realized: Decimal | None = None

    async def account_pnl(self, account: str) -> AccountPnL | None:
        if self.realized is None:
            return None
        return AccountPnL(daily=self.realized, unrealized=Decimal(0), realized=self.realized)


def desk(broker: MemoryBroker, clock: FixedClock, busy: set[str] | None = None,
         store: MemorySettlementStore | None = None) -> tuple[SettlementDesk, MemorySettlementStore, object]:
    r = rig(broker, [follower(1)], clock)
    ledger = ExecutionLedger(MemoryIntents(), clock)
    store = store or MemorySettlementStore()
    busy_ids = busy if busy is not None else set()
    return SettlementDesk(r.ctx, ledger, store, lambda fid: fid in busy_ids), store, r


def replace(broker: MemoryBroker, *positions: HeldPosition) -> None:
    broker.positions_ = list(positions)


def fill(exec_id: str, con_id: int, side: str, qty: int, price: str, at: datetime, strike: int = 485) -> Fill:
    return Fill(exec_id=exec_id, intent_id="exit-x-f01", order_ref="exit-x-f01", follower_id="f01", account=ACCOUNT,
                con_id=con_id, right=Right.PUT, strike=Decimal(strike), expiry=DAY, side=side, qty=qty,
                price=Decimal(price), at=at)


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_an_assignment_seen_on_two_passes_is_recorded_with_its_stock_at_the_strike() -> None:
    async def body() -> None:
        broker, clock = spreads(1), FixedClock(et(12))
        d, store, _ = desk(broker, clock)
        await d.pass_once(clock.now())  # the broker's positions: the starting point
        replace(broker, option(ACCOUNT, 480, 2), stock(ACCOUNT, 200))  # both short puts assigned

        first = await d.pass_once(et(13, 6))
        second = await d.pass_once(et(13, 7))

        assert first == []  # one look is not enough: a fill may be on its way to the ledger
        [event] = second
        assert (event.kind, event.side, event.qty, event.strike, event.shares) == (
            SettlementKind.ASSIGNMENT, "short", 2, Decimal(485), 200)
        assert store.events == {event.event_id: event}
        assert await d.pass_once(et(13, 8)) == []  # booked: the ledger now explains the account

    run(body())


def test_nothing_is_recorded_while_a_close_of_the_follower_is_in_flight() -> None:
    async def body() -> None:
        broker, clock = spreads(1), FixedClock(et(12))
        busy: set[str] = set()
        d, store, _ = desk(broker, clock, busy)
        await d.pass_once(clock.now())
        busy.add("f01")
        replace(broker, option(ACCOUNT, 480, 2))  # the close's legs landed, its executions not yet

        await d.pass_once(et(13, 6))
        await d.pass_once(et(13, 7))

        assert store.events == {}

    run(body())


def test_executions_in_the_ledger_explain_a_close_so_no_settlement_is_recorded() -> None:
    async def body() -> None:
        broker, clock = spreads(1), FixedClock(et(12))
        d, store, r = desk(broker, clock)
        await d.pass_once(clock.now())
        replace(broker)
        d.ledger.written["a.1"] = fill("a.1.01", SHORT, "BOT", 2, "0.30", et(13))
        d.ledger.written["a.2"] = fill("a.2.01", LONG, "SLD", 2, "0.05", et(13), strike=480)

        await d.pass_once(et(13, 6))
        await d.pass_once(et(13, 7))

        assert store.events == {}
        assert r.alerts.alert_types() == []  # type: ignore[attr-defined]

    run(body())


def test_an_exercised_long_leg_is_recorded_as_an_exercise() -> None:
    async def body() -> None:
        broker, clock = MemoryBroker([option(ACCOUNT, 480, 2), stock(ACCOUNT, 200)]), FixedClock(et(12))
        d, _store, _ = desk(broker, clock)
        await d.pass_once(clock.now())
        replace(broker)  # the long puts exercised: their 200 shares sold at 480

        await d.pass_once(et(13, 10))
        [event] = await d.pass_once(et(13, 11))

        assert (event.kind, event.side, event.qty, event.shares) == (SettlementKind.EXERCISE, "long", 2, -200)

    run(body())


def test_at_the_close_options_still_held_settle_from_the_closing_price_once() -> None:
    async def body() -> None:
        broker, clock = spreads(1, qty=1), FixedClock(et(15))
        broker.underlying = Decimal("483.00")  # the short 485 put 2.00 in the money, the long 480 out of it
        d, store, _ = desk(broker, clock)
        await d.pass_once(clock.now())
        replace(broker, stock(ACCOUNT, 100))  # ibsim settles at once; IBKR shows it overnight

        events = await d.pass_once(et(16, 1))
        again = await d.pass_once(et(16, 2))

        by_con = {e.con_id: e for e in events}
        assert {e.kind for e in events} == {SettlementKind.EXPIRY}
        assert (by_con[SHORT].shares, by_con[SHORT].closing_price, by_con[SHORT].at) == (100, Decimal("483.00"),
                                                                                          et(16))
        assert (by_con[LONG].shares, by_con[LONG].side) == (0, "long")
        assert again == []
        assert len(store.events) == 2

    run(body())


def test_an_unexplained_position_change_is_a_critical_alert_never_silently_accepted() -> None:
    async def body() -> None:
        broker, clock = spreads(1), FixedClock(et(12))
        d, store, r = desk(broker, clock)
        await d.pass_once(clock.now())
        replace(broker, option(ACCOUNT, 485, -3), option(ACCOUNT, 480, 2))  # a short grew without an execution

        await d.pass_once(et(13))
        await d.pass_once(et(13, 1))
        await d.pass_once(et(13, 2))

        assert store.events == {}
        assert r.alerts.alert_types() == ["ledger.position_mismatch"]  # type: ignore[attr-defined]

    run(body())


def test_the_close_reading_has_the_days_realized_and_marks_and_the_open_reading_confirms_the_expiry() -> None:
    async def body() -> None:
        broker, clock = PnLBroker(spreads(1, qty=1).positions_), FixedClock(et(15))
        broker.underlying = Decimal("483.00")
        d, store, r = desk(broker, clock)
        await d.pass_once(clock.now())
        replace(broker, stock(ACCOUNT, 100))
        await d.pass_once(et(16, 1))
        broker.realized = Decimal("73.70")

        await d.pass_once(et(16, 21))
        await d.pass_once(et(9, 20, day=18))  # the next morning, before the open

        close = store.readings["f01:2026-03-17:close"]
        assert (close.realized_pnl, close.underlying) == (Decimal("73.70"), Decimal("483.00"))
        assert [(line.con_id, line.qty, line.mark) for line in close.positions] == [(STOCK_CON_ID, 100,
                                                                                     Decimal("483.00"))]
        opening = store.readings["f01:2026-03-18:open"]
        assert [(line.sec_type, line.qty) for line in opening.positions] == [("STK", 100)]
        assert {ok for ok, _ in store.confirmations.values()} == {True}
        assert r.alerts.alert_types() == []  # type: ignore[attr-defined]

    run(body())


def test_an_expiry_the_broker_settled_differently_is_a_critical_alert_the_next_morning() -> None:
    async def body() -> None:
        broker, clock = spreads(1, qty=1), FixedClock(et(15))
        broker.underlying = Decimal("483.00")
        d, store, r = desk(broker, clock)
        await d.pass_once(clock.now())
        replace(broker)  # IBKR closed the short itself: no stock arrives overnight
        await d.pass_once(et(16, 1))

        await d.pass_once(et(9, 20, day=18))

        assert {ok for ok, _ in store.confirmations.values()} == {False}
        assert r.alerts.alert_types() == ["ledger.expiry_unconfirmed"]  # type: ignore[attr-defined]

    run(body())
