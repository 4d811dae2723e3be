"""``SettlementStore`` over the shared ``spreadpilot.store.Store``, every call off the event loop.

Documents written here:
    settlements/{event_id}                             SettlementEvent (+ confirmed, confirmation_note)
    broker_readings/{follower_id}:{YYYY-MM-DD}:{phase}  BrokerReading
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import TypeVar

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore

from spreadpilot.ledger import BROKER_READINGS, SETTLEMENTS, BrokerReading, SettlementEvent
from spreadpilot.store import Store

T = TypeVar("T")


class FirestoreSettlementStore:
    """The real store."""

    def __init__(self, store: Store, pool: ThreadPoolExecutor) -> None:
        self.db = store.db
        self.pool = pool

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn)

    async def settlements_since(self, start: datetime) -> list[SettlementEvent]:
        """One range query on ``at`` (single field)."""
        def read() -> list[SettlementEvent]:
            query = self.db.collection(SETTLEMENTS).where(filter=firestore.FieldFilter("at", ">=", start.isoformat()))
            fields = SettlementEvent.model_fields
            return [SettlementEvent.model_validate({k: v for k, v in (s.to_dict() or {}).items() if k in fields})
                    for s in query.stream()]

        return await self._run(read)

    async def record_settlement(self, event: SettlementEvent) -> bool:
        """Create-if-absent: the event id is deterministic, so a retry or a second look records nothing new."""
        def create() -> bool:
            try:
                self.db.collection(SETTLEMENTS).document(event.event_id).create(event.to_doc())
            except AlreadyExists:
                return False
            return True

        return await self._run(create)

    async def confirm_settlement(self, event_id: str, confirmed: bool, note: str) -> None:
        """Merge the confirmation into the event."""
        doc = {"confirmed": confirmed, "confirmation_note": note}
        await self._run(lambda: self.db.collection(SETTLEMENTS).document(event_id).set(doc, merge=True))

    async def write_reading(self, reading: BrokerReading) -> None:
        """Write the whole reading."""
        await self._run(lambda: self.db.collection(BROKER_READINGS).document(reading.doc_id).set(reading.to_doc()))
