"""What the statements read and write in Firestore, behind a small Protocol.

Reads: ``followers/``, ``monthly_pnl/{f}:{YYYY-MM}``, ``daily_pnl/{f}:{date}`` for each day of the month and the
week before it, ``fills/`` of the follower in the month (query on ``follower_id`` == and an ``at`` range: composite
index ``fills(follower_id ASC, at ASC)``), ``settlements/`` of the follower (``follower_id`` ==, single field),
``invoices/{f}:{YYYY-MM}``.
Writes: ``statements/{f}:{YYYY-MM}`` and the email's idempotency claim in ``claims/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol, TypeVar

from google.cloud import firestore

from reports.data import AdjustmentView, InvoiceView, LotView
from spreadpilot.clock import NEW_YORK, new_york
from spreadpilot.ledger import SETTLEMENTS, SettlementEvent, current_executions
from spreadpilot.models import DailyPnL, Fill, Follower, Frozen, MonthlyStatement
from spreadpilot.store import INVOICES, STATEMENTS, Store

M = TypeVar("M", bound=Frozen)

OPENING_LOOKBACK_DAYS = 7  # the last stored day before the month is at most a long weekend or holiday away
SENDING = "sending"
FAILED = "failed"


@dataclass(frozen=True)
class StatementInputs:
    """The stored documents one statement is made of."""

    follower: Follower
    statement: MonthlyStatement
    days: tuple[DailyPnL, ...]
    trades: tuple[Fill, ...]
    invoice: InvoiceView | None
    settlements: tuple[SettlementEvent, ...] = ()
    opening: tuple[LotView, ...] = ()  # open lots of the last stored day before the month
    closing: tuple[LotView, ...] = ()  # open lots of the month's last stored day


class StatementRecords(Protocol):
    """Reads a statement's inputs and records what happened to it."""

    def load(self, follower_id: str, month: str) -> StatementInputs | None:
        """The month's inputs; None when the follower or the month's statement does not exist."""
        ...

    def record_files(self, follower_id: str, month: str, fields: dict[str, object]) -> None:
        """Merge ``fields`` into ``statements/{follower_id}:{month}``."""
        ...

    def claim_send(self, key: str, at: datetime) -> bool:
        """Take the right to send under ``key``: True the first time, or when the last attempt failed."""
        ...

    def release_send(self, key: str, reason: str) -> None:
        """Give the key back after a failed send, so a retry may send."""
        ...

    def record_sent(self, follower_id: str, month: str, at: datetime, status: str) -> None:
        """Note a send on the statement document (count, time, status)."""
        ...


def month_days(month: str) -> list[date]:
    """Every calendar day of ``YYYY-MM``."""
    first = date.fromisoformat(month + "-01")
    days = []
    day = first
    while day.month == first.month:
        days.append(day)
        day += timedelta(days=1)
    return days


