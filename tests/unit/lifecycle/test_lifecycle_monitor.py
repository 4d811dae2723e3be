"""The position monitor over an in-memory broker: what it closes, how, and what it leaves alone."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from lifecycle_broker import MemoryBroker
from lifecycle_fakes import (
    STOCK_CON_ID,
    FixedClock,
    MemoryLifecycleStore,
    RecordingPublisher,
    context,
    follower,
    option,
    stock,
)

from executor.gateways import GatewayLink
from executor.lifecycle.monitor import Monitor
from executor.lifecycle.ports import LegQuote
from executor.lifecycle.service import LifecycleParts
from spreadpilot.models import AssignmentState, IntentKind, IntentState

A = "DU001"


def setup(
    broker: MemoryBroker,
    clock: FixedClock | None = None,
    store: MemoryLifecycleStore | None = None,
    **overrides: object,
) -> tuple[Monitor, MemoryLifecycleStore, RecordingPublisher]:
    store = store or MemoryLifecycleStore(followers_=[follower(1)])
    ctx = context(store, clock, **overrides)

    async def reconciler(gateway_id: str, truth: object) -> None:
        return None

    link = GatewayLink(
        "gw-advisor",
        broker,
        clock=ctx.clock,
        alerts=ctx.alerts,
        reconciler=reconciler,
        on_order=ctx.book.on_order,
        on_execution=lambda e: None,
    )
    link.ready.set()
    ctx.links = {"gw-advisor": link}
    publisher = ctx.alerts.publisher
    assert isinstance(publisher, RecordingPublisher)
    return LifecycleParts(ctx).monitor, store, publisher


async def two_passes(monitor: Monitor) -> None:
    for _ in range(2):
        await monitor.pass_once(monitor.ctx.clock.now())
        await asyncio.gather(*monitor.closer.tasks)


def test_a_spread_whose_short_has_no_time_value_left_is_closed_whole_in_one_combo_order() -> None:
    short, long_ = option(A, 485, -2), option(A, 480, 2)
    broker = MemoryBroker([short, long_], {short.con_id: LegQuote(short.con_id, Decimal("5.00"), Decimal("5.10"))})
    monitor, _, _ = setup(broker)
    asyncio.run(two_passes(monitor))
    assert [(e["event"], e["action"], e["qty"], e["legs"]) for e in broker.journal] == [
        ("combo", "SELL", 2, sorted([short.con_id, long_.con_id]))
    ]
    assert broker.positions_ == []
    exits = [t.intent for t in monitor.ctx.book.tracked.values()]
    assert [(i.kind, i.state) for i in exits] == [(IntentKind.EXIT, IntentState.FILLED)]


def test_a_spread_with_time_value_left_is_not_touched() -> None:
    short, long_ = option(A, 485, -2), option(A, 480, 2)
    broker = MemoryBroker([short, long_], {short.con_id: LegQuote(short.con_id, Decimal("5.30"), Decimal("5.50"))})
    monitor, _, _ = setup(broker)
    asyncio.run(two_passes(monitor))
    assert broker.journal == []


def test_an_option_of_another_expiry_the_follower_holds_is_never_closed_and_an_operator_is_told_once() -> None:
    # found by the fault simulator (k.others_positions_kept): a follower's own June hedge was sold as an "orphan leg"
    hedge = replace(option(A, 400, 1), con_id=600_000_400, expiry=date(2026, 6, 19))
    short, long_ = option(A, 485, -1), option(A, 480, 1)
    broker = MemoryBroker([hedge, short, long_], {short.con_id: LegQuote(short.con_id, Decimal("5.30"),
                                                                          Decimal("5.50"))})
    monitor, _, alerts = setup(broker)
    asyncio.run(two_passes(monitor))
    assert broker.journal == []
    assert hedge in broker.positions_
    assert alerts.alert_types().count("position.not_managed") == 1
    assert "position.orphan_leg" not in alerts.alert_types()


def test_a_naked_short_orphan_is_bought_back_alone_with_a_critical_alert() -> None:
    broker = MemoryBroker([option(A, 485, -1)], underlying=Decimal(490))
    monitor, _, alerts = setup(broker)
    asyncio.run(two_passes(monitor))
    assert [(e["event"], e["action"], e["qty"]) for e in broker.journal] == [("single", "BUY", 1)]
    assert broker.positions_ == []
    assert "position.orphan_leg" in alerts.alert_types()


def test_assigned_stock_is_offset_by_exercising_the_long_put_on_its_listing_exchange() -> None:
    long_ = option(A, 480, 2)
    broker = MemoryBroker([stock(A, 200), long_], underlying=Decimal(478))
    monitor, store, alerts = setup(broker)
    asyncio.run(two_passes(monitor))
    assert broker.journal == [{"event": "exercise", "con_id": long_.con_id, "qty": 2, "exchange": "CBOE"}]
    assert broker.positions_ == []
    assert [d["assignment"] for d in store.positions.values()] == [AssignmentState.COMPENSATED.value]
    assert {"position.assigned", "position.assignment_repair"} <= set(alerts.alert_types())


def test_with_flatten_compensation_the_stock_is_sold_at_a_marketable_limit_instead() -> None:
    broker = MemoryBroker([stock(A, 200), option(A, 480, 2)], underlying=Decimal(478))
    monitor, _, _ = setup(broker, compensation="flatten")
    asyncio.run(two_passes(monitor))
    sale = broker.journal[0]
    assert (sale["event"], sale["action"], sale["qty"], sale["con_id"]) == ("single", "SELL", 200, STOCK_CON_ID)
    assert sale["limit"] == Decimal("477.95")  # the mid less stock_limit_slack: it sells now
    assert not any(e["event"] == "exercise" for e in broker.journal)


def _short_gone_between_passes(first: datetime, second: datetime) -> RecordingPublisher:
    short, long_ = option(A, 485, -2), option(A, 480, 2)
    broker = MemoryBroker(
        [short, long_],
        {short.con_id: LegQuote(short.con_id, Decimal("0.60"), Decimal("0.70"))},
        underlying=Decimal(488),
    )
    clock = FixedClock(first)
    store = MemoryLifecycleStore(followers_=[follower(1)])
    monitor, _, alerts = setup(broker, clock=clock, store=store)
    asyncio.run(monitor.pass_once(clock.now()))
    broker.positions_.clear()  # the broker took the options away without an order of ours
    clock.at = second
    asyncio.run(monitor.pass_once(clock.now()))
    return alerts


def test_options_leaving_the_account_at_the_close_without_stock_are_expiry_not_assignment() -> None:
    alerts = _short_gone_between_passes(
        datetime(2026, 3, 17, 19, 59, tzinfo=UTC), datetime(2026, 3, 17, 20, 1, tzinfo=UTC)
    )
    assert "position.assigned" not in alerts.alert_types()


def test_a_short_option_vanishing_during_the_session_is_treated_as_assignment() -> None:
    alerts = _short_gone_between_passes(
        datetime(2026, 3, 17, 17, 0, tzinfo=UTC), datetime(2026, 3, 17, 17, 1, tzinfo=UTC)
    )
    assert "position.assigned" in alerts.alert_types()


HALF_DAY = date(2026, 11, 27)  # the day after Thanksgiving: the session (and the 0-DTE options) end at 13:00


def pinned_on_the_half_day(et_hour: int, et_minute: int) -> list[dict[str, object]]:
    short = replace(option(A, 485, -1), expiry=HALF_DAY)
    long_ = replace(option(A, 480, 1), expiry=HALF_DAY)
    quotes = {short.con_id: LegQuote(short.con_id, Decimal("0.90"), Decimal("1.00"))}  # time value left: no exit
    broker = MemoryBroker([short, long_], quotes, underlying=Decimal("485.20"))  # 20 cents from the short strike
    clock = FixedClock(datetime(2026, 11, 27, et_hour + 5, et_minute, tzinfo=UTC))  # EST
    monitor, _, _ = setup(broker, clock)
    asyncio.run(two_passes(monitor))
    return broker.journal


def test_on_a_half_day_the_pin_risk_close_comes_five_minutes_before_the_1300_close_and_nothing_after_it() -> None:
    # the pin close was fixed at 15:55: on a 13:00 close it would be sent after the options had expired
    assert [(e["event"], e["action"]) for e in pinned_on_the_half_day(12, 56)] == [("combo", "SELL")]
    assert pinned_on_the_half_day(12, 50) == []  # before the pin window
    assert pinned_on_the_half_day(13, 1) == []  # the session is over


def test_market_data_read_after_the_close_sends_no_exit_though_the_pass_began_before_it() -> None:
    # the month-end money day (31 March): a pass began at 15:59:59, its underlying was read at 16:00 when QQQ had
    # dropped to 483 for the expiry, and the time-value exit it decided went out at 16:00:05, so no stock was
    # delivered at expiry
    short, long_ = option(A, 485, -2), option(A, 480, 2)
    clock = FixedClock(datetime(2026, 3, 17, 19, 59, 59, tzinfo=UTC))  # 15:59:59 EDT
    quotes = {short.con_id: LegQuote(short.con_id, Decimal("1.95"), Decimal("2.05"))}  # $2 in the money, no time value

    class ClosingBroker(MemoryBroker):
        async def underlying_price(self, symbol: str) -> Decimal | None:
            clock.at = datetime(2026, 3, 17, 20, 0, 1, tzinfo=UTC)  # the read answers after the close
            return Decimal(483)

    broker = ClosingBroker([short, long_], quotes)
    monitor, _, _ = setup(broker, clock)

    async def one_pass() -> None:
        await monitor.pass_once(clock.now())
        await asyncio.gather(*monitor.closer.tasks)

    asyncio.run(one_pass())
    assert broker.journal == []


class AskedBroker(MemoryBroker):
    """Counts the reads of the post-expiration excess (each starts or reads an account-updates subscription)."""

    asked: int = 0

    async def post_expiry_excess(self, account: str) -> Decimal | None:
        self.asked += 1
        return await super().post_expiry_excess(account)


def after_post_expiry_check(at: datetime, excess: Decimal | None,
                            expiry: date = date(2026, 3, 17)) -> tuple[AskedBroker, Monitor, RecordingPublisher]:
    # in the money by $5 with $0.40 of time value left, far from the pin: no other rule closes it
    short, long_ = replace(option(A, 485, -2), expiry=expiry), replace(option(A, 480, 2), expiry=expiry)
    broker = AskedBroker([short, long_], {short.con_id: LegQuote(short.con_id, Decimal("5.30"), Decimal("5.50"))})
    if excess is not None:
        broker.post_expiry[A] = excess
    monitor, _, alerts = setup(broker, FixedClock(at))
    asyncio.run(two_passes(monitor))
    return broker, monitor, alerts


def test_a_negative_post_expiration_excess_from_15_30_closes_the_spread_whole_with_one_critical_alert() -> None:
    broker, monitor, alerts = after_post_expiry_check(datetime(2026, 3, 17, 19, 31, tzinfo=UTC),  # 15:31 EDT
                                                      Decimal("-1520.40"))
    assert [(e["event"], e["action"], e["qty"]) for e in broker.journal] == [("combo", "SELL", 2)]
    exits = [t.intent for t in monitor.ctx.book.tracked.values()]
    assert [(i.kind, i.state) for i in exits] == [(IntentKind.EXIT, IntentState.FILLED)]
    assert exits[0].reason.startswith("post-expiry margin: the account's post-expiration excess is -1520.40 at 15:31")
    assert alerts.alert_types().count("position.post_expiry_deficit") == 1


def test_the_post_expiry_rule_waits_for_15_30_and_leaves_a_positive_or_unreported_excess_alone() -> None:
    before, _, _ = after_post_expiry_check(datetime(2026, 3, 17, 19, 29, tzinfo=UTC), Decimal("-1520.40"))
    assert before.journal == []
    assert before.asked == 2  # read from 15:15 on, so the subscription has answered by 15:30
    for excess in (Decimal("0.00"), Decimal(250), None):
        broker, _, alerts = after_post_expiry_check(datetime(2026, 3, 17, 19, 45, tzinfo=UTC), excess)
        assert broker.journal == []
        assert "position.post_expiry_deficit" not in alerts.alert_types()
    early, _, _ = after_post_expiry_check(datetime(2026, 3, 17, 18, 0, tzinfo=UTC), Decimal("-1520.40"))
    assert early.asked == 0  # no account-updates subscription per holder all day long


def test_on_a_half_day_the_post_expiry_check_comes_at_12_30() -> None:
    at = datetime(2026, 11, 27, 17, 31, tzinfo=UTC)  # 12:31 EST
    broker, _, alerts = after_post_expiry_check(at, Decimal("-80.00"), expiry=HALF_DAY)
    assert [e["event"] for e in broker.journal] == ["combo"]
    assert alerts.alert_types().count("position.post_expiry_deficit") == 1
