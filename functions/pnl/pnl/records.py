"""Where the rollups read and write: a small Protocol, and its Firestore adapter over ``spreadpilot.store``.

Queries are single-field (no composite index): ranges on the ISO-8601 ``at``/``date`` strings, and equality on
``follower_id``. The ranges are padded by a day and filtered exactly by the caller, so a writer that stored a
non-UTC offset (which sorts differently as text) is still counted. ``pnl.memory`` holds the same records in memory
(the replay command and the tests).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from google.api_core.exceptions import AlreadyExists, FailedPrecondition
from google.cloud import firestore
from pydantic import ValidationError

from pnl.commission import HighWaterMark
from pnl.invoices import Invoice, InvoiceStatus
from pnl.lots import OpenLot
from spreadpilot.errors import Retryable
from spreadpilot.ledger import BROKER_READINGS, COMMISSION_RATES, SETTLEMENTS, BrokerReading, SettlementEvent
from spreadpilot.models import (
    DailyPnL,
    Fill,
    Follower,
    FollowerState,
    IntentKind,
    MonthlyStatement,
    OrderIntent,
    PnLSnapshot,
)
from spreadpilot.store import CONTROLS, INVOICES, ORDERS, Store

PAD = timedelta(days=1)
PHASES = ("close", "open")
log = logging.getLogger(__name__)


class InvoiceOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    KEPT_PAID = "kept_paid"


class PnLRecords(Protocol):
    """The documents the rollups read and write."""

    def fills_between(self, start: datetime, end: datetime) -> list[Fill]:
        """Every follower's executions around ``[start, end)`` (the caller filters exactly)."""
        ...

    def settlements_between(self, start: datetime, end: datetime) -> list[SettlementEvent]:
        """Every follower's settlement events around ``[start, end)`` (the caller filters exactly)."""
        ...

    def snapshots_between(self, start: datetime, end: datetime) -> list[PnLSnapshot]:
        """Every follower's MTM snapshots around ``[start, end)`` (the caller filters exactly)."""
        ...

    def readings(self, day: date, follower_ids: Iterable[str]) -> dict[str, dict[str, BrokerReading]]:
        """The broker readings of ``day`` by follower and phase (``close``, ``open``)."""
        ...

    def entries_of(self, day: date) -> list[OrderIntent]:
        """Every follower's entry intent expiring on ``day`` (the day's signal, for its fill quality)."""
        ...

    def daily(self, day: date, follower_ids: Iterable[str]) -> dict[str, DailyPnL]:
        """The stored daily documents of ``day`` by follower id."""
        ...

    def put_daily(self, doc: DailyPnL, open_lots: tuple[OpenLot, ...]) -> None:
        """Write ``daily_pnl/{follower_id}:{date}`` with the lots it leaves open."""
        ...

    def open_lots_between(self, first: date, last: date) -> dict[str, dict[date, tuple[OpenLot, ...]]]:
        """The open lots stored with each daily document from ``first`` to ``last``, by follower and day."""
        ...

    def daily_between(self, first: date, last: date) -> list[DailyPnL]:
        """Every follower's daily documents from ``first`` to ``last`` inclusive."""
        ...

    def daily_of(self, follower_id: str, first: date, last: date) -> list[DailyPnL]:
        """One follower's daily documents from ``first`` to ``last`` inclusive."""
        ...

    def pause_entries(self, follower_id: str, *, reason: str, by: str, at: datetime) -> None:
        """Pause the follower's new entries (``controls/{follower_id}``, the kill switch the executor reads)."""
        ...

    def followers(self, follower_ids: Iterable[str]) -> dict[str, Follower]:
        """Followers by id (absent ones left out)."""
        ...

    def active_followers(self) -> dict[str, Follower]:
        """Enabled followers whose account is active, by id."""
        ...

    def standing_before(self, month: str, follower_ids: Iterable[str]) -> dict[str, HighWaterMark]:
        """Each follower's standing after the latest stored month before ``month`` (absent: a fresh start)."""
        ...

    def monthly(self, month: str, follower_ids: Iterable[str]) -> dict[str, MonthlyStatement]:
        """The stored monthly statements of ``month`` by follower id."""
        ...

    def monthly_of(self, follower_id: str) -> dict[str, MonthlyStatement]:
        """Every stored monthly statement of one follower, by month."""
        ...

    def put_monthly(self, doc: MonthlyStatement) -> None:
        """Write ``monthly_pnl/{follower_id}:{month}``."""
        ...

    def invoices_of(self, follower_id: str) -> dict[str, Invoice]:
        """Every invoice of one follower, by month."""
        ...

    def put_invoice(self, invoice: Invoice) -> InvoiceOutcome:
        """Create the invoice, or correct an unpaid one; a paid invoice is never changed."""
        ...

    def rates(self, month: str, defaults: Mapping[str, Decimal], at: datetime) -> dict[str, Decimal]:
        """The commission rate of ``month`` per follower: the one recorded first, else ``defaults`` (recorded now)."""
        ...


