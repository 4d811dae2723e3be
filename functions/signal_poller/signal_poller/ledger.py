"""What the poller remembers between polls and ticks: the day's claim, the signal's timeline, rejected rows, alerts.

Firestore documents (the demo summary and the admin app read them):
    signal_days/{YYYY-MM-DD}     the day's claim and signals/{signal_id} its signal with a timeline
                                 (``spreadpilot.signal_days``: the one rule a signal entered by hand keeps too)
    rejected_rows/{date}:{key}   {date, row_number, column, value, reason, row, first_seen_at}
    poll_days/{YYYY-MM-DD}       {date, last_poll_at, polls (sheet reads), ticks (invocations that read),
                                 status: waiting|published|no_trade|rejected|sheet_unreadable, alerts_sent}
    claims/alert-{alert_id}      an alert's once-only claim: {alert_id, claimed_at, message_id once published};
                                 deleted again if its publish fails, so the next poll retries it
    events/{id}                  the operators' timeline (``spreadpilot.events``): signal.detected, signal.claimed,
                                 signal.published, signal.row_rejected; each written once
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Protocol

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore
from pydantic import BaseModel, ConfigDict

from spreadpilot.events import FirestoreEvents, make_event
from spreadpilot.models import Severity
from spreadpilot.sheet_header import Cell
from spreadpilot.signal_days import DayClaim, SignalDays
from spreadpilot.store import CLAIMS

REJECTED_ROWS = "rejected_rows"
POLL_DAYS = "poll_days"


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


class FirestoreLedger:
    """The ledger on Firestore; ``create()`` is the once-only primitive."""

    def __init__(self, db: firestore.Client) -> None:
        self.db = db
        self.events = FirestoreEvents(db)
        self.days = SignalDays(db, "signal_poller")  # the day's claim, shared with a signal entered by hand

    def _doc(self, collection: str, doc_id: str) -> Any:
        return self.db.collection(collection).document(doc_id)

    def day_claim(self, day: date) -> DayClaim | None:
        return self.days.day_claim(day)

    def claim_day(self, claim: DayClaim, at: datetime) -> bool:
        return self.days.claim_day(claim, at)

    def record_published(self, claim: DayClaim, message_id: str, at: datetime) -> None:
        self.days.record_published(claim, message_id, at)

    def record_publish_failed(self, claim: DayClaim) -> None:
        self.days.record_publish_failed(claim)

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
