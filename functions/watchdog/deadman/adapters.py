"""The watchdog's Firestore reads and its once-only alert outbox.

Reads ``heartbeats/executor``, ``signals`` (by ``date``) and ``orders`` (by ``signal_id``); writes
``heartbeats/watchdog`` {at, raised} on every tick and ``claims/watchdog-alert:{alert_id}``
{claimed_at, alert_id, message_id} so that each alert is published once.
"""

from __future__ import annotations

from datetime import date, datetime

from deadman.ports import Heartbeat
from spreadpilot.envelopes import AlertMessage
from spreadpilot.models import Alert, OrderIntent, Signal
from spreadpilot.publisher import Publisher
from spreadpilot.resources import ALERTS
from spreadpilot.store import HEARTBEATS, Store

EXECUTOR_HEARTBEAT = "executor"
WATCHDOG_HEARTBEAT = "watchdog"


class FirestoreWatchdogReader:
    """``WatchdogReader`` over the shared ``Store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def heartbeat(self) -> Heartbeat | None:
        """The executor's last heartbeat."""
        snap = self.store.db.collection(HEARTBEATS).document(EXECUTOR_HEARTBEAT).get()
        return Heartbeat.model_validate(snap.to_dict()) if snap.exists else None

    def signals_on(self, day: date) -> list[Signal]:
        """Signals of ``day``."""
        return self.store.signals.where("date", "==", day.isoformat())

    def orders_for(self, signal_id: str) -> list[OrderIntent]:
        """Intents of one signal."""
        return self.store.orders.where("signal_id", "==", signal_id)

    def record_tick(self, at: datetime, raised: list[str]) -> None:
        """``heartbeats/watchdog`` = {at, raised}."""
        self.store.db.collection(HEARTBEATS).document(WATCHDOG_HEARTBEAT).set({"at": at.isoformat(), "raised": raised})


class PubSubAlertOutbox:
    """``AlertOutbox``: claim the alert id, publish, remember the message id (a failed publish is retried)."""

    def __init__(self, store: Store, publisher: Publisher) -> None:
        self.store = store
        self.publisher = publisher

    def raise_once(self, alert: Alert) -> bool:
        """Publish unless an earlier tick already did."""
        key = f"watchdog-alert:{alert.alert_id}"
        first = self.store.claim(key, alert_id=alert.alert_id)
        if not first and (self.store.claim_data(key) or {}).get("message_id"):
            return False
        message_id = self.publisher.publish(ALERTS, AlertMessage(alert=alert))
        self.store.update_claim(key, message_id=message_id)
        return True
