"""``PnLRecords`` in memory: the offline replay (``pnl.replay``) runs the real rollups over it, and so do tests.

It behaves like the Firestore adapter where the rollups can tell: a paid invoice is never changed, a commission
rate once recorded for a month stays, documents are stored whole.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal

from pnl.commission import HighWaterMark
from pnl.invoices import Invoice, InvoiceStatus
from pnl.lots import OpenLot
from pnl.records import InvoiceOutcome
from spreadpilot.ledger import BrokerReading, SettlementEvent
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


class MemoryRecords:
    """Every document the rollups read and write, in dictionaries."""

    def __init__(self) -> None:
        self.fills: list[Fill] = []
        self.settlements: list[SettlementEvent] = []
        self.snapshots: list[PnLSnapshot] = []
        self.broker_readings: dict[str, BrokerReading] = {}
        self.daily_docs: dict[str, DailyPnL] = {}
        self.controls: dict[str, dict[str, object]] = {}  # controls/{follower_id}: what the breaker paused
        self.lots: dict[tuple[str, date], tuple[OpenLot, ...]] = {}
        self.follower_docs: dict[str, Follower] = {}
        self.monthly_docs: dict[str, MonthlyStatement] = {}
        self.invoices: dict[str, Invoice] = {}
        self.commission_rates: dict[str, Decimal] = {}
        self.daily_writes = 0
        self.orders: list[OrderIntent] = []

    # ── inputs ──
    def fills_between(self, start: datetime, end: datetime) -> list[Fill]:
        return [f for f in self.fills if start <= f.at < end]

    def settlements_between(self, start: datetime, end: datetime) -> list[SettlementEvent]:
        return [e for e in self.settlements if start <= e.at < end]

    def snapshots_between(self, start: datetime, end: datetime) -> list[PnLSnapshot]:
        return [s for s in self.snapshots if start <= s.at < end]

    def readings(self, day: date, follower_ids: Iterable[str]) -> dict[str, dict[str, BrokerReading]]:
        wanted = set(follower_ids)
        found: dict[str, dict[str, BrokerReading]] = {}
        for reading in self.broker_readings.values():
            if reading.date == day and reading.follower_id in wanted:
                found.setdefault(reading.follower_id, {})[reading.phase] = reading
        return found

    def add_reading(self, reading: BrokerReading) -> None:
        """Store a broker reading (what the executor writes)."""
        self.broker_readings[reading.doc_id] = reading

    # ── daily ──
    def entries_of(self, day: date) -> list[OrderIntent]:
        return [i for i in self.orders if i.expiry == day and i.kind is IntentKind.ENTRY]

    def daily(self, day: date, follower_ids: Iterable[str]) -> dict[str, DailyPnL]:
        return {fid: self.daily_docs[f"{fid}:{day}"] for fid in follower_ids if f"{fid}:{day}" in self.daily_docs}

    def put_daily(self, doc: DailyPnL, open_lots: tuple[OpenLot, ...] = ()) -> None:
        self.daily_writes += 1
        self.daily_docs[f"{doc.follower_id}:{doc.date}"] = doc
        self.lots[(doc.follower_id, doc.date)] = open_lots

    def open_lots_between(self, first: date, last: date) -> dict[str, dict[date, tuple[OpenLot, ...]]]:
        found: dict[str, dict[date, tuple[OpenLot, ...]]] = {}
        for (fid, day), lots in self.lots.items():
            if first <= day <= last:
                found.setdefault(fid, {})[day] = lots
        return found

    def daily_between(self, first: date, last: date) -> list[DailyPnL]:
        return sorted((d for d in self.daily_docs.values() if first <= d.date <= last),
                      key=lambda d: (d.date, d.follower_id))

    def daily_of(self, follower_id: str, first: date, last: date) -> list[DailyPnL]:
        return [d for d in self.daily_between(first, last) if d.follower_id == follower_id]

    def pause_entries(self, follower_id: str, *, reason: str, by: str, at: datetime) -> None:
        self.controls[follower_id] = {"entries_paused": True, "reason": reason, "updated_by": by,
                                      "updated_at": at.isoformat()}

    # ── followers ──
    def followers(self, follower_ids: Iterable[str]) -> dict[str, Follower]:
        return {fid: self.follower_docs[fid] for fid in follower_ids if fid in self.follower_docs}

    def active_followers(self) -> dict[str, Follower]:
        return {fid: f for fid, f in self.follower_docs.items() if f.enabled and f.state is FollowerState.ACTIVE}

    # ── monthly ──
    def standing_before(self, month: str, follower_ids: Iterable[str]) -> dict[str, HighWaterMark]:
        result = {}
        for fid in follower_ids:
            earlier = sorted(m for m in self.monthly_of(fid) if m < month)
            if earlier:
                s = self.monthly_docs[f"{fid}:{earlier[-1]}"]
                equity = s.equity_after if s.equity_after is not None else s.hwm_after
                result[fid] = HighWaterMark(equity=equity, hwm=s.hwm_after, unrealized=s.unrealized_end)
        return result

    def monthly(self, month: str, follower_ids: Iterable[str]) -> dict[str, MonthlyStatement]:
        return {fid: self.monthly_docs[f"{fid}:{month}"] for fid in follower_ids
                if f"{fid}:{month}" in self.monthly_docs}

    def monthly_of(self, follower_id: str) -> dict[str, MonthlyStatement]:
        return {doc.month: doc for doc in self.monthly_docs.values() if doc.follower_id == follower_id}

    def put_monthly(self, doc: MonthlyStatement) -> None:
        self.monthly_docs[f"{doc.follower_id}:{doc.month}"] = doc

    # ── invoices and rates ──
    def invoices_of(self, follower_id: str) -> dict[str, Invoice]:
        return {i.month: i for i in self.invoices.values() if i.follower_id == follower_id}

    def put_invoice(self, invoice: Invoice) -> InvoiceOutcome:
        key = f"{invoice.follower_id}:{invoice.month}"
        current = self.invoices.get(key)
        if current is None:
            self.invoices[key] = invoice
            return InvoiceOutcome.CREATED
        if current.status is InvoiceStatus.PAID:
            return InvoiceOutcome.KEPT_PAID
        if current == invoice:
            return InvoiceOutcome.UNCHANGED
        self.invoices[key] = invoice
        return InvoiceOutcome.UPDATED

    def mark_paid(self, follower_id: str, month: str) -> Invoice:
        """An operator records the payment of an invoice."""
        key = f"{follower_id}:{month}"
        self.invoices[key] = self.invoices[key].model_copy(update={"status": InvoiceStatus.PAID})
        return self.invoices[key]

    def rates(self, month: str, defaults: Mapping[str, Decimal], at: datetime) -> dict[str, Decimal]:
        found = {}
        for fid, pct in defaults.items():
            found[fid] = self.commission_rates.setdefault(f"{fid}:{month}", pct)
        return found
