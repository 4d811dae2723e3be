"""Commission invoices: one per follower and billed month, payable to the follower's IBAN on file.

A month's invoice bills its own commission plus the adjustments corrections left behind:
- an unpaid invoice follows its month: a re-run sets it to the corrected commission, and voids it when that is 0;
- a paid invoice is never changed: when its month is corrected, the difference (``commission now − commission
  billed``) is an adjustment on the next invoice that is not paid yet (a debit when the month earned more, a credit
  when it earned less); the amount due can then be below 0 (a credit note).
Amounts are cents, in the account's currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from spreadpilot.invoices import MONTH, ZERO, Adjustment, Invoice, InvoiceStatus

__all__ = ["MONTH", "ZERO", "Adjustment", "Invoice", "InvoiceStatus", "adjustments_due", "month_invoice",
           "payment_reference"]


def payment_reference(prefix: str, month: str, follower_id: str) -> str:
    """The deterministic reference a payment quotes, e.g. ``SP-202603-f01``."""
    return f"{prefix}-{month.replace('-', '')}-{follower_id}"


def adjustments_due(month: str, commissions: Mapping[str, Decimal],
                    invoices: Mapping[str, Invoice]) -> list[Adjustment]:
    """What earlier paid months still owe (or are owed) after their corrections, not yet on another invoice.

    ``commissions``: every closed month's commission as it stands now; ``invoices``: the follower's invoices by month.
    """
    found: list[Adjustment] = []
    for paid_month, paid in sorted(invoices.items()):
        if paid_month >= month or paid.status is not InvoiceStatus.PAID:
            continue
        owed = commissions.get(paid_month, ZERO) - paid.commission
        carried = sum((adj.amount for later_month, later in invoices.items()
                       if paid_month < later_month < month and later.status is not InvoiceStatus.VOID
                       for adj in later.adjustments if adj.month == paid_month), ZERO)
        outstanding = owed - carried
        if outstanding:
            found.append(Adjustment(month=paid_month, amount=outstanding,
                                    note=f"correction of {paid_month} after its invoice was paid"))
    return found


def month_invoice(
    *, follower_id: str, month: str, iban: str, account: str, commission: Decimal,
    adjustments: list[Adjustment], currency: str, prefix: str, existing: Invoice | None, at: datetime,
) -> Invoice | None:
    """The month's invoice as it should stand now; None when there is nothing to bill and nothing was billed."""
    amount = commission + sum((adj.amount for adj in adjustments), ZERO)
    if existing is not None and existing.status is InvoiceStatus.PAID:
        return existing
    if not amount and not adjustments and not commission:
        if existing is None or existing.status is InvoiceStatus.VOID:
            return existing
        return existing.model_copy(update={"amount": ZERO, "commission": ZERO, "adjustments": (),
                                           "status": InvoiceStatus.VOID, "updated_at": at})
    invoice = Invoice(
        follower_id=follower_id, month=month, iban=iban, account=account, commission=commission,
        adjustments=tuple(adjustments), amount=amount, currency=currency, status=InvoiceStatus.UNPAID,
        payment_reference=payment_reference(prefix, month, follower_id),
        created_at=existing.created_at if existing else at, updated_at=at if existing else None,
    )
    if existing is not None and existing.model_copy(update={"updated_at": None}) == invoice.model_copy(
            update={"updated_at": None}):
        return existing
    return invoice
