"""Firestore, as the executor uses it: followers, gateways, kill switches, intents, fills, heartbeat.

Documents written here:
    orders/{intent_id}      OrderIntent (create-if-absent BEFORE any order goes out; each state change timestamped;
                            ``lease_epoch`` = the gateway lease's epoch of the writer, see ``executor.lease``)
    claims/entry-day-{follower_id}-{date}   {intent_id}: the one entry a follower gets per day (create-if-absent)
    fills/{exec_id}         Fill (one per leg execution in a follower's account, ours or foreign; an upsert)
    leases/{gateway_id}     {holder, epoch, expires_at} (``executor.lease``)
    heartbeats/executor     {at, started_at, gateways: {id: {connected, since, accounts, owned}}, in_flight, version}
    gateways/{id}.restart_wanted   GatewayRestartWanted (that field only: a data farm broken for minutes; the
                            VM's supervisor restarts the gateway, ``executor.farms``)
Read: followers/*, gateways/*, controls/global and controls/{follower_id} (kill switches; absent = not paused).
A document that does not parse is skipped and reported by ``malformed()`` (one bad document stops nobody).

The Firestore client is synchronous; every call runs on a thread pool sized for the fan-out so the event loop is
never blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

from google.api_core.exceptions import AlreadyExists, FailedPrecondition, NotFound
from google.cloud import firestore

from executor.checks import Controls
from executor.lease import LeaseLost, LeaseRecord, next_record
from spreadpilot.errors import Retryable
from spreadpilot.models import (
    ID_PATTERN,
    Fill,
    Follower,
    FollowerState,
    Gateway,
    GatewayRestartWanted,
    IntentState,
    OrderIntent,
    execution_key,
)
from spreadpilot.store import CONTROLS, GLOBAL_CONTROLS, HEARTBEATS, Malformed, Store

T = TypeVar("T")
OPEN_STATES = [s.value for s in IntentState if not s.final]
LEASES = "leases"
RELEASED = datetime(2000, 1, 1, tzinfo=UTC)  # a released lease "expired" long ago
DOC_ID = re.compile(ID_PATTERN)
Fence = Callable[[str], int]  # gateway id → the lease epoch this process writes with (0: not held: create only)


def entry_day_key(intent: OrderIntent) -> str:
    """The claim that gives a follower one entry per day."""
    return f"entry-day-{intent.follower_id}-{intent.expiry.isoformat()}"


class ExecutorStore(Protocol):
    """What the executor reads and writes in the system of record."""

    async def enabled_followers(self) -> list[Follower]:
        """Followers that take new entries (enabled and active)."""
        ...

    async def gateways(self) -> dict[str, Gateway]:
        """Every configured gateway by id."""
        ...

    async def want_restart(self, gateway_id: str, wanted: GatewayRestartWanted) -> None:
        """Ask the gateway's supervisor for a restart (``gateways/{id}.restart_wanted``; a removed gateway: nothing)."""
        ...

    async def controls(self, follower_ids: Iterable[str]) -> tuple[Controls, dict[str, Controls]]:
        """The global kill switch and each follower's."""
        ...

    async def get_intents(self, intent_ids: Iterable[str]) -> dict[str, OrderIntent]:
        """The intents that exist among ``intent_ids``."""
        ...

    async def create_intent(self, intent: OrderIntent, epoch: int | None = None) -> bool:
        """Create the intent if absent; False if it existed (another delivery got there first)."""
        ...

    async def save_intent(self, intent: OrderIntent, epoch: int | None = None) -> None:
        """Write the intent's current state under lease ``epoch`` (``LeaseLost`` if 0 or older than the stored)."""
        ...

    async def open_intents(self) -> list[OrderIntent]:
        """Intents not in a final state (to resume after a restart)."""
        ...

    async def claim_entry_day(self, intent: OrderIntent) -> str:
        """Claim the follower's entry for the intent's day; the intent id that holds it (ours, or an earlier one)."""
        ...

    async def put_fill(self, fill: Fill) -> None:
        """Write one execution (an upsert: the latest version of the execution wins)."""
        ...

    def malformed(self) -> list[Malformed]:
        """Documents skipped since the last call because they do not parse."""
        ...

    async def write_heartbeat(self, doc: dict[str, object]) -> None:
        """Replace ``heartbeats/executor``."""
        ...


