"""``LifecycleStore`` over the shared ``spreadpilot.store.Store``, every call off the event loop.

Documents written here:
    positions/{follower_id}:{signal_id}  Position (+ compensation, compensation_at, note)
    controls/{global|follower_id}         {entries_paused, updated_at, updated_by, reason, command_id?}
    commands/{command_id}                 Command (+ status, handled_at, note; action_id, finished_at at the end)
    claims/{key}                          idempotency keys (command-*, flatten-code-*, exercise-*)
    operator_actions/{action_id}          OperatorAction (``spreadpilot.actions``): an operator action or a breaker
                                          trip, created before it acts, its parts' progress, its final state
Read here too: pending_confirmations/{code} (``spreadpilot.confirmations``), written by the admin API and the bot.
    audit/{auto}                          {action, actor, source, at, ...}
    pnl_snapshots/{follower_id}:{epoch}   PnLSnapshot
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from typing import TypeVar

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore
from pydantic import ValidationError

from spreadpilot import confirmations
from spreadpilot.actions import OPERATOR_ACTIONS, ActionState, OperatorAction
from spreadpilot.confirmations import PendingConfirmation
from spreadpilot.models import AssignmentState, Command, Follower, OrderIntent, PnLSnapshot, Position
from spreadpilot.store import COMMANDS, CONTROLS, Store

T = TypeVar("T")
log = logging.getLogger(__name__)
BATCH_LIMIT = 400  # Firestore allows 500 writes per batch


class FirestoreLifecycleStore:
    """The real store."""

    def __init__(self, store: Store, pool: ThreadPoolExecutor) -> None:
        self.store = store
        self.pool = pool

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn)

    async def followers(self) -> list[Follower]:
        """Every follower document."""
        return await self._run(self.store.followers.all)

    async def entries_for(self, day: date) -> list[OrderIntent]:
        """Intents whose expiry is ``day``."""
        return await self._run(lambda: self.store.orders.where("expiry", "==", day.isoformat()))

    async def open_positions(self) -> list[Position]:
        """Positions still ASSIGNED."""
        return await self._run(lambda: self.store.positions.where("assignment", "==", AssignmentState.ASSIGNED.value))

    async def save_position(self, position: Position, **extra: object) -> None:
        """Merge the position document."""
        await self._run(lambda: self.store.positions.put(position, **extra))

    async def set_controls(self, scope: str, *, entries_paused: bool, at: datetime, updated_by: str, reason: str,
                           **extra: object) -> None:
        """Merge the kill switch document."""
        doc = {"entries_paused": entries_paused, "updated_at": at.isoformat(), "updated_by": updated_by,
               "reason": reason, **extra}
        await self._run(lambda: self.store.db.collection(CONTROLS).document(scope).set(doc, merge=True))

    async def claim(self, key: str, **data: object) -> bool:
        """Create-if-absent ``claims/{key}``."""
        return await self._run(lambda: self.store.claim(key, **data))

    async def claim_data(self, key: str) -> dict[str, object] | None:
        """The claim's fields."""
        return await self._run(lambda: self.store.claim_data(key))

    async def update_claim(self, key: str, **data: object) -> None:
        """Merge into ``claims/{key}``."""
        await self._run(lambda: self.store.update_claim(key, **data))

    async def record_command(self, command: Command, **status: object) -> None:
        """Merge into ``commands/{command_id}`` (the admin API or the bot may have created it already)."""
        doc = {**command.to_doc(), **status}
        await self._run(lambda: self.store.db.collection(COMMANDS).document(command.command_id).set(doc, merge=True))

    async def audit(self, action: str, *, actor: str, source: str, at: str, **details: object) -> None:
        """Append to ``audit``."""
        await self._run(lambda: self.store.audit(action, actor=actor, source=source, at=at, **details))

    async def write_snapshots(self, snapshots: Iterable[PnLSnapshot]) -> None:
        """Batched writes of ``pnl_snapshots``."""
        items = list(snapshots)

        def write() -> None:
            repo = self.store.pnl_snapshots
            for start in range(0, len(items), BATCH_LIMIT):
                batch = self.store.db.batch()
                for snap in items[start:start + BATCH_LIMIT]:
                    batch.set(repo.ref(repo.key(snap)), snap.to_doc())
                batch.commit()

        if items:
            await self._run(write)

    async def confirmation(self, code: str) -> PendingConfirmation | None:
        """The shared pending confirmation of ``code``."""
        return await self._run(lambda: confirmations.read(self.store.db, code))

    def _action_ref(self, action_id: str) -> firestore.DocumentReference:
        return self.store.db.collection(OPERATOR_ACTIONS).document(action_id)

    async def create_action(self, action: OperatorAction) -> bool:
        """Create-if-absent ``operator_actions/{action_id}``."""
        def create() -> bool:
            try:
                self._action_ref(action.action_id).create(action.to_doc())
            except AlreadyExists:
                return False
            return True

        return await self._run(create)

    async def get_action(self, action_id: str) -> OperatorAction | None:
        """The stored action."""
        def get() -> OperatorAction | None:
            snap = self._action_ref(action_id).get()
            return OperatorAction.from_doc(snap.to_dict() or {}) if snap.exists else None

        return await self._run(get)

    async def save_action(self, action: OperatorAction) -> None:
        """Overwrite the action with its current state."""
        await self._run(lambda: self._action_ref(action.action_id).set(action.to_doc()))

    async def unfinished_actions(self) -> list[OperatorAction]:
        """Actions in progress (single-field equality: no composite index)."""
        def query() -> list[OperatorAction]:
            stream = self.store.db.collection(OPERATOR_ACTIONS).where(
                filter=firestore.FieldFilter("state", "==", ActionState.IN_PROGRESS.value)).stream()
            found = []
            for snap in stream:
                try:
                    found.append(OperatorAction.from_doc(snap.to_dict() or {}))
                except ValidationError as exc:  # one bad document must not keep the others from resuming
                    log.error("malformed operator action skipped",
                              extra={"document": f"{OPERATOR_ACTIONS}/{snap.id}", "error": str(exc)[:300]})
            return found

        return await self._run(query)

    async def finish_command(self, command_id: str, **status: object) -> None:
        """Merge into ``commands/{command_id}``."""
        await self._run(lambda: self.store.db.collection(COMMANDS).document(command_id).set(status, merge=True))