class FirestoreStatementRecords:
    """``StatementRecords`` on Firestore."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def load(self, follower_id: str, month: str) -> StatementInputs | None:
        """Read the follower, the month, its days (and the week before, for the opening positions), its fills,
        settlement events and invoice."""
        calendar = month_days(month)
        before = [calendar[0] - timedelta(days=n) for n in range(OPENING_LOOKBACK_DAYS, 0, -1)]
        refs = {
            "follower": self.store.followers.ref(follower_id),
            "statement": self.store.monthly_pnl.ref(f"{follower_id}:{month}"),
            "invoice": self.db.collection(INVOICES).document(f"{follower_id}:{month}"),
            **{d.isoformat(): self.store.daily_pnl.ref(f"{follower_id}:{d.isoformat()}") for d in before + calendar},
        }
        paths = {ref.path: key for key, ref in refs.items()}
        found = {paths[snap.reference.path]: snap.to_dict() or {}
                 for snap in self.db.get_all(list(refs.values())) if snap.exists}  # one round trip
        if "follower" not in found or "statement" not in found:
            return None
        follower = _model(Follower, found["follower"])
        statement = _model(MonthlyStatement, found["statement"])
        days = [_model(DailyPnL, found[d.isoformat()]) for d in calendar if d.isoformat() in found]
        start = datetime.combine(calendar[0], time(0), NEW_YORK)
        end = datetime.combine(calendar[-1] + timedelta(days=1), time(0), NEW_YORK)
        query = (
            self.db.collection(self.store.fills.collection)
            .where(filter=firestore.FieldFilter("follower_id", "==", follower_id))
            .where(filter=firestore.FieldFilter("at", ">=", (start - timedelta(days=1)).isoformat()))
            .where(filter=firestore.FieldFilter("at", "<", (end + timedelta(days=1)).isoformat()))
        )
        fills = [_model(Fill, snap.to_dict()) for snap in query.stream()]
        trades = current_executions(f for f in fills if start <= new_york(f.at) < end and f.sec_type != "BAG")
        # A follower's settlements are few (a handful a month): one equality query, filtered here.
        events = self.db.collection(SETTLEMENTS).where(filter=firestore.FieldFilter("follower_id", "==", follower_id))
        settlements = sorted((e for e in (_model(SettlementEvent, s.to_dict()) for s in events.stream())
                              if start <= new_york(e.at) < end), key=lambda e: (e.at, e.event_id))
        earlier = [found[d.isoformat()] for d in before if d.isoformat() in found]
        in_month = [found[d.isoformat()] for d in calendar if d.isoformat() in found]
        return StatementInputs(
            follower=follower,
            statement=statement,
            days=tuple(days),
            trades=tuple(trades),
            invoice=_invoice_view(found["invoice"]) if "invoice" in found else None,
            settlements=tuple(settlements),
            opening=_lots(earlier[-1]) if earlier else (),
            closing=_lots(in_month[-1]) if in_month else (),
        )

    def record_files(self, follower_id: str, month: str, fields: dict[str, object]) -> None:
        """Merge into the statement document."""
        self.db.collection(STATEMENTS).document(f"{follower_id}:{month}").set(
            {"follower_id": follower_id, "month": month, **fields}, merge=True
        )

    def claim_send(self, key: str, at: datetime) -> bool:
        """Create-if-absent on the claim; a claim left ``failed`` may be taken again."""
        if self.store.claim(key, status=SENDING, at=at.isoformat()):
            return True
        previous = self.store.claim_data(key) or {}
        if previous.get("status") != FAILED:
            return False
        self.store.update_claim(key, status=SENDING, at=at.isoformat())
        return True

    def release_send(self, key: str, reason: str) -> None:
        """Mark the claim failed."""
        self.store.update_claim(key, status=FAILED, reason=reason[:500])

    def record_sent(self, follower_id: str, month: str, at: datetime, status: str) -> None:
        """Count the send."""
        self.db.collection(STATEMENTS).document(f"{follower_id}:{month}").set(
            {"emailed_at": at.isoformat(), "email_status": status, "sends": firestore.Increment(1)}, merge=True
        )


def _model(model: type[M], doc: dict[str, Any] | None) -> M:
    """A stored document as ``model``, fields it does not declare (timelines, counters) left aside."""
    return model.model_validate({k: v for k, v in (doc or {}).items() if k in model.model_fields})


def _invoice_view(doc: dict[str, Any] | None) -> InvoiceView:
    doc = doc or {}
    return InvoiceView(amount=doc["amount"], currency=doc.get("currency", "USD"),
                       payment_reference=doc["payment_reference"], status=doc.get("status", "unpaid"),
                       commission=doc.get("commission"),
                       adjustments=tuple(AdjustmentView.model_validate(a) for a in doc.get("adjustments") or ()))


def _lots(doc: dict[str, Any]) -> tuple[LotView, ...]:
    return tuple(_model(LotView, lot) for lot in doc.get("open_lots") or ())
