"""The executor's Firestore calls run on two lanes: an order on its way never queues behind a bulk of first writes."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from executor.intents import FirestoreExecutorStore
from executor.lease import LeaseLost
from faultsim.firestore import MemoryFirestore
from faultsim.firestore_refs import DocumentRef
from spreadpilot.models import IntentState, OrderIntent, Spread, StateChange, Strategy
from spreadpilot.store import Store

NOW = datetime(2026, 3, 17, 13, 45, tzinfo=UTC)


def intent() -> OrderIntent:
    return OrderIntent(intent_id="entry-20260317-QQQ-bull_put-7d0e417a-f01", signal_id="20260317-QQQ-bull_put-7d0e417a",
                       follower_id="f01", gateway_id="gw-advisor", account="DU001", symbol="QQQ",
                       spread=Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480)),
                       expiry=date(2026, 3, 17), contracts=1, history=(StateChange(state=IntentState.PLANNED, at=NOW),),
                       created_at=NOW, updated_at=NOW)


def test_an_intents_next_state_is_written_while_every_bulk_thread_is_busy() -> None:
    # a fan-out of 1000 queues 2000 first writes in the bulk pool; the order about to go out must not wait for them
    db = MemoryFirestore(lambda: NOW)
    bulk, lane = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    store = FirestoreExecutorStore(Store(db), bulk, lane)
    planned = intent()

    async def scenario() -> None:
        assert await store.create_intent(planned, 1)
        release = threading.Event()
        busy = asyncio.get_running_loop().run_in_executor(bulk, release.wait)
        try:
            await asyncio.wait_for(store.save_intent(planned.moved_to(IntentState.SUBMITTED, NOW, "sending"), 1), 5)
        finally:
            release.set()
            await busy

    asyncio.run(scenario())
    bulk.shutdown()
    lane.shutdown()
    assert db.collection("orders").document(planned.intent_id).get().to_dict()["state"] == "submitted"


def test_a_write_that_waited_behind_a_newer_owners_write_is_refused_not_landed_over_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the 50-follower outage integration test: a write issued before the lease lapsed sat in a hung connection
    # while the write under the next epoch landed; when the old one's RPC goes through at last, its version
    # precondition fails and the stored epoch refuses it (the epoch is new because GatewayLease.lapse made it so)
    db = MemoryFirestore(lambda: NOW)
    lane = ThreadPoolExecutor(2)
    store = FirestoreExecutorStore(Store(db), lane, lane)
    planned = intent()
    hung, hang_next = threading.Event(), []
    update = DocumentRef.update

    def hanging_update(ref: DocumentRef, *args: object, **kwargs: object) -> object:
        if hang_next:  # the RPC of this write hangs (its thread has read what it reads by now)
            hang_next.clear()
            hung.wait(5)
        return update(ref, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(DocumentRef, "update", hanging_update)

    async def scenario() -> None:
        assert await store.create_intent(planned, 1)
        await store.save_intent(planned.moved_to(IntentState.PLANNED, NOW, "stamped"), 1)  # a known version now
        hang_next.append(True)
        late = asyncio.ensure_future(store.save_intent(planned.moved_to(IntentState.SUBMITTED, NOW, "old"), 1))
        await asyncio.sleep(0.05)
        await store.save_intent(planned.moved_to(IntentState.WORKING, NOW, "new owner"), 2)
        hung.set()
        try:
            await late
        except LeaseLost:
            return
        raise AssertionError("the old write landed")

    asyncio.run(scenario())
    lane.shutdown()
    assert db.collection("orders").document(planned.intent_id).get().to_dict()["state"] == "working"
