"""Everything one statement shows, gathered once and rendered twice (PDF and XLSX) from the same rows.

Amounts are stored in cents and shown through ``spreadpilot.money`` (one rounding rule for the PDF, the XLSX,
the email, the web app and the Telegram bot); the summary, the daily table with its total and the trade cash are
computed here once, so the two files cannot disagree.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from spreadpilot.fill_quality import average
from spreadpilot.ledger import SettlementEvent, contract_multiplier, signed_qty
from spreadpilot.models import AwareDatetime, DailyPnL, Fill, Frozen, MonthlyStatement, Reconciliation, Right
from spreadpilot.money import format_money, format_pct, format_percent, rate_fraction, to_cents

ZERO = Decimal(0)
IBAN_MASK = "*"  # drawn by every standard PDF font (a bullet is not in the Helvetica the PDF uses as text)


def cents(amount: Decimal) -> Decimal:
    """Money as shown: rounded half-up to cents (``spreadpilot.money.to_cents``)."""
    return to_cents(amount)


def money(amount: Decimal) -> str:
    """Money as text: ``-1,234.56``."""
    return format_money(amount)


def month_title(month: str) -> str:
    """``2026-03`` → ``March 2026``."""
    return datetime.strptime(month + "-01", "%Y-%m-%d").strftime("%B %Y")  # noqa: DTZ007 - a calendar label


class AdjustmentView(Frozen):
    """A correction of an earlier, paid month carried onto this invoice."""

    month: str
    amount: Decimal
    note: str = ""


class InvoiceView(Frozen):
    """What the statement says about the commission invoice."""

    amount: Decimal
    currency: str
    payment_reference: str
    status: str
    commission: Decimal | None = None  # the month's own commission (the amount without adjustments)
    adjustments: tuple[AdjustmentView, ...] = ()


class LotView(Frozen):
    """An open position at a day's close (a ``daily_pnl`` open lot)."""

    key: str
    symbol: str = "QQQ"
    sec_type: str
    right: Right | None = None
    strike: Decimal | None = None
    expiry: date | None = None
    qty: int
    price: Decimal
    mark: Decimal | None = None
    mult: int = 1

    @property
    def description(self) -> str:
        """``QQQ stock`` or ``QQQ 2026-03-17 485 P``."""
        if self.sec_type == "STK":
            return f"{self.symbol} stock"
        return f"{self.symbol} {self.expiry or ''} {self.strike or ''} {self.right or ''}".strip()


class StatementData(Frozen):
    """One follower's month: who, the figures, every day, trade and settlement, the positions around it."""

    company: str
    follower_id: str
    follower_name: str
    follower_email: str
    ibkr_account: str = ""
    iban_masked: str
    month: str
    currency: str = "USD"
    statement: MonthlyStatement
    days: tuple[DailyPnL, ...]
    trades: tuple[Fill, ...]
    settlements: tuple[SettlementEvent, ...] = ()
    opening: tuple[LotView, ...] = ()
    closing: tuple[LotView, ...] = ()
    invoice: InvoiceView | None = None
    generated_at: AwareDatetime

    @property
    def title(self) -> str:
        """The statement's heading."""
        return f"{self.company} monthly statement — {month_title(self.month)}"

    def cumulative(self) -> list[Decimal]:
        """Running total of the days' P&L, in shown cents."""
        total = ZERO
        running = []
        for day in self.days:
            total += cents(day.realized_pnl)
            running.append(total)
        return running

    def totals(self) -> tuple[Decimal, Decimal, int]:
        """The daily table's total row: realized P&L and commissions (sums of the shown cents) and trades."""
        return (sum((cents(d.realized_pnl) for d in self.days), ZERO),
                sum((cents(d.commissions) for d in self.days), ZERO), sum(d.trades for d in self.days))

    def unreconciled(self) -> list[date]:
        """Days whose P&L did not reconcile with the broker."""
        return [d.date for d in self.days if d.reconciliation is Reconciliation.UNRECONCILED]

    def file_stem(self) -> str:
        """Base name of the statement's files."""
        return f"statement-{self.follower_id}-{self.month}"


