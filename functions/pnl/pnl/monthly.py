"""The monthly rollup (1st of the month, 00:10 ET): statement figures, HWM commission, invoice, statement request.

Every active follower gets a statement (a month without trading is a statement of zeros), and so does anyone
with daily P&L in the month. A day's P&L is its realized P&L net of commissions. Best and worst day, winning and
losing days (a flat day is neither), win rate = winning / (winning + losing), maximum drawdown = the deepest fall
of the month's cumulative P&L from its running peak (starting at 0). Figures are exact ``Decimal``; only the
commission is rounded (to cents), because it is billed. Re-running a month over the same inputs writes the same
documents.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from pnl.alerts import report_failure
from pnl.commission import HighWaterMark, bill_month
from pnl.invoices import make_invoice
from pnl.records import PnLRecords
from pnl.settings import PnLSettings
from spreadpilot.envelopes import StatementRequest
from spreadpilot.errors import Retryable
from spreadpilot.models import DailyPnL, Follower, MonthlyStatement
from spreadpilot.publisher import Publisher
from spreadpilot.resources import STATEMENT_REQUESTS

log = logging.getLogger(__name__)

ZERO = Decimal(0)
WIN_RATE_PLACES = Decimal("0.0001")


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


@dataclass(frozen=True)
class MonthFigures:
    """The month's performance figures of one follower."""

    net_pnl: Decimal
    best_day: Decimal
    worst_day: Decimal
    winning_days: int
    losing_days: int
    win_rate: Decimal
    max_drawdown: Decimal
    days: int


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
    pnls = [d.realized_pnl for d in sorted(days, key=lambda d: d.date)]
    winning = sum(1 for p in pnls if p > 0)
    losing = sum(1 for p in pnls if p < 0)
    decided = winning + losing
    return MonthFigures(
        net_pnl=sum(pnls, ZERO),
        best_day=max(pnls, default=ZERO),
        worst_day=min(pnls, default=ZERO),
        winning_days=winning,
        losing_days=losing,
        win_rate=(Decimal(winning) / Decimal(decided)).quantize(WIN_RATE_PLACES) if decided else ZERO,
        max_drawdown=max_drawdown(pnls),
        days=len(pnls),
    )


def monthly_statement(
    follower: Follower, month: str, days: Sequence[DailyPnL], before: HighWaterMark, computed_at: datetime
) -> tuple[MonthlyStatement, MonthFigures, Decimal]:
    """The month's statement document, its figures and the equity it ends on."""
    figures = month_figures(days)
    billing = bill_month(before, figures.net_pnl, follower.commission_pct)
    statement = MonthlyStatement(
        follower_id=follower.id,
        month=month,
        net_pnl=figures.net_pnl,
        best_day=figures.best_day,
        worst_day=figures.worst_day,
        winning_days=figures.winning_days,
        losing_days=figures.losing_days,
        win_rate=figures.win_rate,
        max_drawdown=figures.max_drawdown,
        hwm_before=billing.hwm_before,
        hwm_after=billing.hwm_after,
        commission_pct=follower.commission_pct,
        commission=billing.commission,
        computed_at=computed_at,
    )
    return statement, figures, billing.equity_after


@dataclass(frozen=True)
class MonthlyRun:
    """What one monthly rollup did."""

    month: str
    statements: tuple[str, ...]
    invoices: tuple[str, ...]
    requested: tuple[str, ...]
    missing_followers: tuple[str, ...]


def _close_follower(
    records: PnLRecords,
    settings: PnLSettings,
    follower: Follower,
    month: str,
    days: Sequence[DailyPnL],
    before: HighWaterMark,
    stored: MonthlyStatement | None,
    now: datetime,
) -> MonthlyStatement:
    statement, figures, equity_after = monthly_statement(follower, month, days, before, now)
    if stored is not None and stored.model_copy(update={"computed_at": now}) == statement:
        statement = stored  # unchanged figures keep their first computed_at: a re-run writes the same document
    records.put_monthly(statement, equity_before=before.equity, equity_after=equity_after, days=figures.days)
    if statement.commission > 0:
        invoice = make_invoice(follower.id, month, follower.iban, statement.commission, settings.invoice_currency,
                               settings.payment_reference_prefix, now)
        outcome = records.put_invoice(invoice)
        log.info("commission invoice", extra={"follower_id": follower.id, "month": month, "outcome": str(outcome),
                                              "amount": str(invoice.amount)})
    return statement


def run_monthly(
    records: PnLRecords, publisher: Publisher, settings: PnLSettings, month: str, now: datetime
) -> MonthlyRun:
    """Close ``month`` for every active follower and everyone with daily P&L in it; bill; request statements."""
    first, last = month_bounds(month)
    by_follower: dict[str, list[DailyPnL]] = defaultdict(list)
    for doc in records.daily_between(first, last):
        if first <= doc.date <= last:
            by_follower[doc.follower_id].append(doc)
    active = records.active_followers()
    ids = sorted(set(by_follower) | set(active))
    followers = {**active, **records.followers([fid for fid in by_follower if fid not in active])}
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
    log.info("monthly rollup done", extra={"month": month, "statements": len(statements),
                                           "invoices": len(invoices), "requested": len(requested)})
    return MonthlyRun(month, tuple(statements), tuple(invoices), tuple(requested), tuple(missing))
