"""The monthly rollup (1st of the month, 00:10 ET): statement figures, HWM commission, invoice, statement request.

Every active follower gets a statement (a month without trading is a statement of zeros), and so does anyone
with daily P&L in the month. Figures come from the month's daily documents (cents): best and worst day, winning
and losing days (a flat day is neither), win rate = winning trades / decided trades (``spreadpilot.performance``:
a day without a trade is not one), maximum drawdown of the
cumulative realized P&L. The fee basis (``net_pnl``) is the realized P&L plus the change of the open lots'
mark-to-market value between the previous month's last close and this month's (how IBKR's "percentage of P&L"
advisor fee works: stock held over a month end is billed at what the close was worth, not at cost).
The commission is billed at the rate in force during the month (``commission_rates``, fixed by the first rollup
that touches the month; a change applies from the next month), above the high-water mark (``pnl.commission``).
The invoice follows corrections (``pnl.invoices``). Re-running a month re-runs every later month already closed,
so a corrected month flows into the standing, commission and invoice of every month after it. Re-running a month
over the same inputs writes the same documents.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from pnl.alerts import report_failure
from pnl.commission import HighWaterMark, bill_month
from pnl.invoices import InvoiceStatus, adjustments_due, month_invoice
from pnl.records import PnLRecords, rate_for
from pnl.settings import PnLSettings
from spreadpilot.envelopes import StatementRequest
from spreadpilot.errors import Retryable
from spreadpilot.models import DailyPnL, Follower, MonthlyStatement, Reconciliation
from spreadpilot.money import to_cents
from spreadpilot.performance import performance
from spreadpilot.publisher import Publisher
from spreadpilot.resources import STATEMENT_REQUESTS

log = logging.getLogger(__name__)

ZERO = Decimal(0)


def month_bounds(month: str) -> tuple[date, date]:
    """First and last calendar day of ``YYYY-MM``."""
    year, mon = (int(part) for part in month.split("-"))
    first = date(year, mon, 1)
    following = date(year + 1, 1, 1) if mon == 12 else date(year, mon + 1, 1)
    return first, following - timedelta(days=1)


def previous_month(day: date) -> str:
    """The month before the one ``day`` is in (what the rollup on the 1st closes)."""
    last = day.replace(day=1) - timedelta(days=1)
    return f"{last:%Y-%m}"


def next_month(month: str) -> str:
    """``2026-12`` → ``2027-01``."""
    return f"{month_bounds(month)[1] + timedelta(days=1):%Y-%m}"


@dataclass(frozen=True)
class MonthFigures:
    """The month's performance figures of one follower."""

    realized: Decimal
    best_day: Decimal
    worst_day: Decimal
    winning_days: int
    losing_days: int
    win_rate: Decimal
    max_drawdown: Decimal
    days: int
    unrealized_end: Decimal | None  # the open lots' value over cost at the month's last close (None: no days)
    unreconciled: tuple[date, ...]

    @property
    def net_pnl(self) -> Decimal:
        """Realized P&L alone (the fee basis adds the change of the open lots' value: ``monthly_statement``)."""
        return self.realized


def max_drawdown(day_pnls: Sequence[Decimal]) -> Decimal:
    """Deepest fall of the cumulative P&L below its running peak (the month starts at 0)."""
    peak = cumulative = deepest = ZERO
    for pnl in day_pnls:
        cumulative += pnl
        peak = max(peak, cumulative)
        deepest = max(deepest, peak - cumulative)
    return deepest


def month_figures(days: Sequence[DailyPnL]) -> MonthFigures:
    """Figures of one follower's daily documents of a month."""
    ordered = sorted(days, key=lambda d: d.date)
    pnls = [d.realized_pnl for d in ordered]
    winning = sum(1 for p in pnls if p > 0)
    losing = sum(1 for p in pnls if p < 0)
    return MonthFigures(
        realized=sum(pnls, ZERO),
        best_day=max(pnls, default=ZERO),
        worst_day=min(pnls, default=ZERO),
        winning_days=winning,
        losing_days=losing,
        win_rate=performance(ordered).win_rate,  # of trades, as the app shows it: a day without one is not counted
        max_drawdown=max_drawdown(pnls),
        days=len(pnls),
        unrealized_end=ordered[-1].unrealized_pnl if ordered else None,
        unreconciled=tuple(d.date for d in ordered if d.reconciliation is Reconciliation.UNRECONCILED),
    )


def monthly_statement(
    follower: Follower, month: str, days: Sequence[DailyPnL], before: HighWaterMark, computed_at: datetime,
    rate: Decimal | None = None,
) -> MonthlyStatement:
    """The month's statement: figures, the fee basis and the commission at ``rate`` (default: the follower's)."""
    figures = month_figures(days)
    unrealized_end = before.unrealized if figures.unrealized_end is None else figures.unrealized_end
    change = unrealized_end - before.unrealized
    net = to_cents(figures.realized + change)
    pct = follower.commission_pct if rate is None else rate
    billing = bill_month(before, net, pct)
    return MonthlyStatement(
        follower_id=follower.id, month=month, net_pnl=net, realized_pnl=figures.realized,
        unrealized_change=change, unrealized_end=unrealized_end,
        best_day=figures.best_day, worst_day=figures.worst_day, winning_days=figures.winning_days,
        losing_days=figures.losing_days, win_rate=figures.win_rate, max_drawdown=figures.max_drawdown,
        hwm_before=billing.hwm_before, hwm_after=billing.hwm_after, equity_before=billing.equity_before,
        equity_after=billing.equity_after, billable_gain=billing.billable_gain, commission_pct=pct,
        commission=billing.commission, days=figures.days, unreconciled_days=figures.unreconciled,
        computed_at=computed_at,
    )


