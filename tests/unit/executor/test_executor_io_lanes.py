"""The executor's Firestore calls run on two lanes: an order on its way never queues behind a bulk of first writes."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal

from executor.intents import FirestoreExecutorStore
from faultsim.firestore import MemoryFirestore
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
