"""What the poller remembers between polls and ticks: the day's claim, the signal's timeline, rejected rows, alerts.

Firestore documents (the demo summary and the admin app read them):
    signal_days/{YYYY-MM-DD}     the day's claim: {date, signal_id, signal, row, row_number, claimed_at,
                                 message_id, published_at, publish_failed}; created once, so a day never gets a
                                 second signal
    signals/{signal_id}          Signal fields + {timeline: [{event, at, detail}], row, row_number, message_id,
                                 status: claimed|published}
    rejected_rows/{date}:{key}   {date, row_number, column, value, reason, row, first_seen_at}
    poll_days/{YYYY-MM-DD}       {date, last_poll_at, polls (sheet reads), ticks (invocations that read),
                                 status: waiting|published|no_trade|rejected|sheet_unreadable, alerts_sent}
    claims/alert-{alert_id}      an alert's once-only claim: {alert_id, claimed_at, message_id once published};
                                 deleted again if its publish fails, so the next poll retries it
    events/{id}                  the operators' timeline (``spreadpilot.events``): signal.detected, signal.claimed,
                                 signal.published, signal.row_rejected; each written once
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Protocol

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore
from pydantic import BaseModel, ConfigDict

from signal_poller.headers import Cell
from spreadpilot.events import FirestoreEvents, make_event
from spreadpilot.models import Severity, Signal
from spreadpilot.store import CLAIMS, SIGNAL_DAYS, SIGNALS

REJECTED_ROWS = "rejected_rows"
POLL_DAYS = "poll_days"


class DayClaim(BaseModel):
    """The day's signal, claimed before it is published; ``message_id`` is set once the publish is confirmed."""

    model_config = ConfigDict(frozen=True)

    signal: Signal
    row_number: int
    row: dict[str, Cell]
    claimed_at: datetime | None = None
    message_id: str | None = None
    publish_failed: bool = False

    def needs_publish(self, now: datetime, stale_after: timedelta) -> bool:
        """Unconfirmed and either failed or abandoned (an invocation still publishing it is left alone)."""
        if self.message_id:
            return False
        return self.publish_failed or self.claimed_at is None or now - self.claimed_at >= stale_after


class Rejection(BaseModel):
    """A row that can't trade as written, stored once per distinct row content and reason."""

    model_config = ConfigDict(frozen=True)

    key: str
    date: date
    row_number: int
    column: str
    value: str
    reason: str
    row: dict[str, Cell]

    @property
    def doc_id(self) -> str:
        return f"{self.date.isoformat()}:{self.key}"


class PollLedger(Protocol):
    """The poller's memory (Firestore in production, a dict in unit tests)."""

    def day_claim(self, day: date) -> DayClaim | None:
        """The day's claim, if a signal was claimed."""
        ...

    def claim_day(self, claim: DayClaim, at: datetime) -> bool:
        """Claim the day for ``claim.signal``; False if the day was claimed already."""
        ...

    def record_published(self, claim: DayClaim, message_id: str, at: datetime) -> None:
        """Remember that the claimed signal was published with ``message_id``."""
        ...

    def record_publish_failed(self, claim: DayClaim) -> None:
        """Remember that publishing the claimed signal failed, so the retry publishes it at once."""
        ...

    def record_rejection(self, rejection: Rejection, at: datetime) -> bool:
        """Store a rejected row; False if this row and reason were stored before."""
        ...

    def claim_alert(self, alert_id: str, at: datetime) -> bool:
        """True if the alert must be published now (the first claim of its id)."""
        ...

    def release_alert(self, alert_id: str) -> None:
        """Give up an alert's claim after its publish failed, so a later poll claims and publishes it again."""
        ...

    def record_alert_sent(self, day: date, alert_id: str, message_id: str) -> None:
        """Remember that the alert was published."""
        ...

    def record_poll(self, day: date, at: datetime, polls: int, status: str) -> None:
        """Update the day's poll status at the end of a tick (``polls`` is added to the count of reads)."""
        ...


def _event(event: str, at: datetime, detail: str = "") -> dict[str, str]:
    return {"event": event, "at": at.isoformat(), "detail": detail}