class FirestoreExecutorStore:
    """``ExecutorStore`` over the shared ``Store``, off the event loop."""

    def __init__(self, store: Store, pool: ThreadPoolExecutor, lane: ThreadPoolExecutor | None = None) -> None:
        self.store = store
        self.pool = pool
        # the writes of orders on their way (an intent's next state, its executions) run on a lane of their own: a
        # fan-out's or a flatten's bulk of first writes never queues ahead of an order that is about to go out
        self.lane = lane or pool
        self._malformed: list[Malformed] = []
        self._malformed_lock = threading.Lock()
        # intent id → the update time of this process's last write of it: the next fenced write is then one RPC
        # (an update under that precondition), and only a write by someone else in between costs a read
        self._versions: dict[str, Any] = {}
        store.on_malformed = self._report

    def _report(self, malformed: Malformed) -> None:  # called on pool threads
        with self._malformed_lock:
            self._malformed.append(malformed)

    def malformed(self) -> list[Malformed]:
        """Documents skipped since the last call."""
        with self._malformed_lock:
            found, self._malformed = self._malformed, []
        return found

    async def _run(self, fn: Callable[[], T], pool: ThreadPoolExecutor | None = None) -> T:
        return await asyncio.get_running_loop().run_in_executor(pool or self.pool, fn)

    async def enabled_followers(self) -> list[Follower]:
        """Followers with ``enabled`` true and state active."""
        followers = await self._run(lambda: self.store.followers.where("enabled", "==", True))
        return sorted((f for f in followers if f.state is FollowerState.ACTIVE), key=lambda f: f.id)

    async def gateways(self) -> dict[str, Gateway]:
        """Every gateway document."""
        return {g.id: g for g in await self._run(self.store.gateways.all)}

    async def want_restart(self, gateway_id: str, wanted: GatewayRestartWanted) -> None:
        """One field of the gateway's document (an admin's concurrent edit of the others is kept)."""
        def write() -> None:
            with contextlib.suppress(NotFound):  # removed meanwhile: its container is stopping anyway
                self.store.gateways.ref(gateway_id).update({"restart_wanted": wanted.to_doc()})

        await self._run(write)

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
        """Existing intents by id (an id that cannot be a document id, e.g. a manual orderRef, exists nowhere)."""
        ids = [i for i in intent_ids if DOC_ID.fullmatch(i)]
        return await self._run(lambda: self.store.orders.get_many(ids)) if ids else {}

    async def create_intent(self, intent: OrderIntent, epoch: int | None = None) -> bool:
        """Create-if-absent ``orders/{intent_id}`` (stamped with ``epoch``: 0 from a process without the lease)."""
        doc = {**intent.to_doc(), **({} if epoch is None else {"lease_epoch": epoch})}

        def create() -> bool:
            try:
                result = self.store.orders.ref(intent.intent_id).create(doc)
            except AlreadyExists:
                return False
            self._versions[intent.intent_id] = result.update_time
            return True

        return await self._run(create)

    async def save_intent(self, intent: OrderIntent, epoch: int | None = None) -> None:
        """Write the intent; with leases, refused (``LeaseLost``) once a newer lease epoch has written it."""
        if epoch is None:
            await self._run(lambda: self.store.orders.put(intent), self.lane)
            return
        if epoch == 0:
            raise LeaseLost(f"gateway {intent.gateway_id} is not held by this process; orders/{intent.intent_id} "
                            f"is not written")
        held = epoch
        await self._run(lambda: self._fenced_put(intent, held), self.lane)

    def _fenced_put(self, intent: OrderIntent, epoch: int) -> None:
        ref = self.store.orders.ref(intent.intent_id)
        doc = {**intent.to_doc(), "lease_epoch": epoch}
        known = self._versions.get(intent.intent_id)
        if known is not None:
            try:  # nobody wrote it since our last write: our epoch still stands on it
                self._versions[intent.intent_id] = ref.update(
                    doc, option=self.store.db.write_option(last_update_time=known)).update_time
                return
            except (FailedPrecondition, NotFound):
                self._versions.pop(intent.intent_id, None)  # written by someone else: look before writing
        for _ in range(5):
            snap = ref.get()
            stored = int((snap.to_dict() or {}).get("lease_epoch") or 0) if snap.exists else 0
            if stored > epoch:
                raise LeaseLost(f"orders/{intent.intent_id} was written under lease epoch {stored} > {epoch}")
            try:
                if snap.exists:  # only if nobody wrote it since we looked (optimistic concurrency)
                    result = ref.update(doc, option=self.store.db.write_option(last_update_time=snap.update_time))
                else:
                    result = ref.create(doc)
                self._versions[intent.intent_id] = result.update_time
                return
            except (FailedPrecondition, AlreadyExists):
                continue
        raise Retryable(f"orders/{intent.intent_id}: contended write")

    async def open_intents(self) -> list[OrderIntent]:
        """Intents whose state is not final."""
        return await self._run(lambda: self.store.orders.where("state", "in", OPEN_STATES))

    async def claim_entry_day(self, intent: OrderIntent) -> str:
        """``claims/entry-day-…`` create-if-absent; the holder's intent id."""
        key = entry_day_key(intent)

        def claim() -> str:
            if self.store.claim(key, intent_id=intent.intent_id, signal_id=intent.signal_id):
                return intent.intent_id
            return str((self.store.claim_data(key) or {}).get("intent_id") or intent.intent_id)

        return await self._run(claim)

    async def put_fill(self, fill: Fill) -> None:
        """Upsert ``fills/{execution key}``; a version without its commission never erases one already stored
        (a late write of a process that died before the commission report arrived must not undo it)."""
        doc = fill.to_doc()
        if not fill.commission:
            doc.pop("commission")
        await self._run(lambda: self.store.fills.ref(execution_key(fill.exec_id)).set(doc, merge=True), self.lane)

    async def write_heartbeat(self, doc: dict[str, object]) -> None:
        """Replace ``heartbeats/executor``."""
        await self._run(lambda: self.store.db.collection(HEARTBEATS).document("executor").set(doc))


