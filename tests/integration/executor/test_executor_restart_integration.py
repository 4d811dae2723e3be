"""SIGKILL in the middle of a fan-out, restart: still one order per follower, every broker fill in Firestore."""

from __future__ import annotations

from collections.abc import Callable

from executor_harness import (
    Executor,
    advisor,
    broker_orders,
    every_fill_recorded,
    follower,
    intents,
    journal_fills,
    make_signal,
    publish,
    recorded_fills,
    ref,
    seed,
    settled,
    wait_for,
)
from google.cloud import firestore

from ibsim.testing import SimulatorProcess
from spreadpilot.models import IntentState
from stack.local_stack import LocalStack


def test_sigkill_at_several_points_of_a_fan_out_then_restart_leaves_one_order_per_follower_and_every_fill_recorded(
        clean_stack: LocalStack, firestore_db: firestore.Client, simulator: Callable[..., SimulatorProcess],
        executors: Callable[..., Executor]) -> None:
    followers = [follower(n) for n in range(1, 41)]
    sim = simulator([f.ibkr_account for f in followers])
    seed(firestore_db, followers, [advisor(sim)])
    sig = make_signal()

    for new_orders in (1, 5, 5):  # killed as the first order lands, then twice more mid-way
        executor = executors()
        publish(clean_stack.project, sig)  # the unacked message comes again
        target = len(broker_orders(sim)) + new_orders
        wait_for(lambda t=target: len(broker_orders(sim)) >= t, 60, f"{target} broker orders")
        executor.kill()
    last = executors()
    publish(clean_stack.project, sig)
    wait_for(settled(firestore_db, sig, followers), 90, "every intent to settle after the restarts")
    wait_for(lambda: journal_fills(sim) <= recorded_fills(firestore_db), 30, "every broker fill recorded")

    orders = broker_orders(sim)
    assert {order_ref: len(perm_ids) for order_ref, perm_ids in orders.items()} == {
        ref(sig, f.id): 1 for f in followers}
    assert {i.state for i in intents(firestore_db, sig).values()} == {IntentState.FILLED}
    every_fill_recorded(sim, firestore_db)
    assert last.terminate() == 0
