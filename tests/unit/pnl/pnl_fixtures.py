"""In-memory stand-ins for the rollups' records and publisher, and builders of fills, snapshots and followers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from itertools import count

import pytest

from pnl.memory import MemoryRecords
from pnl.settings import PnLSettings
from spreadpilot.clock import NEW_YORK
from spreadpilot.envelopes import Message
from spreadpilot.ledger import (
    BrokerReading,
    HeldLine,
    SettlementEvent,
    SettlementKind,
    delivered_shares,
    in_the_money,
)
from spreadpilot.models import DailyPnL, Fill, Follower, PnLSnapshot, Right

IBAN = "DE89370400440532013000"


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
    exec_id: str | None = None,
) -> Fill:
    """One execution (an option leg by default, expiring the day it trades)."""
    return Fill(
        exec_id=exec_id or f"e{next(_exec_ids)}", intent_id=intent, order_ref=intent, follower_id=follower,
        account="DU001", con_id=con_id,
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


_event_ids = count(1)


def settle(
    at: datetime, kind: str, side: str, qty: int, *, con_id: int = 1, strike: str = "485", right: str = "P",
    follower: str = "f01", closing: str | None = None, expiry: date | None = None,
) -> SettlementEvent:
    """A settlement event as the executor records it; the stock follows from the kind, side and moneyness."""
    option_right = Right(right)
    strike_value = Decimal(strike)
    settled = kind != "expiry" or in_the_money(option_right, strike_value, Decimal(closing or "0"))
    return SettlementEvent(
        event_id=f"{kind}-{next(_event_ids)}", kind=SettlementKind(kind), follower_id=follower, account="DU001",
        con_id=con_id, right=option_right, strike=strike_value,
        expiry=expiry or at.astimezone(NEW_YORK).date(), side=side,  # type: ignore[arg-type]
        qty=qty, shares=delivered_shares(option_right, side, qty) if settled else 0,  # type: ignore[arg-type]
        closing_price=Decimal(closing) if closing else None, at=at, recorded_at=at,
    )


def expiry_at_close(day: date, closing: str, legs: list[tuple[int, str, str, int]]) -> list[SettlementEvent]:
    """Expiry events at 16:00 for ``(con_id, strike, side, qty)`` legs of puts, settled from ``closing``."""
    return [settle(et(day, 16), "expiry", side, qty, con_id=con_id, strike=strike, closing=closing)
            for con_id, strike, side, qty in legs]


def reading(day: date, phase: str, realized: str | None = None, positions: tuple[HeldLine, ...] = (),
            follower: str = "f01", underlying: str | None = None) -> BrokerReading:
    """A broker reading of the executor."""
    return BrokerReading(follower_id=follower, account="DU001", date=day, phase=phase,  # type: ignore[arg-type]
                         at=et(day, 16, 20) if phase == "close" else et(day, 9, 20),
                         realized_pnl=Decimal(realized) if realized is not None else None, positions=positions,
                         underlying=Decimal(underlying) if underlying else None)


def stock_line(qty: int, mark: str | None = None) -> HeldLine:
    """QQQ stock as the broker reports it."""
    return HeldLine(con_id=320227571, sec_type="STK", qty=qty, mark=Decimal(mark) if mark else None)