def _iso(at: datetime) -> str:
    return at.isoformat()


def rate_for(records: PnLRecords, follower_id: str, month: str, current: Decimal, at: datetime) -> Decimal:
    """One follower's rate of ``month`` (fixing it at ``current`` if nobody did before)."""
    return records.rates(month, {follower_id: current}, at)[follower_id]


class FirestoreRecords:
    """``PnLRecords`` on Firestore."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.db = store.db

    def fills_between(self, start: datetime, end: datetime) -> list[Fill]:
        """Fills whose ``at`` is within the padded range."""
        return self._range(self.store.fills.collection, "at", _iso(start - PAD), _iso(end + PAD), Fill)

    def settlements_between(self, start: datetime, end: datetime) -> list[SettlementEvent]:
        """Settlement events whose ``at`` is within the padded range."""
        return self._range(SETTLEMENTS, "at", _iso(start - PAD), _iso(end + PAD), SettlementEvent)

    def snapshots_between(self, start: datetime, end: datetime) -> list[PnLSnapshot]:
        """Snapshots whose ``at`` is within the padded range."""
        repo = self.store.pnl_snapshots
        return self._range(repo.collection, "at", _iso(start - PAD), _iso(end + PAD), PnLSnapshot)

    def readings(self, day: date, follower_ids: Iterable[str]) -> dict[str, dict[str, BrokerReading]]:
        """The readings by id, in one round trip."""
        ids = [f"{fid}:{day.isoformat()}:{phase}" for fid in follower_ids for phase in PHASES]
        found: dict[str, dict[str, BrokerReading]] = {}
        for doc in self._raw(BROKER_READINGS, ids):
            reading = _model(BrokerReading, doc)
            found.setdefault(reading.follower_id, {})[reading.phase] = reading
        return found

    def entries_of(self, day: date) -> list[OrderIntent]:
        """Entry intents of ``day``'s expiry (one equality query); one that does not parse is logged and left out:
        fill quality is shown beside the money, never a reason to stop the rollup."""
        query = self.db.collection(ORDERS).where(filter=firestore.FieldFilter("expiry", "==", day.isoformat()))
        found = []
        for snap in query.stream():
            doc = snap.to_dict() or {}
            if doc.get("kind", IntentKind.ENTRY) != IntentKind.ENTRY:
                continue
            try:
                found.append(_model(OrderIntent, doc))
            except ValidationError as exc:
                log.warning("order left out of the fill quality: it does not parse",
                            extra={"order_ref": snap.id, "error": str(exc)[:300]})
        return found

    def daily(self, day: date, follower_ids: Iterable[str]) -> dict[str, DailyPnL]:
        """Stored daily documents of ``day``."""
        found = self.store.daily_pnl.get_many(f"{fid}:{day.isoformat()}" for fid in follower_ids)
        return {doc.follower_id: doc for doc in found.values()}

    def put_daily(self, doc: DailyPnL, open_lots: tuple[OpenLot, ...]) -> None:
        """Write the whole daily document."""
        lots = [lot.to_doc() for lot in open_lots]
        self.store.daily_pnl.ref(self.store.daily_pnl.key(doc)).set({**doc.to_doc(), "open_lots": lots})

    def open_lots_between(self, first: date, last: date) -> dict[str, dict[date, tuple[OpenLot, ...]]]:
        """One range query over the window's daily documents, projected to what is needed."""
        query = (
            self.db.collection(self.store.daily_pnl.collection)
            .where(filter=firestore.FieldFilter("date", ">=", first.isoformat()))
            .where(filter=firestore.FieldFilter("date", "<=", last.isoformat()))
            .select(["follower_id", "date", "open_lots"])
        )
        found: dict[str, dict[date, tuple[OpenLot, ...]]] = {}
        for snap in query.stream():
            doc = snap.to_dict() or {}
            lots = tuple(OpenLot.from_doc(lot) for lot in doc.get("open_lots") or [])
            found.setdefault(str(doc["follower_id"]), {})[date.fromisoformat(str(doc["date"]))] = lots
        return found

    def daily_between(self, first: date, last: date) -> list[DailyPnL]:
        """Daily documents whose ``date`` is in ``[first, last]``."""
        query = (
            self.db.collection(self.store.daily_pnl.collection)
            .where(filter=firestore.FieldFilter("date", ">=", first.isoformat()))
            .where(filter=firestore.FieldFilter("date", "<=", last.isoformat()))
        )
        return [_model(DailyPnL, snap.to_dict()) for snap in query.stream()]

    def daily_of(self, follower_id: str, first: date, last: date) -> list[DailyPnL]:
        """Equality on ``follower_id`` with a range on ``date`` (composite index follower_id + date)."""
        query = (
            self.db.collection(self.store.daily_pnl.collection)
            .where(filter=firestore.FieldFilter("follower_id", "==", follower_id))
            .where(filter=firestore.FieldFilter("date", ">=", first.isoformat()))
            .where(filter=firestore.FieldFilter("date", "<=", last.isoformat()))
        )
        return [_model(DailyPnL, snap.to_dict()) for snap in query.stream()]

    def pause_entries(self, follower_id: str, *, reason: str, by: str, at: datetime) -> None:
        """The kill switch's fields only (an operator's note on the document is kept)."""
        self.db.collection(CONTROLS).document(follower_id).set(
            {"entries_paused": True, "reason": reason, "updated_by": by, "updated_at": at.isoformat()}, merge=True)

    def followers(self, follower_ids: Iterable[str]) -> dict[str, Follower]:
        """Followers by id."""
        return self.store.followers.get_many(follower_ids)

    def active_followers(self) -> dict[str, Follower]:
        """Every follower document, filtered here (a few hundred: no index needed); a malformed one is skipped."""
        active: dict[str, Follower] = {}
        for snap in self.db.collection(self.store.followers.collection).stream():
            try:
                follower = _model(Follower, snap.to_dict())
            except ValidationError:
                log.error("malformed follower document: no statement", extra={"follower_id": snap.id})
                continue
            if follower.enabled and follower.state is FollowerState.ACTIVE:
                active[follower.id] = follower
        return active

    def standing_before(self, month: str, follower_ids: Iterable[str]) -> dict[str, HighWaterMark]:
        """The latest month before ``month`` of each follower (usually the previous one)."""
        ids = list(follower_ids)
        previous = _previous_month(month)
        docs = self._raw(self.store.monthly_pnl.collection, [f"{fid}:{previous}" for fid in ids])
        standing = {str(doc["follower_id"]): _standing(doc) for doc in docs}
        gaps = set(ids) - set(standing)
        if gaps:
            # One projected query for every follower without last month (new, or paused for a while).
            query = (
                self.db.collection(self.store.monthly_pnl.collection)
                .where(filter=firestore.FieldFilter("month", "<", month))
                .select(["follower_id", "month", "equity_after", "hwm_after", "unrealized_end"])
            )
            latest: dict[str, dict[str, Any]] = {}
            for snap in query.stream():
                doc = snap.to_dict() or {}
                fid = str(doc.get("follower_id"))
                if fid in gaps and str(doc["month"]) > str(latest.get(fid, {}).get("month", "")):
                    latest[fid] = doc
            standing.update({fid: _standing(doc) for fid, doc in latest.items()})
        return {fid: standing.get(fid, HighWaterMark()) for fid in ids}

    def monthly(self, month: str, follower_ids: Iterable[str]) -> dict[str, MonthlyStatement]:
        """Stored monthly statements of ``month``."""
        found = self.store.monthly_pnl.get_many(f"{fid}:{month}" for fid in follower_ids)
        return {doc.follower_id: doc for doc in found.values()}

    def monthly_of(self, follower_id: str) -> dict[str, MonthlyStatement]:
        """One equality query on ``follower_id``."""
        return {doc.month: doc for doc in self.store.monthly_pnl.where("follower_id", "==", follower_id)}

    def put_monthly(self, doc: MonthlyStatement) -> None:
        """Write the whole monthly document."""
        self.store.monthly_pnl.ref(self.store.monthly_pnl.key(doc)).set(doc.to_doc())

    def invoices_of(self, follower_id: str) -> dict[str, Invoice]:
        """One equality query on ``follower_id``."""
        query = self.db.collection(INVOICES).where(filter=firestore.FieldFilter("follower_id", "==", follower_id))
        return {invoice.month: invoice for invoice in (_model(Invoice, s.to_dict()) for s in query.stream())}

    def put_invoice(self, invoice: Invoice) -> InvoiceOutcome:
        """Create-if-absent; an unpaid invoice follows its month, a paid one stays as it was."""
        ref = self.db.collection(INVOICES).document(f"{invoice.follower_id}:{invoice.month}")
        try:
            ref.create(invoice.to_doc())
        except AlreadyExists:
            pass
        else:
            return InvoiceOutcome.CREATED
        snap = ref.get()
        current = snap.to_dict() or {}
        if current.get("status") == InvoiceStatus.PAID:
            return InvoiceOutcome.KEPT_PAID
        if _model(Invoice, current) == invoice:
            return InvoiceOutcome.UNCHANGED
        # Only if nobody touched it since we read it (e.g. marked it paid): otherwise the retry decides again.
        try:
            ref.update(invoice.to_doc(), option=self.db.write_option(last_update_time=snap.update_time))
        except FailedPrecondition as exc:
            raise Retryable(f"invoice {ref.id} changed while it was being corrected") from exc
        return InvoiceOutcome.UPDATED

    def rates(self, month: str, defaults: Mapping[str, Decimal], at: datetime) -> dict[str, Decimal]:
        """Read the month's rates in one round trip; create the missing ones (a racing writer's rate wins)."""
        ids = {fid: f"{fid}:{month}" for fid in defaults}
        found = {str(doc["follower_id"]): Decimal(str(doc["pct"])) for doc in self._raw(COMMISSION_RATES,
                                                                                     list(ids.values()))}
        for fid, pct in defaults.items():
            if fid in found:
                continue
            ref = self.db.collection(COMMISSION_RATES).document(ids[fid])
            try:
                ref.create({"follower_id": fid, "month": month, "pct": str(pct), "recorded_at": at.isoformat()})
                found[fid] = pct
            except AlreadyExists:
                found[fid] = Decimal(str((ref.get().to_dict() or {})["pct"]))
        return found

    def _range(self, collection: str, field: str, low: str, high: str, model: Any) -> list[Any]:
        query = (
            self.db.collection(collection)
            .where(filter=firestore.FieldFilter(field, ">=", low))
            .where(filter=firestore.FieldFilter(field, "<", high))
        )
        return [_model(model, snap.to_dict()) for snap in query.stream()]

    def _raw(self, collection: str, doc_ids: list[str]) -> list[dict[str, Any]]:
        refs = [self.db.collection(collection).document(doc_id) for doc_id in doc_ids]
        return [snap.to_dict() or {} for snap in self.db.get_all(refs) if snap.exists]


def _model(model: Any, doc: dict[str, Any] | None) -> Any:
    """A stored document as ``model``, fields it does not declare left aside (``Frozen.from_stored``)."""
    return model.from_stored(doc or {})


def _standing(doc: Mapping[str, Any]) -> HighWaterMark:
    equity = doc.get("equity_after")
    return HighWaterMark(equity=Decimal(str(equity if equity is not None else doc["hwm_after"])),
                         hwm=Decimal(str(doc["hwm_after"])),
                         unrealized=Decimal(str(doc.get("unrealized_end") or 0)))


def _previous_month(month: str) -> str:
    year, mon = (int(part) for part in month.split("-"))
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"