def trade_cash(fill: Fill) -> Decimal:
    """The cash a trade moved in the account: what a sale received or a purchase paid, less its commission."""
    return to_cents(-signed_qty(fill) * fill.price * contract_multiplier(fill.sec_type) - fill.commission)


def settlement_cash(event: SettlementEvent) -> Decimal:
    """The cash a settlement moved: the delivered stock at the strike (0 when it expired worthless)."""
    return to_cents(-event.shares * event.strike)


def settlement_label(event: SettlementEvent) -> str:
    """``assignment``, ``exercise``, ``expiry worthless`` or ``expiry in the money``."""
    if event.kind != "expiry":
        return str(event.kind)
    return "expiry in the money" if event.shares else "expiry worthless"


# A summary row: label, value (Decimal money, Decimal fraction for rates, int, or text) and how to show it.
SummaryRow = tuple[str, Decimal | int | str, str]  # kind: money | percent | pct | count | text


def summary_rows(data: StatementData) -> list[SummaryRow]:
    """The month summary both files show, in order."""
    s = data.statement
    realized = s.realized_pnl if s.realized_pnl is not None else s.net_pnl
    rows: list[SummaryRow] = [
        ("IBKR account", data.ibkr_account, "text"),
        ("Realized P&L", realized, "money"),
        ("Change in open positions' value", s.unrealized_change, "money"),
        ("Net P&L", s.net_pnl, "money"),
        ("Best day", s.best_day, "money"),
        ("Worst day", s.worst_day, "money"),
        ("Winning days", s.winning_days, "count"),
        ("Losing days", s.losing_days, "count"),
        ("Win rate", s.win_rate, "percent"),
        ("Max drawdown", s.max_drawdown, "money"),
        ("Cumulative equity before", s.equity_before if s.equity_before is not None else ZERO, "money"),
        ("Cumulative equity after", s.equity_after if s.equity_after is not None else s.net_pnl, "money"),
        ("High-water mark before", s.hwm_before, "money"),
        ("High-water mark after", s.hwm_after, "money"),
        ("Billable gain", s.billable_gain, "money"),
        ("Commission rate", s.commission_pct, "pct"),
        ("Commission", s.commission, "money"),
        ("Commission basis", f"{format_pct(s.commission_pct)} x {money(s.billable_gain)} = {money(s.commission)}",
         "text"),
    ]
    filled = [d for d in data.days if d.fill_vs_best is not None]
    if filled:  # the month's entries against every follower's of the same signals (spreadpilot.fill_quality)
        rows.append(("Fill credit vs the day's best fill (average)", average(d.fill_vs_best for d in filled) or ZERO,
                     "money"))
        seconds = average((d.fill_seconds for d in filled), Decimal("0.1"))
        rows.append(("Time to fill (average)", f"{seconds} s" if seconds is not None else "—", "text"))
    if data.invoice is not None:
        invoice = data.invoice
        for adj in invoice.adjustments:
            rows.append((f"Adjustment for {adj.month}", adj.amount, "money"))
        rows += [
            ("Credit note" if invoice.amount < 0 else "Invoice amount", invoice.amount, "money"),
            ("Invoice currency", invoice.currency, "text"),
            ("Payment reference", invoice.payment_reference, "text"),
            ("Invoice status", invoice.status, "text"),
        ]
    unreconciled = data.unreconciled()
    if unreconciled:
        rows.append(("Unreconciled days", ", ".join(d.isoformat() for d in unreconciled), "text"))
    return rows


def shown(value: Decimal | int | str, kind: str) -> str:
    """A summary value as text."""
    if kind == "money" and isinstance(value, Decimal):
        return money(value)
    if kind == "percent" and isinstance(value, Decimal):
        return format_percent(value)
    if kind == "pct" and isinstance(value, Decimal):
        return format_pct(value)
    return str(value)


def cell_value(value: Decimal | int | str, kind: str) -> Decimal | int | str:
    """A summary value as a spreadsheet cell holds it: money in cents, a rate rounded as it is shown."""
    if kind == "money" and isinstance(value, Decimal):
        return cents(value)
    if kind == "percent" and isinstance(value, Decimal):
        return rate_fraction(value)
    if kind == "pct" and isinstance(value, Decimal):
        return value / 100
    return value
