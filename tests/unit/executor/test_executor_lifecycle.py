"""One order's life: the ladder, partial fills, lost acknowledgements, disconnects, restarts."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from executor_world import follower, run, signal, started, trade_one_signal, until, world

from spreadpilot.models import IntentState, make_intent_id

REF = make_intent_id(signal().signal_id, "f01")


def test_ladder_concedes_a_cent_per_step_until_filled() -> None:
    w = world([follower(1)])
    w.broker.fill_credit["DU001"] = Decimal("0.97")  # the market takes 0.97, the mid is 1.00

    trade_one_signal(w)
    intent = w.store.intents[REF]
    assert intent.state is IntentState.FILLED
    assert intent.limit == Decimal("-0.97")
    assert [e["limit"] for e in w.broker.journal if e["event"] == "modify"] == [Decimal("-0.99"), Decimal("-0.98"),
                                                                                Decimal("-0.97")]
    assert len(w.broker.orders_for(REF)) == 1


def test_exhausted_ladder_cancels_the_remainder_and_alerts() -> None:
    w = world([follower(1)], ladder_max_steps=3)
    w.broker.fill_credit["DU001"] = Decimal("0.50")

    trade_one_signal(w)
    intent = w.store.intents[REF]
    assert intent.state is IntentState.CANCELLED
    assert "ladder exhausted" in intent.reason
    assert [e["event"] for e in w.broker.journal] == ["order", "modify", "modify", "modify", "cancel"]
    assert "order.ladder_exhausted" in w.publisher.alert_types()


def test_ladder_never_asks_less_than_the_floor() -> None:
    w = world([follower(1)], ladder_max_steps=10)
    w.broker.mid_credit = Decimal("0.72")
    w.broker.fill_credit["DU001"] = Decimal("0.10")

    trade_one_signal(w)
    limits = [e["limit"] for e in w.broker.journal if e["event"] in ("order", "modify")]
    assert min(-Decimal(str(v)) for v in limits) == Decimal("0.70")
    assert w.store.intents[REF].state is IntentState.CANCELLED


def test_partial_fills_end_partially_filled_with_an_alert() -> None:
    w = world([follower(1)], ladder_max_steps=1)
    w.broker.partial.add("DU001")  # one spread per marketable message

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(signal(qty=4))
        await engine.idle()

    run(scenario)
    intent = w.store.intents[REF.replace(signal().signal_id, signal(qty=4).signal_id)]
    assert intent.state is IntentState.PARTIALLY_FILLED
    assert intent.filled_qty == 2
    assert len([f for f in w.store.fills.values()]) == 4
    assert "order.partial_fill" in w.publisher.alert_types()


def test_executions_before_the_acknowledgement_still_end_filled_with_fills_recorded() -> None:
    w = world([follower(1)])
    w.broker.exec_before_ack = True

    trade_one_signal(w)
    assert w.store.intents[REF].state is IntentState.FILLED
    assert w.store.intents[REF].filled_qty == 2
    assert len(w.store.fills) == 2


def test_socket_closed_mid_ladder_with_order_ids_rolled_back_resumes_without_a_second_order() -> None:
    w = world([follower(1), follower(2)], ladder_step_s=60)
    w.broker.fill_credit["DU001"] = Decimal("0.98")
    w.broker.fill_credit["DU002"] = Decimal("0.98")

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(signal())
        await until(lambda: len(w.broker.orders_for(REF)) == 1)
        w.broker.drop_connection(next_order_id=1)  # the gateway restarted: ids start over
        await asyncio.sleep(0.05)
        await engine.idle()

    run(scenario)
    assert w.store.states() == {"f01": IntentState.FILLED, "f02": IntentState.FILLED}
    assert len(w.orders()) == 2
    order_ids = [o.order_id for o in w.broker.orders.values()]
    assert len(order_ids) == len(set(order_ids))


def test_a_lost_acknowledgement_is_resolved_from_broker_truth_without_resending() -> None:
    w = world([follower(1)])
    w.broker.lose_next_ack = True

    trade_one_signal(w)
    assert len(w.broker.orders_for(REF)) == 1
    assert w.store.intents[REF].state is IntentState.FILLED


def test_an_order_that_never_reached_the_broker_is_sent_once_more_after_reconciliation() -> None:
    w = world([follower(1)])
    w.broker.swallow_next_place = True

    trade_one_signal(w)
    assert len(w.broker.orders_for(REF)) == 1
    intent = w.store.intents[REF]
    assert intent.state is IntentState.FILLED
    assert any(change.note.startswith("resend:") for change in intent.history)


def test_a_placement_the_broker_answered_with_a_doubt_is_unknown_until_reconciled_then_sent_once_more() -> None:
    # the adapter's code catalogue: a 103 (duplicate id) or an unknown code on a new order is OutcomeUnknown
    w = world([follower(1)])
    w.broker.doubt_next_place = "103: Duplicate order id"

    trade_one_signal(w)
    assert len(w.broker.orders_for(REF)) == 1
    intent = w.store.intents[REF]
    assert intent.state is IntentState.FILLED
    assert [c.state for c in intent.history][:4] == [IntentState.PLANNED, IntentState.SUBMITTED,
                                                     IntentState.UNKNOWN, IntentState.PLANNED]
    assert intent.history[2].note == "outcome unknown: 103: Duplicate order id (reconcile code)"


def test_intent_states_are_timestamped_in_order() -> None:
    w = world([follower(1)])

    trade_one_signal(w)
    history = w.store.intents[REF].history
    assert [c.state for c in history] == [IntentState.PLANNED, IntentState.SUBMITTED, IntentState.WORKING,
                                          IntentState.FILLED]
    assert [c.at for c in history] == sorted(c.at for c in history)


def test_gateway_down_longer_than_the_limit_raises_one_alert() -> None:
    w = world([follower(1)], down_alert_s=30, reconnect_min_s=0.01, reconnect_max_s=0.02)
    w.broker.connect_failures = 10**6

    async def scenario() -> None:
        engine = w.engine()
        await engine.start()
        await until(lambda: "gateway.disconnected" in w.publisher.alert_types())
        await asyncio.sleep(0.2)
        await engine.shutdown()

    run(scenario)
    assert w.publisher.alert_types().count("gateway.disconnected") == 1


def test_nothing_is_sent_while_the_gateway_is_down_and_the_entry_goes_out_after_reconnect() -> None:
    w = world([follower(1)], reconnect_min_s=0.01, reconnect_max_s=0.02)

    async def scenario() -> None:
        engine = await started(w)
        w.broker.connect_failures = 5
        w.broker.drop_connection()
        await engine.handle_signal(signal())
        assert w.orders() == []
        await engine.idle()

    run(scenario)
    assert w.store.intents[REF].state is IntentState.FILLED
    assert len(w.orders()) == 1


def test_connectivity_lost_1100_stops_sending_until_1102_restores_it() -> None:
    w = world([follower(1)])

    async def scenario() -> None:
        engine = await started(w)
        link = engine.links["gw-advisor"]
        w.broker.listener.on_connection(1100, "Connectivity between IB and TWS has been lost")
        await engine.handle_signal(signal())
        await asyncio.sleep(0.05)
        assert w.orders() == []
        w.broker.listener.on_connection(1102, "Connectivity restored, data maintained")
        await until(link.ready.is_set)
        await engine.idle()

    run(scenario)
    assert len(w.orders()) == 1
    assert w.store.intents[REF].state is IntentState.FILLED


def test_a_final_state_is_never_undone_by_a_late_timeout() -> None:
    w = world([follower(1)])

    async def scenario() -> None:
        engine = await started(w)
        await engine.handle_signal(signal())
        await engine.idle()
        await engine.book.move(REF, IntentState.UNKNOWN, "no acknowledgement: late")

    run(scenario)
    assert w.store.intents[REF].state is IntentState.FILLED
