"""Signals fanned out to followers over fake gateways: exactly one order each, duplicates harmless."""

from __future__ import annotations

import asyncio
from datetime import time
from decimal import Decimal

from executor_fakes import FakeBroker, IoLane
from executor_world import World, follower, run, signal, sim_clock, started, trade_one_signal, world

from executor.broker import OrderAck, OrderRequest
from spreadpilot.models import IntentState, make_intent_id


def test_every_enabled_follower_gets_one_filled_combo_and_disabled_ones_none() -> None:
    followers = [follower(1, multiplier="1.5"), follower(2, max_contracts=1), follower(3, enabled=False),
                 follower(4, multiplier="0.4")]
    w = world(followers)

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(signal(qty=2))
        await engine.idle()
        await engine.shutdown()

    run(scenario)
    assert w.store.states() == {"f01": IntentState.FILLED, "f02": IntentState.FILLED, "f04": IntentState.SKIPPED}
    by_account = {o["account"]: o for o in w.orders()}
    assert set(by_account) == {"DU001", "DU002"}
    assert by_account["DU001"]["qty"] == 3
    assert by_account["DU002"]["qty"] == 1
    assert all(o["action"] == "BUY" and Decimal(str(o["limit"])) < 0 for o in w.orders())
    assert by_account["DU001"]["legs"] == [("SELL", Decimal(485), "P"), ("BUY", Decimal(480), "P")]
    f01 = w.store.intents[make_intent_id(signal(qty=2).signal_id, "f01")]
    assert f01.filled_qty == 3
    assert f01.avg_price == Decimal("1.00")
    f01_fills = [f for f in w.store.fills.values() if f.follower_id == "f01"]
    assert len(f01_fills) == 2
    assert {f.commission for f in f01_fills} == {Decimal("1.95")}  # reported after the execution
    assert "sized to 0" in w.store.intents[make_intent_id(signal(qty=2).signal_id, "f04")].reason


def test_the_follower_short_of_margin_is_skipped_with_an_alert() -> None:
    w = world([follower(1), follower(2)])
    w.broker.funds["DU002"] = Decimal(100)

    trade_one_signal(w)
    assert w.store.states() == {"f01": IntentState.FILLED, "f02": IntentState.SKIPPED}
    assert [o["account"] for o in w.orders()] == ["DU001"]
    assert "order.margin_skip" in w.publisher.alert_types()


def test_margin_reduce_mode_sends_what_fits() -> None:
    w = world([follower(1)], margin_mode="reduce")
    w.broker.funds["DU001"] = Decimal(1200)  # 500 of margin per spread

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(signal(qty=4))
        await engine.idle()

    run(scenario)
    assert [o["qty"] for o in w.orders()] == [2]
    assert "order.margin_reduced" in w.publisher.alert_types()


def test_duplicate_signal_delivery_places_no_second_order() -> None:
    w = world([follower(n) for n in range(1, 6)])

    async def scenario() -> None:
        engine = await started(w)
        await asyncio.gather(*(engine.handle_signal(signal()) for _ in range(3)))
        await engine.handle_signal(signal())
        await engine.idle()

    run(scenario)
    refs = [o["order_ref"] for o in w.orders()]
    assert sorted(refs) == sorted(set(refs))
    assert len(refs) == 5


def test_duplicate_delivery_to_two_executor_processes_places_one_order_per_follower() -> None:
    w = world([follower(n) for n in range(1, 4)])
    # a second process: its own connection to the same gateway, the same store and leases
    other = World(w.store, {"gw-advisor": FakeBroker(accounts=w.broker.accounts)}, w.publisher, w.clock, w.settings,
                  w.leases, holder="executor-b")

    async def scenario() -> None:
        first, second = await started(w), await started(other, owns=False)
        await asyncio.gather(first.handle_signal(signal()), second.handle_signal(signal()))
        await asyncio.gather(first.idle(), second.idle())

    run(scenario)
    assert len(w.orders()) + len(other.orders()) == 3


def test_followers_on_separate_gateways_each_trade_on_their_own_gateway() -> None:
    w = world([follower(1, "gw-a"), follower(2, "gw-b"), follower(3, "gw-b")])

    trade_one_signal(w)
    assert [o["account"] for o in w.brokers["gw-a"].journal if o["event"] == "order"] == ["DU001"]
    assert sorted(str(o["account"]) for o in w.brokers["gw-b"].journal if o["event"] == "order") == ["DU002", "DU003"]


def test_global_kill_switch_skips_every_entry() -> None:
    w = world([follower(1), follower(2)])
    w.store.control_docs["global"] = {"entries_paused": True, "updated_by": "ops"}

    trade_one_signal(w)
    assert set(w.store.states().values()) == {IntentState.SKIPPED}
    assert w.orders() == []


