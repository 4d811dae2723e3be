"""Builders of statement data and in-memory stand-ins for the statement records, storage and mailer."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from reports.data import IBAN_MASK, InvoiceView, StatementData
from reports.records import FAILED, SENDING, StatementInputs
from spreadpilot.clock import NEW_YORK
from spreadpilot.email import EmailMessage
from spreadpilot.errors import Retryable
from spreadpilot.models import DailyPnL, Fill, Follower, MonthlyStatement, Right, mask_iban

IBAN = "DE89370400440532013000"
MONTH = "2026-03"
GENERATED = datetime(2026, 4, 1, 0, 10, tzinfo=NEW_YORK)
DAY_PNLS = ["147.90", "-425.00", "75.50", "210.25", "-12.10", "0", "98.77"]


def follower(fid: str = "f01") -> Follower:
    return Follower(id=fid, name="Ada Lovelace", email=f"{fid}@example.com", iban=IBAN,
                    commission_pct=Decimal("20"), gateway_id="gw1", ibkr_account="DU001")


def days(fid: str = "f01", values: list[str] = DAY_PNLS) -> tuple[DailyPnL, ...]:
    start = date(2026, 3, 2)
    return tuple(
        DailyPnL(follower_id=fid, date=start + timedelta(days=i), realized_pnl=Decimal(v),
                 commissions=Decimal("2.10"), closing_mtm=Decimal(v), best_mtm=Decimal(v) + 50,
                 worst_mtm=Decimal(v) - 80, trades=1, computed_at=GENERATED)
        for i, v in enumerate(values)
    )


def trades(fid: str = "f01", count: int = 6) -> tuple[Fill, ...]:
    out = []
    for i in range(count):
        at = datetime(2026, 3, 2 + i // 2, 9, 31, i, tzinfo=NEW_YORK)
        out.append(Fill(exec_id=f"0001f4e8.{i:04d}", intent_id=f"entry-20260302-QQQ-bull_put-1a2b3c4d-{fid}",
                        follower_id=fid, account="DU001", con_id=100 + i % 2, right=Right.PUT,
                        strike=Decimal("485") - 5 * (i % 2), expiry=at.date(), side="SLD" if i % 2 == 0 else "BOT",
                        qty=2, price=Decimal("1.20") if i % 2 == 0 else Decimal("0.45"),
                        commission=Decimal("1.05"), at=at))
    return tuple(out)


def monthly(fid: str = "f01") -> MonthlyStatement:
    return MonthlyStatement(
        follower_id=fid, month=MONTH, net_pnl=Decimal("95.32"), best_day=Decimal("210.25"),
        worst_day=Decimal("-425.00"), winning_days=4, losing_days=2, win_rate=Decimal("0.6667"),
        max_drawdown=Decimal("425.00"), hwm_before=Decimal("-300"), hwm_after=Decimal("0"),
        commission_pct=Decimal("20"), commission=Decimal("0.00"), computed_at=GENERATED,
    )


def inputs(fid: str = "f01", invoice: bool = True) -> StatementInputs:
    view = InvoiceView(amount=Decimal("19.06"), currency="USD", payment_reference=f"SP-202603-{fid}",
                       status="unpaid") if invoice else None
    return StatementInputs(follower=follower(fid), statement=monthly(fid), days=days(fid), trades=trades(fid),
                           invoice=view)


def statement_data(fid: str = "f01") -> StatementData:
    i = inputs(fid)
    return StatementData(company="SpreadPilot", follower_id=fid, follower_name=i.follower.name,
                         follower_email=i.follower.email, iban_masked=mask_iban(IBAN, IBAN_MASK), month=MONTH,
                         statement=i.statement, days=i.days, trades=i.trades, invoice=i.invoice,
                         generated_at=GENERATED)


class MemoryStatementRecords:
    """``StatementRecords`` in memory."""

    def __init__(self) -> None:
        self.inputs: dict[str, StatementInputs] = {}
        self.statements: dict[str, dict[str, object]] = {}
        self.claims: dict[str, str] = {}

    def load(self, follower_id: str, month: str) -> StatementInputs | None:
        return self.inputs.get(f"{follower_id}:{month}")

    def record_files(self, follower_id: str, month: str, fields: dict[str, object]) -> None:
        self.statements.setdefault(f"{follower_id}:{month}", {}).update(fields)

    def claim_send(self, key: str, at: datetime) -> bool:
        if self.claims.get(key, FAILED) != FAILED:
            return False
        self.claims[key] = SENDING
        return True

    def release_send(self, key: str, reason: str) -> None:
        self.claims[key] = FAILED

    def record_sent(self, follower_id: str, month: str, at: datetime, status: str) -> None:
        doc = self.statements.setdefault(f"{follower_id}:{month}", {})
        doc.update({"emailed_at": at.isoformat(), "email_status": status, "sends": int(doc.get("sends", 0)) + 1})


class MemoryStorage:
    """Keeps stored files by name."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def save(self, name: str, content: bytes, content_type: str) -> str:
        self.files[name] = content
        return f"mem://{name}"


class RecordingMailer:
    """Keeps every sent message; can fail the next sends transiently."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []
        self.failures = 0

    def send(self, message: EmailMessage) -> int:
        if self.failures:
            self.failures -= 1
            raise Retryable("SendGrid answered 503")
        self.sent.append(message)
        return 202
