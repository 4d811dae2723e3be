"""Firestore, as the executor uses it: followers, gateways, kill switches, intents, fills, heartbeat.

Documents written here:
    orders/{intent_id}      OrderIntent (create-if-absent BEFORE any order goes out; each state change timestamped)
    fills/{exec_id}         Fill (create-if-absent; one per leg execution reported by the broker)
    heartbeats/executor     {at, started_at, gateways: {id: {connected, since, accounts}}, in_flight, version}
Read: followers/*, gateways/*, controls/global and controls/{follower_id} (kill switches; absent = not paused).

The Firestore client is synchronous; every call runs on a thread pool sized for the fan-out so the event loop is
never blocked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from executor.checks import Controls
from spreadpilot.models import Fill, Follower, FollowerState, Gateway, IntentState, OrderIntent
from spreadpilot.store import CONTROLS, HEARTBEATS, Store

T = TypeVar("T")
OPEN_STATES = [s.value for s in IntentState if not s.final]
GLOBAL_CONTROLS = "global"


class ExecutorStore(Protocol):
    """What the executor reads and writes in the system of record."""

    async def enabled_followers(self) -> list[Follower]:
        """Followers that take new entries (enabled and active)."""
        ...

    async def gateways(self) -> dict[str, Gateway]:
        """Every configured gateway by id."""
        ...

    async def controls(self, follower_ids: Iterable[str]) -> tuple[Controls, dict[str, Controls]]:
        """The global kill switch and each follower's."""
        ...

    async def get_intents(self, intent_ids: Iterable[str]) -> dict[str, OrderIntent]:
        """The intents that exist among ``intent_ids``."""
        ...

    async def create_intent(self, intent: OrderIntent) -> bool:
        """Create the intent if absent; False if it existed (another delivery got there first)."""
        ...

    async def save_intent(self, intent: OrderIntent) -> None:
        """Write the intent's current state."""
        ...

    async def open_intents(self) -> list[OrderIntent]:
        """Intents not in a final state (to resume after a restart)."""
        ...

    async def record_fill(self, fill: Fill) -> bool:
        """Record one execution if absent; False if it was recorded before."""
        ...

    async def update_fill_commission(self, exec_id: str, commission: Decimal) -> None:
        """Set the commission of a recorded fill (IB reports it after the execution)."""
        ...

    async def write_heartbeat(self, doc: dict[str, object]) -> None:
        """Replace ``heartbeats/executor``."""
        ...


class FirestoreExecutorStore:
    """``ExecutorStore`` over the shared ``Store``, off the event loop."""

    def __init__(self, store: Store, pool: ThreadPoolExecutor) -> None:
        self.store = store
        self.pool = pool

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn)

    async def enabled_followers(self) -> list[Follower]:
        """Followers with ``enabled`` true and state active."""
        followers = await self._run(lambda: self.store.followers.where("enabled", "==", True))
        return sorted((f for f in followers if f.state is FollowerState.ACTIVE), key=lambda f: f.id)

    async def gateways(self) -> dict[str, Gateway]:
        """Every gateway document."""
        return {g.id: g for g in await self._run(self.store.gateways.all)}

    async def controls(self, follower_ids: Iterable[str]) -> tuple[Controls, dict[str, Controls]]:
        """Kill switches in one round trip."""
        ids = [GLOBAL_CONTROLS, *follower_ids]

        def read() -> dict[str, dict[str, Any]]:
            refs = [self.store.db.collection(CONTROLS).document(doc_id) for doc_id in ids]
            return {snap.id: snap.to_dict() or {} for snap in self.store.db.get_all(refs) if snap.exists}

        docs = await self._run(read)
        per_follower = {fid: Controls.from_doc(docs.get(fid)) for fid in ids[1:]}
        return Controls.from_doc(docs.get(GLOBAL_CONTROLS)), per_follower

    async def get_intents(self, intent_ids: Iterable[str]) -> dict[str, OrderIntent]:
        """Existing intents by id."""
        ids = list(intent_ids)
        return await self._run(lambda: self.store.orders.get_many(ids)) if ids else {}

    async def create_intent(self, intent: OrderIntent) -> bool:
        """Create-if-absent ``orders/{intent_id}``."""
        return await self._run(lambda: self.store.orders.create(intent))

    async def save_intent(self, intent: OrderIntent) -> None:
        """Merge the intent into its document."""
        await self._run(lambda: self.store.orders.put(intent))

    async def open_intents(self) -> list[OrderIntent]:
        """Intents whose state is not final."""
        return await self._run(lambda: self.store.orders.where("state", "in", OPEN_STATES))

    async def record_fill(self, fill: Fill) -> bool:
        """Create-if-absent ``fills/{exec_id}``."""
        return await self._run(lambda: self.store.fills.create(fill))

    async def update_fill_commission(self, exec_id: str, commission: Decimal) -> None:
        """Merge the commission into ``fills/{exec_id}``."""
        await self._run(lambda: self.store.fills.ref(exec_id).set({"commission": str(commission)}, merge=True))

    async def write_heartbeat(self, doc: dict[str, object]) -> None:
        """Replace ``heartbeats/executor``."""
        await self._run(lambda: self.store.db.collection(HEARTBEATS).document("executor").set(doc))