def test_follower_kill_switch_skips_only_that_follower() -> None:
    w = world([follower(1), follower(2)])
    w.store.control_docs["f02"] = {"entries_paused": True}

    trade_one_signal(w)
    assert w.store.states() == {"f01": IntentState.FILLED, "f02": IntentState.SKIPPED}


def test_a_signal_outside_the_entry_window_is_skipped_with_an_alert() -> None:
    from executor_world import sim_clock

    w = world([follower(1)], clock=sim_clock(11, 0))

    trade_one_signal(w)
    assert w.store.states() == {"f01": IntentState.SKIPPED}
    assert "signal.outside_window" in w.publisher.alert_types()


def test_credit_below_minimum_skips_without_an_order() -> None:
    w = world([follower(1)])
    w.broker.mid_credit = Decimal("0.65")

    trade_one_signal(w)
    assert w.store.states() == {"f01": IntentState.SKIPPED}
    assert w.orders() == []


def test_a_rejected_order_is_recorded_and_alerted_and_others_still_fill() -> None:
    w = world([follower(1), follower(2)])
    w.broker.reject.add("DU001")

    trade_one_signal(w)
    assert w.store.states() == {"f01": IntentState.REJECTED, "f02": IntentState.FILLED}
    assert "order.rejected" in w.publisher.alert_types()


def test_one_followers_unexpected_failure_is_isolated_retried_and_alerted() -> None:
    w = world([follower(1, "gw-a"), follower(2, "gw-b")], clock=sim_clock(10, 27))

    async def broken(*_: object) -> None:
        raise RuntimeError("adapter bug")

    w.brokers["gw-a"].quote = broken  # type: ignore[method-assign]

    trade_one_signal(w)
    assert w.store.states()["f02"] is IntentState.FILLED
    assert "executor.entry_stalled" in w.publisher.alert_types()
    assert w.store.states()["f01"] is IntentState.SKIPPED  # retried until the entry window closed
    assert [o["account"] for o in w.orders()] == ["DU002"]


def test_a_spread_the_gateway_does_not_list_is_rejected_with_an_alert_and_no_order() -> None:
    w = world([follower(1), follower(2)])
    w.broker.listed = False

    trade_one_signal(w)
    assert set(w.store.states().values()) == {IntentState.REJECTED}
    assert w.orders() == []
    assert "order.rejected" in w.publisher.alert_types()


def test_a_signal_found_before_the_window_opens_is_recorded_at_once_and_traded_at_the_open() -> None:
    from executor_world import sim_clock

    from spreadpilot.clock import new_york

    w = world([follower(1)], clock=sim_clock(9, 28))

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(signal())
        assert w.store.states() == {"f01": IntentState.PLANNED}
        await engine.idle()

    run(scenario)
    intent = next(iter(w.store.intents.values()))
    assert intent.state is IntentState.FILLED
    submitted = next(c for c in intent.history if c.state is IntentState.SUBMITTED)
    assert new_york(submitted.at).time() >= time(9, 30)


def test_every_intent_step_reaches_the_event_console_with_its_ids() -> None:
    from executor.events import ExecutorEvents
    from spreadpilot.events import MemoryEvents

    w = world([follower(1)])
    sink = MemoryEvents()

    async def scenario() -> None:
        engine = w.engine()
        engine.events = ExecutorEvents(sink, None)  # type: ignore[arg-type]  # the loop's default pool
        engine.book.observers.append(engine._intent_event)
        await engine.start()
        await engine.handle_signal(signal())
        await engine.idle()
        assert engine.events is not None
        await engine.events.flush()

    run(scenario)
    assert sink.kinds() == ["intent.planned", "order.submitted", "order.working", "order.filled"]
    assert {e.follower_id for e in sink.events} == {"f01"}


def test_the_first_order_does_not_queue_behind_every_other_followers_intent_write() -> None:
    # found by make bench (1000 followers): every entry's first write queued behind all the fan-out's intent writes
    # in the I/O pool, so no order went out for seconds while the message budget sat idle
    followers = [follower(n) for n in range(1, 101)]
    w = world(followers)
    w.store.lane = IoLane(workers=4, call_s=0.005)
    recorded_at_first_order: list[int] = []
    place = w.broker.place

    async def placing(request: OrderRequest) -> OrderAck:
        if not recorded_at_first_order:
            recorded_at_first_order.append(len(w.store.intents))
        return await place(request)

    w.broker.place = placing  # type: ignore[method-assign]

    trade_one_signal(w)
    assert len(w.orders()) == 100
    assert recorded_at_first_order[0] < 25, (
        f"the first order waited until {recorded_at_first_order[0]} of 100 intents were recorded")
