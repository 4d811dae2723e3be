"""Everything one statement shows, gathered once and rendered twice (PDF and XLSX)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from spreadpilot.models import AwareDatetime, DailyPnL, Fill, Frozen, MonthlyStatement

CENT = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    """Money as shown: rounded half-up to cents, once, here."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def money(amount: Decimal) -> str:
    """Money as text: ``-1,234.56``."""
    return f"{cents(amount):,.2f}"


def month_title(month: str) -> str:
    """``2026-03`` → ``March 2026``."""
    return datetime.strptime(month + "-01", "%Y-%m-%d").strftime("%B %Y")  # noqa: DTZ007 - a calendar label


class InvoiceView(Frozen):
    """What the statement says about the commission invoice."""

    amount: Decimal
    currency: str
    payment_reference: str
    status: str


class StatementData(Frozen):
    """One follower's month: who, the figures, every day and every trade."""

    company: str
    follower_id: str
    follower_name: str
    follower_email: str
    iban_masked: str
    month: str
    statement: MonthlyStatement
    days: tuple[DailyPnL, ...]
    trades: tuple[Fill, ...]
    invoice: InvoiceView | None = None
    generated_at: AwareDatetime

    @property
    def title(self) -> str:
        """The statement's heading."""
        return f"{self.company} monthly statement — {month_title(self.month)}"

    def cumulative(self) -> list[Decimal]:
        """Running total of the days' P&L."""
        total = Decimal(0)
        running = []
        for day in self.days:
            total += day.realized_pnl
            running.append(total)
        return running

    def file_stem(self) -> str:
        """Base name of the statement's files."""
        return f"statement-{self.follower_id}-{self.month}"