class FirestoreLeaseStore:
    """``executor.lease.LeaseStore`` over ``leases/{gateway_id}`` with optimistic concurrency (no transactions)."""

    def __init__(self, db: firestore.Client, pool: ThreadPoolExecutor) -> None:
        self.db = db
        self.pool = pool

    async def take(self, gateway_id: str, holder: str, now: datetime, expires_at: datetime,
                   fresh: bool = False) -> int | None:
        """Take or renew the lease; the epoch held, or None if another process holds it."""
        return await asyncio.get_running_loop().run_in_executor(
            self.pool, lambda: self._take(gateway_id, holder, now, expires_at, fresh))

    def _take(self, gateway_id: str, holder: str, now: datetime, expires_at: datetime, fresh: bool) -> int | None:
        ref = self.db.collection(LEASES).document(gateway_id)
        snap = ref.get()
        current = _lease_of(snap.to_dict()) if snap.exists else None
        wanted = next_record(current, holder, now, expires_at, fresh)
        if wanted is None:
            return None
        doc = {"holder": wanted.holder, "epoch": wanted.epoch, "expires_at": wanted.expires_at.isoformat()}
        try:
            if snap.exists:
                ref.update(doc, option=self.db.write_option(last_update_time=snap.update_time))
            else:
                ref.create(doc)
        except (FailedPrecondition, AlreadyExists):
            return None  # another process moved first; the next renewal looks again
        return wanted.epoch

    async def give_up(self, gateway_id: str, holder: str, epoch: int) -> None:
        """Expire the lease now if it is still ours."""

        def release() -> None:
            ref = self.db.collection(LEASES).document(gateway_id)
            snap = ref.get()
            current = _lease_of(snap.to_dict()) if snap.exists else None
            if current is not None and current.holder == holder and current.epoch == epoch:
                ref.update({"expires_at": RELEASED.isoformat()},
                           option=self.db.write_option(last_update_time=snap.update_time))

        await asyncio.get_running_loop().run_in_executor(self.pool, release)


def _lease_of(doc: dict[str, Any] | None) -> LeaseRecord | None:
    if not doc:
        return None
    return LeaseRecord(str(doc["holder"]), int(doc["epoch"]), datetime.fromisoformat(str(doc["expires_at"])))
