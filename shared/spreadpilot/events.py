"""The ``events`` stream: one timeline of what every part of the system did, for the operators' event console.

Each part writes ``events/{event_id}`` (an ``Event``) beside its real work: the signal poller (signal read, claimed,
published, rows rejected), the executor (intents planned, orders sent, acknowledged, filled, exits), the alert
router (alerts raised and delivered), the admin API and the Telegram bot (commands and their outcome, money
actions), the watchdog (what it found). Every event carries the signal, follower and order ids it concerns, so the
console can filter by them and link to Cloud Logging for the same ids.

Kinds are ``<area>.<what>`` in lower case, e.g. ``signal.published``, ``order.filled``, ``command.pause``,
``alert.raised``, ``function.error``. An event is a record of something that happened, never a way to make it
happen: writing one may fail (it is logged) without failing the work it describes. An event with a ``key`` is
written once however often its writer runs (a redelivered message records nothing twice).

Documents expire ``RETENTION_DAYS`` after they were written (a Firestore TTL policy on ``expire_at``).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol

from google.api_core.exceptions import AlreadyExists, GoogleAPICallError
from google.cloud import firestore
from pydantic import Field

from spreadpilot.models import AwareDatetime, Frozen, Severity

EVENTS = "events"
RETENTION_DAYS = 30
KIND_PATTERN = r"^[a-z][a-z0-9_]{1,31}\.[a-z][a-z0-9_.]{1,47}$"
_OPTIONAL_ID = Field(default=None, max_length=200)
log = logging.getLogger(__name__)


class Event(Frozen):
    """One thing that happened, with the ids it concerns; ``at`` is business time."""

    event_id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,149}$")
    kind: str = Field(pattern=KIND_PATTERN)
    severity: Severity = Severity.INFO
    at: AwareDatetime
    source: str = Field(pattern=r"^[a-z][a-z0-9_]{1,31}$")
    message: str = Field(min_length=1, max_length=500)
    signal_id: str | None = _OPTIONAL_ID
    follower_id: str | None = _OPTIONAL_ID
    order_ref: str | None = _OPTIONAL_ID
    command_id: str | None = _OPTIONAL_ID
    alert_id: str | None = _OPTIONAL_ID
    actor: str | None = _OPTIONAL_ID
    context: dict[str, str] = Field(default_factory=dict, max_length=20)


def event_id(kind: str, at: datetime, key: str | None = None) -> str:
    """A time-ordered random id; with a ``key``, the same id on every retry (so the event is written once)."""
    if key:
        return "k-" + hashlib.sha256(f"{kind}|{key}".encode()).hexdigest()[:32]
    return f"{at.astimezone(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}"


def make_event(
    kind: str,
    *,
    source: str,
    at: datetime,
    message: str,
    key: str | None = None,
    severity: Severity = Severity.INFO,
    signal_id: str | None = None,
    follower_id: str | None = None,
    order_ref: str | None = None,
    command_id: str | None = None,
    alert_id: str | None = None,
    actor: str | None = None,
    context: dict[str, str] | None = None,
) -> Event:
    """An event (a too-long message is cut, not refused: an event never stops the work it records)."""
    return Event(event_id=event_id(kind, at, key), kind=kind, severity=severity, at=at, source=source,
                 message=message[:500] or kind, signal_id=signal_id, follower_id=follower_id, order_ref=order_ref,
                 command_id=command_id, alert_id=alert_id, actor=actor,
                 context={k: str(v)[:300] for k, v in list((context or {}).items())[:20]})


class EventSink(Protocol):
    """Where a part records its events (Firestore in production, a list in unit tests)."""

    def record(self, event: Event) -> None:
        """Record ``event``; never raises for a storage failure (the work it describes has happened)."""
        ...


class FirestoreEvents:
    """``EventSink`` on ``events/{event_id}``."""

    def __init__(self, db: firestore.Client) -> None:
        self.db = db

    def record(self, event: Event) -> None:
        doc = {**event.to_doc(), "expire_at": event.at + timedelta(days=RETENTION_DAYS)}
        try:
            self.db.collection(EVENTS).document(event.event_id).create(doc)
        except AlreadyExists:
            return  # a retry of the same keyed event
        except GoogleAPICallError:
            # Isolation: the event console misses one line, the work it describes stands.
            log.exception("event not recorded", extra={"event_id": event.event_id, "kind": event.kind})


    def record_many(self, events: list[Event]) -> None:
        """Record several events in batched writes (keyed ids make a rewrite of the same event harmless)."""
        for start in range(0, len(events), 400):
            batch = self.db.batch()
            for event in events[start:start + 400]:
                doc = {**event.to_doc(), "expire_at": event.at + timedelta(days=RETENTION_DAYS)}
                batch.set(self.db.collection(EVENTS).document(event.event_id), doc)
            try:
                batch.commit()
            except GoogleAPICallError:
                log.exception("events not recorded", extra={"events": len(events[start:start + 400])})


class MemoryEvents:
    """``EventSink`` in a list, keyed events once (unit tests and in-process simulations)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(self, event: Event) -> None:
        if all(e.event_id != event.event_id for e in self.events):
            self.events.append(event)

    def kinds(self) -> list[str]:
        """The kinds recorded, in order."""
        return [e.kind for e in self.events]
