"""Acceptance over real parts: python -m executor ↔ ib_async ↔ ibsim, Pub/Sub and Firestore emulators."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Callable
from decimal import Decimal

from executor_harness import (
    Executor,
    advisor,
    alert_types,
    broker_orders,
    every_fill_recorded,
    first_orders,
    follower,
    intents,
    make_signal,
    publish,
    ref,
    seed,
    settled,
    wait_for,
)
from google.cloud import firestore

from ibsim.testing import SimulatorProcess
from spreadpilot.models import IntentState
from spreadpilot.store import Store
from stack.local_stack import LocalStack
from stack.topology import TopicTap


def test_25_followers_each_get_exactly_one_filled_combo_and_the_one_short_of_margin_is_skipped(
        clean_stack: LocalStack, firestore_db: firestore.Client, simulator: Callable[..., SimulatorProcess],
        executors: Callable[..., Executor], tap: Callable[[str], TopicTap]) -> None:
    followers = [follower(n, multiplier=("0.5", "1", "1.5", "2", "3")[n % 5], max_contracts=(10, 2, 4)[n % 3],
                          enabled=n % 7 != 0) for n in range(1, 26)]
    sim = simulator([f.ibkr_account for f in followers])
    sim.control("/funds", {"account": "DU013", "cash": "50"})
    seed(firestore_db, followers, [advisor(sim)])
    alerts = tap("alerts")
    executor = executors()
    sig = make_signal(qty=2)

    publish(clean_stack.project, sig)
    wait_for(settled(firestore_db, sig, followers), 90, "every enabled follower's intent to settle")

    found = intents(firestore_db, sig)
    orders, firsts = broker_orders(sim), first_orders(sim)
    for f in followers:
        order_ref = ref(sig, f.id)
        if not f.enabled:
            assert f.id not in found
            assert order_ref not in orders
        elif f.id == "f13":
            assert found[f.id].state is IntentState.SKIPPED
            assert order_ref not in orders
        else:
            expected = min(f.max_contracts, int(2 * f.multiplier))
            assert found[f.id].state is IntentState.FILLED, (f.id, found[f.id].history)
            assert len(orders[order_ref]) == 1
            first = firsts[order_ref]
            assert first["account"] == f.ibkr_account
            assert first["action"] == "BUY"
            assert first["qty"] == expected
            assert Decimal(str(first["limit"])) < 0
            assert [(leg["action"], leg["strike"], leg["right"]) for leg in first["legs"]] == [
                ("SELL", 485.0, "P"), ("BUY", 480.0, "P")]
            assert found[f.id].filled_qty == expected
    every_fill_recorded(sim, firestore_db)
    wait_for(lambda: all(f.commission > 0 for f in Store(firestore_db).fills.all()), 10, "commission reports")
    assert "order.margin_skip" in alert_types(alerts, {"order.margin_skip"})
    assert executor.terminate() == 0


def test_the_same_signal_delivered_three_times_concurrently_places_no_second_order(
        clean_stack: LocalStack, firestore_db: firestore.Client, simulator: Callable[..., SimulatorProcess],
        executors: Callable[..., Executor]) -> None:
    followers = [follower(n) for n in range(1, 6)]
    sim = simulator([f.ibkr_account for f in followers])
    seed(firestore_db, followers, [advisor(sim)])
    executor = executors(max_signal_messages=4)
    sig = make_signal()

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda _: publish(clean_stack.project, sig), range(3)))
    wait_for(settled(firestore_db, sig, followers), 60, "intents to settle")
    publish(clean_stack.project, sig)
    wait_for(lambda: executor.log().count('"message": "signal acked"') >= 4, 30, "all four deliveries acked")

    orders = broker_orders(sim)
    assert {r: len(p) for r, p in orders.items()} == {ref(sig, f.id): 1 for f in followers}