class FirestoreLedger:
    """The ledger on Firestore; ``create()`` is the once-only primitive."""

    def __init__(self, db: firestore.Client) -> None:
        self.db = db
        self.events = FirestoreEvents(db)

    def _note(self, kind: str, signal: Signal, at: datetime, message: str, **context: str) -> None:
        self.events.record(make_event(kind, source="signal_poller", at=at, message=message, key=signal.signal_id,
                                      signal_id=signal.signal_id, context=context))

    def _doc(self, collection: str, doc_id: str) -> Any:
        return self.db.collection(collection).document(doc_id)

    def day_claim(self, day: date) -> DayClaim | None:
        snap = self._doc(SIGNAL_DAYS, day.isoformat()).get()
        if not snap.exists:
            return None
        doc = snap.to_dict() or {}
        return DayClaim(
            signal=Signal.from_doc(doc["signal"]),
            row_number=int(doc.get("row_number") or 1),
            row=dict(doc.get("row") or {}),
            claimed_at=doc.get("claimed_at") or None,
            message_id=doc.get("message_id") or None,
            publish_failed=bool(doc.get("publish_failed")),
        )

    def claim_day(self, claim: DayClaim, at: datetime) -> bool:
        signal = claim.signal
        try:
            self._doc(SIGNAL_DAYS, signal.date.isoformat()).create(
                {
                    "date": signal.date.isoformat(),
                    "signal_id": signal.signal_id,
                    "signal": signal.to_doc(),
                    "row": claim.row,
                    "row_number": claim.row_number,
                    "claimed_at": at.isoformat(),
                }
            )
        except AlreadyExists:
            return False
        self._doc(SIGNALS, signal.signal_id).set(
            {
                **signal.to_doc(),
                "row": claim.row,
                "row_number": claim.row_number,
                "status": "claimed",
                "timeline": firestore.ArrayUnion(
                    [
                        _event("detected", signal.detected_at, f"row {claim.row_number}"),
                        _event("claimed", at, f"signal_days/{signal.date.isoformat()}"),
                    ]
                ),
            },
            merge=True,
        )
        spread = signal.spread
        shape = (f"{signal.ticker} {spread.strategy} sell {spread.short_strike} / buy {spread.long_strike}"
                 f" ×{signal.qty_per_leg}")
        self._note("signal.detected", signal, signal.detected_at, f"sheet row {claim.row_number}: {shape}",
                   row_number=str(claim.row_number))
        self._note("signal.claimed", signal, at, f"the day {signal.date} is claimed for {signal.signal_id}")
        return True

    def record_published(self, claim: DayClaim, message_id: str, at: datetime) -> None:
        signal = claim.signal
        # The signals document is rewritten in full (merge), so a claim whose first write was lost is repaired here.
        self._doc(SIGNALS, signal.signal_id).set(
            {
                **signal.to_doc(),
                "row": claim.row,
                "row_number": claim.row_number,
                "status": "published",
                "message_id": message_id,
                "timeline": firestore.ArrayUnion([_event("published", at, f"message_id {message_id}")]),
            },
            merge=True,
        )
        self._doc(SIGNAL_DAYS, signal.date.isoformat()).set(
            {"message_id": message_id, "published_at": at.isoformat(), "publish_failed": False}, merge=True
        )
        self._note("signal.published", signal, at, f"published to signals (message {message_id})",
                   message_id=message_id)

    def record_publish_failed(self, claim: DayClaim) -> None:
        self._doc(SIGNAL_DAYS, claim.signal.date.isoformat()).set({"publish_failed": True}, merge=True)

    def record_rejection(self, rejection: Rejection, at: datetime) -> bool:
        try:
            self._doc(REJECTED_ROWS, rejection.doc_id).create(
                {**rejection.model_dump(mode="json", exclude={"key"}), "first_seen_at": at.isoformat()}
            )
        except AlreadyExists:
            return False
        self.events.record(make_event("signal.row_rejected", source="signal_poller", at=at, key=rejection.doc_id,
                                      severity=Severity.WARNING, message=rejection.reason,
                                      context={"row_number": str(rejection.row_number), "column": rejection.column}))
        return True

    def claim_alert(self, alert_id: str, at: datetime) -> bool:
        try:
            self._doc(CLAIMS, f"alert-{alert_id}").create({"alert_id": alert_id, "claimed_at": at.isoformat()})
        except AlreadyExists:
            return False
        return True

    def release_alert(self, alert_id: str) -> None:
        self._doc(CLAIMS, f"alert-{alert_id}").delete()

    def record_alert_sent(self, day: date, alert_id: str, message_id: str) -> None:
        self._doc(CLAIMS, f"alert-{alert_id}").set({"message_id": message_id}, merge=True)
        self._doc(POLL_DAYS, day.isoformat()).set(
            {"date": day.isoformat(), "alerts_sent": firestore.ArrayUnion([alert_id])}, merge=True
        )

    def record_poll(self, day: date, at: datetime, polls: int, status: str) -> None:
        self._doc(POLL_DAYS, day.isoformat()).set(
            {
                "date": day.isoformat(),
                "last_poll_at": at.isoformat(),
                "polls": firestore.Increment(polls),
                "ticks": firestore.Increment(1),
                "status": status,
            },
            merge=True,
        )
