"""The day's signal claim, the one rule both ways a signal comes in keep: the strategist's sheet (``signal_poller``)
and an admin's entry by hand when the sheet is down (``admin_api``). A day gets ONE signal, whichever comes first.

    signal_days/{YYYY-MM-DD}  {date, signal_id, signal, row, row_number, source, entered_by, claimed_at, message_id,
                              published_at, publish_failed}; created once (create-if-absent), so a day never gets a
                              second signal
    signals/{signal_id}       Signal fields + {timeline: [{event, at, detail}], row, row_number, source, entered_by,
                              message_id, status: claimed|published}

The claim is written before the signal is published and its message id after: a claim without one is published
again by whoever finds it (a duplicate delivery of the same signal is harmless downstream). ``source`` is ``sheet``
or ``manual``; the events stream (``signal.detected``, ``signal.claimed``, ``signal.published``) says which.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from google.api_core.exceptions import AlreadyExists
from google.cloud import firestore
from pydantic import BaseModel, ConfigDict

from spreadpilot.events import FirestoreEvents, make_event
from spreadpilot.models import Signal
from spreadpilot.sheet_header import Cell
from spreadpilot.store import SIGNAL_DAYS, SIGNALS

SHEET = "sheet"
MANUAL = "manual"


class DayClaim(BaseModel):
    """The day's signal, claimed before it is published; ``message_id`` is set once the publish is confirmed."""

    model_config = ConfigDict(frozen=True)

    signal: Signal
    row_number: int  # the sheet row (0 for a signal entered by hand)
    row: dict[str, Cell]  # the row's cells as read, or the values an admin entered
    claimed_at: datetime | None = None
    message_id: str | None = None
    publish_failed: bool = False
    source: str = SHEET  # sheet | manual
    entered_by: str = ""  # the admin who entered a manual signal

    def needs_publish(self, now: datetime, stale_after: timedelta) -> bool:
        """Unconfirmed and either failed or abandoned (an invocation still publishing it is left alone)."""
        if self.message_id:
            return False
        return self.publish_failed or self.claimed_at is None or now - self.claimed_at >= stale_after

    @property
    def origin(self) -> str:
        """Where the signal came from, as the timeline says it."""
        return f"entered by hand by {self.entered_by}" if self.source == MANUAL else f"sheet row {self.row_number}"


class SignalDays:
    """The claim on Firestore for one writer (``source`` of its events: ``signal_poller`` or ``admin_api``)."""

    def __init__(self, db: firestore.Client, writer: str) -> None:
        self.db = db
        self.writer = writer
        self.events = FirestoreEvents(db)

    def _doc(self, collection: str, doc_id: str) -> Any:
        return self.db.collection(collection).document(doc_id)

    def _note(self, kind: str, signal: Signal, at: datetime, message: str, **context: str) -> None:
        self.events.record(make_event(kind, source=self.writer, at=at, message=message, key=signal.signal_id,
                                      signal_id=signal.signal_id, context=context))

    def day_claim(self, day: date) -> DayClaim | None:
        """The day's claim, if a signal was claimed."""
        snap = self._doc(SIGNAL_DAYS, day.isoformat()).get()
        if not snap.exists:
            return None
        doc = snap.to_dict() or {}
        return DayClaim(
            signal=Signal.from_doc(doc["signal"]),
            row_number=int(doc.get("row_number") or 0),
            row=dict(doc.get("row") or {}),
            claimed_at=doc.get("claimed_at") or None,
            message_id=doc.get("message_id") or None,
            publish_failed=bool(doc.get("publish_failed")),
            source=str(doc.get("source") or SHEET),
            entered_by=str(doc.get("entered_by") or ""),
        )

    def claim_day(self, claim: DayClaim, at: datetime) -> bool:
        """Claim the day for ``claim.signal``; False if the day was claimed already (by either source)."""
        signal = claim.signal
        origin = {"source": claim.source, **({"entered_by": claim.entered_by} if claim.entered_by else {})}
        try:
            self._doc(SIGNAL_DAYS, signal.date.isoformat()).create({
                "date": signal.date.isoformat(), "signal_id": signal.signal_id, "signal": signal.to_doc(),
                "row": claim.row, "row_number": claim.row_number, "claimed_at": at.isoformat(), **origin,
            })
        except AlreadyExists:
            return False
        self._doc(SIGNALS, signal.signal_id).set({
            **signal.to_doc(), "row": claim.row, "row_number": claim.row_number, "status": "claimed", **origin,
            "timeline": firestore.ArrayUnion([_event("detected", signal.detected_at, claim.origin),
                                              _event("claimed", at, f"signal_days/{signal.date.isoformat()}")]),
        }, merge=True)
        spread = signal.spread
        shape = (f"{signal.ticker} {spread.strategy} sell {spread.short_strike} / buy {spread.long_strike}"
                 f" ×{signal.qty_per_leg}")
        self._note("signal.detected", signal, signal.detected_at, f"{claim.origin}: {shape}",
                   row_number=str(claim.row_number), source=claim.source)
        self._note("signal.claimed", signal, at, f"the day {signal.date} is claimed for {signal.signal_id}")
        return True

    def record_published(self, claim: DayClaim, message_id: str, at: datetime) -> None:
        """Remember that the claimed signal was published with ``message_id``."""
        signal = claim.signal
        # The signals document is rewritten in full (merge), so a claim whose first write was lost is repaired here.
        self._doc(SIGNALS, signal.signal_id).set({
            **signal.to_doc(), "row": claim.row, "row_number": claim.row_number, "status": "published",
            "source": claim.source, "message_id": message_id,
            "timeline": firestore.ArrayUnion([_event("published", at, f"message_id {message_id}")]),
        }, merge=True)
        self._doc(SIGNAL_DAYS, signal.date.isoformat()).set(
            {"message_id": message_id, "published_at": at.isoformat(), "publish_failed": False}, merge=True
        )
        self._note("signal.published", signal, at, f"published to signals (message {message_id})",
                   message_id=message_id)

    def record_publish_failed(self, claim: DayClaim) -> None:
        """Remember that publishing the claimed signal failed, so the retry publishes it at once."""
        self._doc(SIGNAL_DAYS, claim.signal.date.isoformat()).set({"publish_failed": True}, merge=True)


def _event(event: str, at: datetime, detail: str = "") -> dict[str, str]:
    return {"event": event, "at": at.isoformat(), "detail": detail}
