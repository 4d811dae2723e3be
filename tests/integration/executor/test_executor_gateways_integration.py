"""Gateways are data: a gateway (and a follower on it) added in Firestore while the executor runs is traded on the
next signal, and one removed is let go, without a restart (the real executor process, ib_async, ibsim, the
Firestore and Pub/Sub emulators)."""

from __future__ import annotations

from collections.abc import Callable

from executor_harness import (
    Executor,
    broker_orders,
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
from spreadpilot.models import Gateway, IntentState
from spreadpilot.store import Store
from stack.local_stack import LocalStack


def held_by(db: firestore.Client, gateway_id: str) -> str:
    snap = db.collection("leases").document(gateway_id).get()
    return str((snap.to_dict() or {}).get("expires_at", "")) if snap.exists else ""


def test_a_gateway_added_while_the_executor_runs_trades_its_follower_on_the_next_signal_and_one_removed_is_let_go(
        clean_stack: LocalStack, firestore_db: firestore.Client, simulator: Callable[..., SimulatorProcess],
        executors: Callable[..., Executor]) -> None:
    first, second = follower(1, gateway_id="gw-a"), follower(2, gateway_id="gw-b")
    sim_a, sim_b = simulator([first.ibkr_account]), simulator([second.ibkr_account])
    seed(firestore_db, [first], [Gateway(id="gw-a", host=sim_a.host, port=sim_a.port, client_id=7)])
    executor = executors(executor_id="vm-a", gateways_poll_s="1")
    wait_for(lambda: held_by(firestore_db, "gw-a") != "", 30, "the executor to hold gw-a")

    store = Store(firestore_db)  # what the admin API writes when an admin adds a gateway and a follower on it
    store.gateways.put(Gateway(id="gw-b", host=sim_b.host, port=sim_b.port, client_id=7))
    store.followers.put(second)
    wait_for(lambda: held_by(firestore_db, "gw-b") != "", 30, "the executor to take up gw-b without a restart")

    sig = make_signal()
    publish(clean_stack.project, sig)
    wait_for(settled(firestore_db, sig, [first, second]), 60, "both followers' intents to settle")
    assert {fid: i.state for fid, i in intents(firestore_db, sig).items()} == {
        "f01": IntentState.FILLED, "f02": IntentState.FILLED}
    assert len(broker_orders(sim_b)[ref(sig, "f02")]) == 1  # the new gateway's follower, at its broker, once

    renewed = held_by(firestore_db, "gw-b")
    firestore_db.collection("gateways").document("gw-b").delete()
    wait_for(lambda: held_by(firestore_db, "gw-b") not in ("", renewed) and held_by(firestore_db, "gw-b") < renewed,
             30, "the removed gateway's lease to be given up")
    assert executor.terminate() == 0
