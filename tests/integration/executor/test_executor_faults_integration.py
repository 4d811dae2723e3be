"""Broker faults over real parts: each order ends in the right state with the right alert."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from executor_harness import (
    Executor,
    advisor,
    alert_types,
    broker_orders,
    every_fill_recorded,
    follower,
    intents,
    make_signal,
    order_messages,
    publish,
    ref,
    seed,
    settled,
    wait_for,
)
from google.cloud import firestore

from ibsim.testing import SimulatorProcess
from spreadpilot.models import IntentState
from stack.local_stack import LocalStack
from stack.topology import TopicTap


def test_socket_closed_mid_ladder_and_order_ids_rolled_back_resume_without_duplicates_and_alert_the_outage(
        clean_stack: LocalStack, firestore_db: firestore.Client, simulator: Callable[..., SimulatorProcess],
        executors: Callable[..., Executor], tap: Callable[[str], TopicTap]) -> None:
    followers = [follower(1), follower(2)]
    late = [follower(3), follower(4)]  # onboarded after the restart: their first orders use the new order ids
    sim = simulator([f.ibkr_account for f in followers + late], "--fill-mode", "never")
    seed(firestore_db, followers, [advisor(sim)])
    alerts = tap("alerts")
    executor = executors(ladder_step_s=20)
    first = make_signal()

    publish(clean_stack.project, first)
    wait_for(lambda: order_messages(sim) >= 3, 30, "both orders working and one ladder step sent")
    sim.inject("lower_next_id", next_id=1)  # the gateway restarts: order ids start over
    sim.inject("disconnect", seconds=60)  # longer than the 30 s outage alert
    before = order_messages(sim)
    wait_for(lambda: order_messages(sim) > before, 30, "a ladder step on the adopted order after the reconnect")
    sim.control("/fills", {"mode": "immediate"})  # the next concession fills
    wait_for(settled(firestore_db, first, followers), 60, "the first signal's intents to settle")
    seed(firestore_db, late, [])
    # a second signal the same day: new orders after the rollback must not reuse live ids; followers that already
    # have today's entry get none (one spread a day per follower)
    second = make_signal(short=486, long_=481)
    publish(clean_stack.project, second)
    wait_for(settled(firestore_db, second, followers + late), 60, "the second signal's intents to settle")

    orders = broker_orders(sim)
    assert {f.id: intents(firestore_db, first)[f.id].state for f in followers} == {
        "f01": IntentState.FILLED, "f02": IntentState.FILLED}
    assert {f.id: intents(firestore_db, second)[f.id].state for f in followers + late} == {
        "f01": IntentState.SKIPPED, "f02": IntentState.SKIPPED, "f03": IntentState.FILLED, "f04": IntentState.FILLED}
    assert all(len(orders[ref(first, f.id)]) == 1 for f in followers)
    assert all(len(orders[ref(second, f.id)]) == 1 for f in late)
    assert not any(ref(second, f.id) in orders for f in followers)
    every_fill_recorded(sim, firestore_db)
    assert "gateway.disconnected" in alert_types(alerts, {"gateway.disconnected"})
    assert executor.terminate() == 0


def test_exec_before_open_partial_fill_and_a_dropped_order_each_end_in_the_right_state(
        clean_stack: LocalStack, firestore_db: firestore.Client, simulator: Callable[..., SimulatorProcess],
        executors: Callable[..., Executor], tap: Callable[[str], TopicTap]) -> None:
    followers = [follower(1), follower(2, multiplier="2"), follower(3)]
    sim = simulator([f.ibkr_account for f in followers])
    sim.inject("exec_before_open", account="DU001")
    sim.inject("partial_fill", account="DU002")
    sim.inject("drop_order", account="DU003")
    seed(firestore_db, followers, [advisor(sim)])
    alerts = tap("alerts")
    executor = executors(ladder_max_steps=0, ack_timeout_s=2)
    sig = make_signal()

    publish(clean_stack.project, sig)
    wait_for(settled(firestore_db, sig, followers), 60, "intents to settle")

    found = intents(firestore_db, sig)
    assert found["f01"].state is IntentState.FILLED
    assert found["f02"].state is IntentState.PARTIALLY_FILLED
    assert found["f02"].filled_qty == 2
    assert found["f03"].state is IntentState.FILLED  # dropped silently, proven absent, sent once more
    orders = broker_orders(sim)
    assert all(len(orders[ref(sig, f.id)]) == 1 for f in followers)
    every_fill_recorded(sim, firestore_db)
    assert {"order.partial_fill", "order.ladder_exhausted"} <= set(
        alert_types(alerts, {"order.partial_fill", "order.ladder_exhausted"}))
    assert executor.terminate() == 0


@pytest.mark.parametrize("resubmit", ["on", "off"])
def test_an_entry_sent_as_the_gateway_loses_ibkr_is_never_doubled_after_1102_whatever_the_resubmit_setting(
        resubmit: str, clean_stack: LocalStack, firestore_db: firestore.Client,
        simulator: Callable[..., SimulatorProcess], executors: Callable[..., Executor]) -> None:
    """IB Gateway's "Maintain and resubmit orders when connection is restored": an order that reaches the gateway
    just as its link to IBKR goes (1100, which the executor hears only after sending) is kept and sent on 1102 (on),
    or rejected (off). Either way no intent reaches the broker twice: with "on" it fills from the kept order; with
    "off" every order caught in flight ends rejected, with the broker's reason (which is why the VM keeps "on")."""
    followers = [follower(1), follower(2), follower(3)]
    sim = simulator([f.ibkr_account for f in followers], "--resubmit", resubmit)
    sim.inject("link_lost_at_order", account="DU002", seconds=30)
    seed(firestore_db, followers, [advisor(sim)])
    executor = executors(ack_timeout_s=2)
    sig = make_signal()

    publish(clean_stack.project, sig)
    wait_for(settled(firestore_db, sig, followers), 90, "intents to settle")

    found = intents(firestore_db, sig)
    orders = broker_orders(sim)
    assert all(len(orders[ref(sig, f.id)]) == 1 for f in followers)  # nothing sent again after 1102
    held = [e["event"] for e in sim.journal() if e.get("order_ref") == ref(sig, "f02")]
    if resubmit == "on":
        assert {fid: i.state for fid, i in found.items()} == {fid: IntentState.FILLED for fid in found}
        assert held.count("resubmitted") == 1  # f02 filled from the order the gateway kept through 1100
    else:
        assert found["f02"].state is IntentState.REJECTED
        assert "Not connected" in found["f02"].reason
        assert {i.state for i in found.values()} <= {IntentState.FILLED, IntentState.REJECTED}
        assert all(i.filled_qty == 0 for i in found.values() if i.state is IntentState.REJECTED)
    every_fill_recorded(sim, firestore_db)
    assert executor.terminate() == 0
