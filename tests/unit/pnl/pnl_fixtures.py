"""In-memory stand-ins for the rollups' records and publisher, and builders of fills, snapshots and followers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from itertools import count

import pytest

from pnl.commission import HighWaterMark
from pnl.invoices import Invoice, InvoiceStatus
from pnl.lots import OpenLot
from pnl.records import InvoiceOutcome
from pnl.settings import PnLSettings
from spreadpilot.clock import NEW_YORK
from spreadpilot.envelopes import Message
from spreadpilot.models import DailyPnL, Fill, Follower, MonthlyStatement, PnLSnapshot, Right

IBAN = "DE89370400440532013000"


class MemoryRecords:
    """``PnLRecords`` in memory: what the rollups wrote stays inspectable."""

    def __init__(self) -> None:
        self.fills: list[Fill] = []
        self.snapshots: list[PnLSnapshot] = []
        self.daily_docs: dict[str, DailyPnL] = {}
        self.follower_docs: dict[str, Follower] = {}
        self.monthly_docs: dict[str, tuple[MonthlyStatement, Decimal]] = {}
        self.invoices: dict[str, Invoice] = {}
        self.daily_writes = 0
        self.lots: dict[tuple[str, date], tuple[OpenLot, ...]] = {}

    def fills_between(self, start: datetime, end: datetime) -> list[Fill]:
        return [f for f in self.fills if start <= f.at < end]

    def snapshots_between(self, start: datetime, end: datetime) -> list[PnLSnapshot]:
        return [s for s in self.snapshots if start <= s.at < end]

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
        return [d for d in self.daily_docs.values() if first <= d.date <= last]

    def followers(self, follower_ids: Iterable[str]) -> dict[str, Follower]:
        return {fid: self.follower_docs[fid] for fid in follower_ids if fid in self.follower_docs}

    def active_followers(self) -> dict[str, Follower]:
        return {fid: f for fid, f in self.follower_docs.items() if f.enabled and f.state == "active"}

    def standing_before(self, month: str, follower_ids: Iterable[str]) -> dict[str, HighWaterMark]:
        result = {}
        for fid in follower_ids:
            earlier = sorted((m, v) for (key, v) in self.monthly_docs.items()
                             for m in [key.split(":")[1]] if key.startswith(f"{fid}:") and m < month)
            if earlier:
                statement, equity = earlier[-1][1]
                result[fid] = HighWaterMark(equity=equity, hwm=statement.hwm_after)
        return result

    def monthly(self, month: str, follower_ids: Iterable[str]) -> dict[str, MonthlyStatement]:
        return {fid: self.monthly_docs[f"{fid}:{month}"][0] for fid in follower_ids
                if f"{fid}:{month}" in self.monthly_docs}

    def put_monthly(self, doc: MonthlyStatement, *, equity_before: Decimal, equity_after: Decimal, days: int) -> None:
        self.monthly_docs[f"{doc.follower_id}:{doc.month}"] = (doc, equity_after)

    def put_invoice(self, invoice: Invoice) -> InvoiceOutcome:
        key = f"{invoice.follower_id}:{invoice.month}"
        current = self.invoices.get(key)
        if current is None:
            self.invoices[key] = invoice
            return InvoiceOutcome.CREATED
        if current.status == InvoiceStatus.PAID:
            return InvoiceOutcome.KEPT_PAID
        self.invoices[key] = current.model_copy(update={"amount": invoice.amount})
        return InvoiceOutcome.UPDATED


class RecordingPublisher:
    """Keeps every published message by topic."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Message]] = []
        self.ids = count(1)

    def publish(self, topic: str, message: Message, *, ordering_key: str = "") -> str:
        self.sent.append((topic, message))
        return str(next(self.ids))


def et(day: date, hh: int, mm: int = 0, ss: int = 0) -> datetime:
    """A New York time on ``day``."""
    return datetime(day.year, day.month, day.day, hh, mm, ss, tzinfo=NEW_YORK)


_exec_ids = count(1)


def fill(
    at: datetime, side: str, qty: int, price: str, *, con_id: int = 1, follower: str = "f01", sec_type: str = "OPT",
    strike: str | None = "485", expiry: date | None = None, commission: str = "0", intent: str = "entry-x-f01",
) -> Fill:
    """One execution (an option leg by default, expiring the day it trades)."""
    return Fill(
        exec_id=f"e{next(_exec_ids)}", intent_id=intent, follower_id=follower, account="DU001", con_id=con_id,
        sec_type=sec_type, right=Right.PUT if sec_type == "OPT" else None,
        strike=Decimal(strike) if strike and sec_type == "OPT" else None,
        expiry=(expiry or at.astimezone(NEW_YORK).date()) if sec_type == "OPT" else None,
        side=side, qty=qty, price=Decimal(price), commission=Decimal(commission), at=at,
    )


def snapshot(at: datetime, daily: str, follower: str = "f01") -> PnLSnapshot:
    """A broker MTM snapshot."""
    return PnLSnapshot(follower_id=follower, account="DU001", at=at, daily_pnl=Decimal(daily),
                       unrealized_pnl=Decimal(0), realized_pnl=Decimal(0))


def follower(fid: str = "f01", pct: str = "20") -> Follower:
    """A follower paying ``pct`` percent commission."""
    return Follower(id=fid, name=f"Follower {fid}", email=f"{fid}@example.com", iban=IBAN,
                    commission_pct=Decimal(pct), gateway_id="gw1", ibkr_account="DU001")


def daily(fid: str, day: date, realized: str) -> DailyPnL:
    """A stored day's P&L."""
    value = Decimal(realized)
    return DailyPnL(follower_id=fid, date=day, realized_pnl=value, commissions=Decimal(0), closing_mtm=value,
                    best_mtm=value, worst_mtm=value, trades=1, computed_at=et(day, 16, 30))


@pytest.fixture
def records() -> MemoryRecords:
    return MemoryRecords()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> PnLSettings:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "spreadpilot-test")
    return PnLSettings()
