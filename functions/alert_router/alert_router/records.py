"""``alerts/{alert_id}`` in Firestore: the record, the cooldown index and per-channel delivery state.

Document ``alerts/{alert_id}``: the Alert fields, ``count`` (occurrences collapsed into it, itself included),
``collapsed_into`` (the alert it was counted into, or None), ``collapsed_ids``, ``suppressed_before``,
``delivery.{telegram|email}`` = {status, attempts, last_error, message_id, sent_to, lease_until, retry_not_before},
``acknowledged_by``/``acknowledged_at`` (set by the operator bot), ``stored_at``.
Document ``alert_cooldowns/{sha256(dedup_key)[:32]}``: {alert_id, first_at, dedup_key} of the alert last sent.
"""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime, timedelta
from typing import Any

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore

from alert_router.ports import Admission, Busy, ChannelState, Claimed, Deferred, DeliveryStatus, Done
from spreadpilot.models import Alert, Severity
from spreadpilot.store import ALERTS

ALERT_COOLDOWNS = "alert_cooldowns"
_FINAL = (DeliveryStatus.SENT, DeliveryStatus.DEAD_LETTER)


def cooldown_key(dedup_key: str) -> str:
    """The cooldown document id of a dedup key (hashed: keys hold free text)."""
    return hashlib.sha256(dedup_key.encode()).hexdigest()[:32]


def within_cooldown(at: datetime, first_at: datetime, cooldown: timedelta) -> bool:
    """Whether ``at`` falls inside the cooldown window that started at ``first_at``."""
    return abs(at - first_at) < cooldown


def new_record(alert: Alert, channels: tuple[str, ...], **fields: object) -> dict[str, object]:
    """The document of a freshly stored alert."""
    return {
        **alert.to_doc(),
        "count": 1,
        "collapsed_into": None,
        "collapsed_ids": [],
        "suppressed_before": 0,
        "delivery": {channel: ChannelState().to_doc() for channel in channels},
        "acknowledged_by": None,
        "acknowledged_at": None,
        "stored_at": firestore.SERVER_TIMESTAMP,
        **fields,
    }


@firestore.transactional
def _admit(tx: Any, db: firestore.Client, alert: Alert, channels: tuple[str, ...], cooldown: timedelta) -> Admission:
    alert_ref = db.collection(ALERTS).document(alert.alert_id)
    cool_ref = db.collection(ALERT_COOLDOWNS).document(cooldown_key(alert.dedup_key))
    mine = alert_ref.get(transaction=tx)
    if mine.exists:  # a redelivery: the verdict was taken the first time
        doc = mine.to_dict() or {}
        return Admission(doc.get("collapsed_into"), int(doc.get("suppressed_before") or 0))
    cool = cool_ref.get(transaction=tx)
    window = cool.to_dict() if cool.exists else None
    previous = None
    if window:
        previous = db.collection(ALERTS).document(window["alert_id"]).get(transaction=tx)
    if window and previous is not None and previous.exists and within_cooldown(
        alert.at, datetime.fromisoformat(window["first_at"]), cooldown
    ):
        tx.update(previous.reference, {"count": firestore.Increment(1),
                                       "collapsed_ids": firestore.ArrayUnion([alert.alert_id])})
        tx.create(alert_ref, new_record(alert, (), collapsed_into=window["alert_id"]))
        return Admission(window["alert_id"])
    suppressed = max(0, int((previous.to_dict() or {}).get("count") or 1) - 1) if previous and previous.exists else 0
    tx.set(cool_ref, {"alert_id": alert.alert_id, "first_at": alert.at.isoformat(), "dedup_key": alert.dedup_key})
    tx.create(alert_ref, new_record(alert, channels, suppressed_before=suppressed))
    return Admission(None, suppressed)


@firestore.transactional
def _begin(
    tx: Any, ref: Any, channel: str, now: datetime, lease: timedelta, wall_now: float
) -> Claimed | Busy | Done | Deferred:
    snap = ref.get(transaction=tx)
    state = ChannelState.from_doc(((snap.to_dict() or {}).get("delivery") or {}).get(channel))
    if state.status in _FINAL:
        return Done(state)
    if state.status is DeliveryStatus.SENDING and state.lease_until is not None and state.lease_until > now:
        return Busy(state.lease_until)
    if state.retry_not_before is not None and state.retry_not_before > wall_now:
        return Deferred(state.retry_not_before)
    taken = ChannelState(DeliveryStatus.SENDING, state.attempts + 1, state.last_error, state.message_id,
                         state.sent_to, now + lease, state.retry_not_before)
    tx.update(ref, {f"delivery.{channel}": taken.to_doc()})
    return Claimed(taken)


class FirestoreAlertRecords:
    """``AlertRecords`` on Firestore (transactions keep the cooldown count and channel claims exact)."""

    def __init__(self, db: firestore.Client) -> None:
        self.db = db

    def admit(self, alert: Alert, channels: tuple[str, ...], cooldown: timedelta) -> Admission:
        """Store the alert once and decide whether it collapses into a recent identical one."""
        return _admit(self.db.transaction(), self.db, alert, channels, cooldown)

    def begin(
        self, alert_id: str, channel: str, now: datetime, lease: timedelta, wall_now: float
    ) -> Claimed | Busy | Done | Deferred:
        """Take the channel for one attempt unless it is done, leased by a concurrent delivery, or told to wait."""
        ref = self.db.collection(ALERTS).document(alert_id)
        return _begin(self.db.transaction(), ref, channel, now, lease, wall_now)

    def finish(self, alert_id: str, channel: str, state: ChannelState) -> None:
        """Record an attempt's outcome."""
        self.db.collection(ALERTS).document(alert_id).update({f"delivery.{channel}": state.to_doc()})

    def store_undeliverable(self, alert: Alert) -> None:
        """Keep a CRITICAL record of an alert no channel could deliver (stored only, never routed)."""
        record = Alert(
            alert_id=f"{alert.alert_id}.undelivered"[:128],
            type="alert.undeliverable",
            severity=Severity.CRITICAL,
            message=f"Alert {alert.alert_id} ({alert.severity} {alert.type}) could not be delivered: {alert.message}"[
                :4000
            ],
            at=alert.at,
            source="alert_router",
            follower_id=alert.follower_id,
            signal_id=alert.signal_id,
            order_ref=alert.order_ref,
            context={"undelivered_alert_id": alert.alert_id},
        )
        ref = self.db.collection(ALERTS).document(record.alert_id)
        with contextlib.suppress(AlreadyExists):  # recorded by an earlier delivery of the same alert
            ref.create(new_record(record, ()))
