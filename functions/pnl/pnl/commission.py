"""Performance commission above a high-water mark.

The follower's *equity* here is the cumulative net trading P&L since they joined (0 at the start); the
high-water mark (HWM) is the highest month-end equity ever billed against (0 at the start). A month is billed
``commission_pct`` percent of the part of its month-end equity that lies above the HWM before it. Losses therefore
carry forward: after a drawdown, gains first refill it and only new highs are billed. A losing month bills
nothing. Our commission is invoiced, not taken from the account, so it does not reduce the equity.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from spreadpilot.money import to_cents

ZERO = Decimal(0)


@dataclass(frozen=True)
class HighWaterMark:
    """Where a follower stands before a month: cumulative equity, the HWM, and the open lots' value over their cost
    at the last month end (the next month's fee basis counts the change from there)."""

    equity: Decimal = ZERO
    hwm: Decimal = ZERO
    unrealized: Decimal = ZERO


@dataclass(frozen=True)
class Billing:
    """One month's outcome of the HWM rule."""

    equity_before: Decimal
    equity_after: Decimal
    hwm_before: Decimal
    hwm_after: Decimal
    billable_gain: Decimal
    commission: Decimal  # rounded to cents: this is the amount invoiced


def bill_month(before: HighWaterMark, net_pnl: Decimal, commission_pct: Decimal) -> Billing:
    """Apply the month's net P&L to the HWM and compute the commission."""
    equity_after = before.equity + net_pnl
    billable = max(ZERO, equity_after - before.hwm) if net_pnl > 0 else ZERO
    return Billing(
        equity_before=before.equity,
        equity_after=equity_after,
        hwm_before=before.hwm,
        hwm_after=max(before.hwm, equity_after),
        billable_gain=billable,
        commission=to_cents(billable * commission_pct / Decimal(100)),
    )


def after(billing: Billing) -> HighWaterMark:
    """The standing the next month starts from."""
    return HighWaterMark(equity=billing.equity_after, hwm=billing.hwm_after)
