"""Two executor processes over one Firestore: a gateway is driven by the one holding its lease, and a dead
process's gateways are taken over within the lease time, with no order sent twice (real processes, ib_async,
ibsim, the Firestore and Pub/Sub emulators)."""

from __future__ import annotations

import time
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
from stack.local_stack import LocalStack

TTL_S = 6.0  # real seconds


def holders(db: firestore.Client) -> dict[str, str]:
    """Gateway → the executor holding its lease (the holder is ``<executor id>:<pid>``)."""
    return {snap.id: str((snap.to_dict() or {}).get("holder", "")).split(":")[0]
            for snap in db.collection("leases").stream()}


def test_a_killed_executors_gateways_are_taken_over_within_the_lease_time_and_trade_once(
        clean_stack: LocalStack, firestore_db: firestore.Client, simulator: Callable[..., SimulatorProcess],
        executors: Callable[..., Executor]) -> None:
    followers = [follower(1, gateway_id="gw-a"), follower(2, gateway_id="gw-b"), follower(3, gateway_id="gw-c")]
    sims = {f.gateway_id: simulator([f.ibkr_account]) for f in followers}
    gateways = [Gateway(id=gid, host=sim.host, port=sim.port, client_id=7) for gid, sim in sims.items()]
    seed(firestore_db, followers, gateways)

    first = executors(executor_id="vm-a", lease_ttl_s=str(TTL_S))
    wait_for(lambda: holders(firestore_db) == {"gw-a": "vm-a", "gw-b": "vm-a", "gw-c": "vm-a"}, 30,
             "the first executor to hold every gateway")
    second = executors(executor_id="vm-b", lease_ttl_s=str(TTL_S))
    time.sleep(2 * TTL_S / 3)  # the second renews in vain while the first holds the leases
    assert set(holders(firestore_db).values()) == {"vm-a"}

    first.kill()  # SIGKILL: no lease is given up
    killed_at = time.monotonic()
    wait_for(lambda: set(holders(firestore_db).values()) == {"vm-b"}, 3 * TTL_S, "the takeover of every gateway")
    took = time.monotonic() - killed_at
    assert took <= TTL_S * 1.5, f"takeover took {took:.1f} s for a {TTL_S} s lease"

    sig = make_signal()
    publish(clean_stack.project, sig)
    wait_for(settled(firestore_db, sig, followers), 60, "every follower's intent to settle")
    assert {fid: i.state for fid, i in intents(firestore_db, sig).items()} == {
        "f01": IntentState.FILLED, "f02": IntentState.FILLED, "f03": IntentState.FILLED}
    for f in followers:
        orders = broker_orders(sims[f.gateway_id])
        assert len(orders[ref(sig, f.id)]) == 1, f"{f.id}: {orders}"
    assert second.terminate() == 0