@dataclass(frozen=True)
class MonthlyRun:
    """What one monthly rollup did."""

    month: str
    statements: tuple[str, ...]
    invoices: tuple[str, ...]
    requested: tuple[str, ...]
    missing_followers: tuple[str, ...]
    cascaded: tuple[str, ...] = ()


def _close_follower(
    records: PnLRecords, settings: PnLSettings, follower: Follower, month: str, days: Sequence[DailyPnL],
    before: HighWaterMark, stored: MonthlyStatement | None, now: datetime,
) -> MonthlyStatement:
    rate = rate_for(records, follower.id, month, follower.commission_pct, now)
    # The next month's rate is fixed now too: a change made during it applies from the month after.
    rate_for(records, follower.id, next_month(month), follower.commission_pct, now)
    statement = monthly_statement(follower, month, days, before, now, rate)
    if stored is not None and stored.model_copy(update={"computed_at": now}) == statement:
        statement = stored  # unchanged figures keep their first computed_at: a re-run writes the same document
    records.put_monthly(statement)
    commissions = {m: s.commission for m, s in records.monthly_of(follower.id).items() if m < month}
    commissions[month] = statement.commission
    invoices = records.invoices_of(follower.id)
    existing = invoices.get(month)
    # Corrections of paid months ride on an invoice this month issues now (its first close) or still has open; a
    # month closed before without one does not get a new document for them: the next invoice carries them.
    carries = stored is None or (existing is not None and existing.status is InvoiceStatus.UNPAID)
    invoice = month_invoice(
        follower_id=follower.id, month=month, iban=follower.iban, account=follower.ibkr_account,
        commission=statement.commission,
        adjustments=adjustments_due(month, commissions, invoices) if carries else [],
        currency=settings.invoice_currency, prefix=settings.payment_reference_prefix,
        existing=existing, at=now,
    )
    if invoice is not None and invoice != invoices.get(month):
        outcome = records.put_invoice(invoice)
        log.info("commission invoice", extra={"follower_id": follower.id, "month": month, "outcome": str(outcome),
                                              "amount": str(invoice.amount), "status": str(invoice.status)})
    return statement


def run_monthly(
    records: PnLRecords, publisher: Publisher, settings: PnLSettings, month: str, now: datetime, *,
    only: set[str] | None = None, correction: bool = False,
) -> MonthlyRun:
    """Close ``month`` for every active follower and everyone with daily P&L in it; bill; request statements.

    ``only`` limits it to some followers; a ``correction`` also re-runs every later month already closed.
    """
    first, last = month_bounds(month)
    by_follower: dict[str, list[DailyPnL]] = defaultdict(list)
    for doc in records.daily_between(first, last):
        if first <= doc.date <= last:
            by_follower[doc.follower_id].append(doc)
    active = records.active_followers() if only is None else {}
    ids = sorted(set(by_follower) | set(active)) if only is None else sorted(only)
    followers = {**active, **records.followers([fid for fid in ids if fid not in active])}
    missing = [fid for fid in ids if fid not in followers]
    for fid in missing:
        log.error("daily P&L of an unknown follower: no statement", extra={"follower_id": fid, "month": month})
    present = [fid for fid in ids if fid in followers]
    standing = records.standing_before(month, present)
    existing = records.monthly(month, present)
    statements: list[str] = []
    invoices: list[str] = []
    requested: list[str] = []
    failed: list[str] = []
    for fid in present:
        try:
            statement = _close_follower(records, settings, followers[fid], month, by_follower[fid],
                                        standing.get(fid, HighWaterMark()), existing.get(fid), now)
        except Retryable:
            raise
        except Exception:  # isolate: one follower's bad data must not stop the others' statements
            log.exception("monthly rollup failed for a follower", extra={"follower_id": fid, "month": month})
            report_failure(publisher, "pnl.monthly_failed", fid, f"monthly rollup of {month} failed", now)
            failed.append(fid)
            continue
        statements.append(fid)
        if statement.commission > 0:
            invoices.append(fid)
        if settings.request_statements:
            publisher.publish(STATEMENT_REQUESTS, StatementRequest(follower_id=fid, month=month,
                                                                   requested_by="pnl-monthly"))
            requested.append(fid)
    if failed:
        raise Retryable(f"monthly rollup of {month} failed for {', '.join(failed)}")
    cascaded: tuple[str, ...] = ()
    if correction and present:
        cascaded = rerun_months(records, publisher, set(present), next_month(month), now, settings)
    log.info("monthly rollup done", extra={"month": month, "statements": len(statements),
                                           "invoices": len(invoices), "requested": len(requested),
                                           "cascaded": list(cascaded)})
    return MonthlyRun(month, tuple(statements), tuple(invoices), tuple(requested), tuple(missing), cascaded)


def rerun_months(records: PnLRecords, publisher: Publisher, follower_ids: Iterable[str], from_month: str,
                 now: datetime, settings: PnLSettings) -> tuple[str, ...]:
    """Re-run, in order, every month from ``from_month`` on that is already closed for these followers."""
    by_month: dict[str, set[str]] = defaultdict(set)
    for fid in follower_ids:
        for month in records.monthly_of(fid):
            if month >= from_month:
                by_month[month].add(fid)
    for month in sorted(by_month):
        run_monthly(records, publisher, settings, month, now, only=by_month[month])
    return tuple(sorted(by_month))
