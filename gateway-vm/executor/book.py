"""The intents this process is responsible for, kept in memory and written through to the store.

Every change of an intent goes through ``IntentBook`` under that intent's lock, so the ladder, broker events and
reconciliation never overwrite each other. Executions are the truth for fills: each one is recorded as a ``Fill``
and the intent's filled quantity and average credit are recomputed from all of them.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from executor.broker import Execution, OrderUpdate
from executor.intents import ExecutorStore, Fence
from executor.pricing import to_cents
from spreadpilot.clock import Clock
from spreadpilot.models import IntentState, OrderIntent, execution_key, execution_revision

log = logging.getLogger(__name__)


@dataclass
class Tracked:
    """One intent and what the broker said about it."""

    intent: OrderIntent
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    last_update: OrderUpdate | None = None
    executions: dict[str, Execution] = field(default_factory=dict)
    runner: asyncio.Task[None] | None = None  # the one task driving this intent (entry.EntryRunner.run)
    sending: bool = False  # a message for this intent is on its way; only its own answer may resolve it
    resends: int = 0  # sends after reconciliation proved the broker never got the order (this process only)
    held: bool = False  # the order cannot be changed from this client: no more ladder steps, its outcome ends it

    def running(self) -> bool:
        """A runner is driving the intent now."""
        return self.runner is not None and not self.runner.done()


def filled_spreads(executions: list[Execution]) -> tuple[int, Decimal | None]:
    """Spreads filled and the average credit per spread, from per-leg executions (BAG-level reports ignored)."""
    legs = [e for e in executions if e.sec_type != "BAG"]
    if not legs:
        return 0, None
    per_leg: dict[int, int] = defaultdict(int)
    cash = Decimal(0)
    for e in legs:
        per_leg[e.con_id] += e.qty
        cash += e.price * e.qty * (1 if e.side == "SLD" else -1)
    filled = min(per_leg.values()) if len(per_leg) >= 2 else 0
    if filled == 0:
        return 0, None
    return filled, to_cents(cash / filled)


class IntentBook:
    """In-memory intents with write-through to the store."""

    def __init__(self, store: ExecutorStore, clock: Clock, fence: Fence | None = None) -> None:
        self.store = store
        self.clock = clock
        self.fence = fence  # the lease epoch every write carries (None: no leases)
        self.tracked: dict[str, Tracked] = {}
        self.observers: list[Callable[[OrderIntent, str], None]] = []  # told of every state change once stored
        # told when an intent ends with more spreads filled than its known executions explain (an execution
        # event was lost): the executions must be fetched from the broker
        self.on_missing_executions: Callable[[OrderIntent], None] = lambda intent: None

    def epoch(self, gateway_id: str) -> int | None:
        """The lease epoch to write ``gateway_id``'s intents with (0: not held; None: no leases)."""
        return self.fence(gateway_id) if self.fence else None

    async def _save(self, intent: OrderIntent) -> None:
        await self.store.save_intent(intent, self.epoch(intent.gateway_id))

    def track(self, intent: OrderIntent) -> Tracked:
        """Start tracking ``intent`` (idempotent: an already tracked intent is kept as it is)."""
        return self.tracked.setdefault(intent.intent_id, Tracked(intent))

    async def stamp(self, intent_id: str) -> None:
        """Write the intent as it is under this process's lease epoch (a takeover fences the previous owner)."""
        if self.fence is None:
            return
        t = self.tracked[intent_id]
        async with t.lock:
            await self._save(t.intent)

    def notify(self, intent: OrderIntent, note: str) -> None:
        """Tell the observers (the event console) of a stored change of ``intent``."""
        for observe in self.observers:
            observe(intent, note)

    def untrack_gateway(self, gateway_id: str) -> list[str]:
        """Stop tracking every intent on ``gateway_id`` (another process drives it now); the ids dropped."""
        dropped = [i for i, t in self.tracked.items() if t.intent.gateway_id == gateway_id]
        for intent_id in dropped:
            t = self.tracked.pop(intent_id)
            # its runner ends now, wherever it waits: if the gateway comes back to this process, the adoption
            # starts a runner for a fresh record, and a runner of the old one must not wake beside it and send
            if t.runner is not None and t.runner is not asyncio.current_task():
                t.runner.cancel()
            t.changed.set()
        return dropped

    def get(self, intent_id: str) -> OrderIntent:
        """The current intent."""
        return self.tracked[intent_id].intent

    def open_on(self, gateway_id: str) -> list[OrderIntent]:
        """Tracked intents on ``gateway_id`` that are not final."""
        return [t.intent for t in self.tracked.values()
                if t.intent.gateway_id == gateway_id and not t.intent.state.final]

    def in_flight(self) -> int:
        """Intents not in a final state."""
        return sum(1 for t in self.tracked.values() if not t.intent.state.final)

    async def move(self, intent_id: str, state: IntentState, note: str = "", **changes: object) -> OrderIntent:
        """Move the intent to ``state`` (timestamped) and write it through."""
        t = self.tracked[intent_id]
        async with t.lock:
            if t.intent.state.final and state is not t.intent.state:
                # a final state is the broker's last word; a late timeout or a stale view must not undo it
                log.warning("final intent not moved", extra={"order_ref": intent_id, "state": str(t.intent.state),
                                                             "refused": str(state), "note": note})
                return t.intent
            # fills a failed write left out of the store travel with the next change
            moved = _with_fills(t.intent.moved_to(state, self.clock.now(), note, **changes), t.executions)
            await self._save(moved)  # memory follows the store, never runs ahead of it
            t.intent = moved
            t.changed.set()
        self.notify(moved, note)
        if moved.state.final and filled_spreads(list(t.executions.values()))[0] < moved.filled_qty:
            self.on_missing_executions(moved)
        log.info("intent moved", extra={"order_ref": intent_id, "state": str(state), "note": note,
                                        "follower_id": t.intent.follower_id})
        return t.intent

    async def update(self, intent_id: str, **changes: object) -> OrderIntent:
        """Change fields other than the state and write it through."""
        t = self.tracked[intent_id]
        async with t.lock:
            updated = t.intent.model_copy(update={"updated_at": self.clock.now(), **changes})
            await self._save(updated)
            t.intent = updated
            return t.intent

    def on_order(self, update: OrderUpdate) -> None:
        """Remember the latest status of one of our orders and wake its ladder."""
        t = self.tracked.get(update.order_ref)
        if t is None:
            return
        t.last_update = update
        t.changed.set()

    async def on_execution(self, execution: Execution) -> bool:
        """Recompute the intent's fills from one more execution; False if it is not ours.

        The execution itself goes to the ledger (``executor.ledger``), which keeps retrying a failed write; here
        only the intent's filled quantity and average credit follow.
        """
        t = self.tracked.get(execution.order_ref)
        if t is None:
            return False
        async with t.lock:
            key = execution_key(execution.exec_id)
            known = t.executions.get(key)
            if known is not None and execution_revision(known.exec_id) > execution_revision(execution.exec_id):
                return True  # an older version of a corrected execution
            t.executions[key] = execution  # a correction replaces what it corrects
            t.changed.set()  # the executions are broker truth whether or not the write below lands
            updated = _with_fills(t.intent, t.executions)
            if updated is not t.intent:
                updated = updated.model_copy(update={"updated_at": self.clock.now(),
                                                     "perm_id": t.intent.perm_id or execution.perm_id or None})
                await self._save(updated)
                t.intent = updated
        return True

    def last_update(self, intent_id: str) -> OrderUpdate | None:
        """The broker's latest status of the intent's order."""
        return self.tracked[intent_id].last_update

    def forget_update(self, intent_id: str) -> None:
        """Drop the remembered status (a reconnect replaces it with broker truth)."""
        self.tracked[intent_id].last_update = None

    async def wait_changed(self, intent_id: str, seconds: float, stop: asyncio.Event) -> None:
        """Wait up to ``seconds`` of business time for news about the intent (or a stop request)."""
        t = self.tracked[intent_id]
        waits = [asyncio.ensure_future(t.changed.wait()), asyncio.ensure_future(stop.wait()),
                 asyncio.ensure_future(self.clock.sleep(seconds))]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        t.changed.clear()


def _with_fills(intent: OrderIntent, executions: dict[str, Execution]) -> OrderIntent:
    """``intent`` with its filled quantity and average credit from ``executions`` (the same object if unchanged)."""
    filled, avg = filled_spreads(list(executions.values()))
    filled = max(filled, intent.filled_qty)
    avg = avg if avg is not None else intent.avg_price
    if filled == intent.filled_qty and avg == intent.avg_price:
        return intent
    return intent.model_copy(update={"filled_qty": filled, "avg_price": avg})
