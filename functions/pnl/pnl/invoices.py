"""Commission invoices: one per follower and billed month, payable to the follower's IBAN on file."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from spreadpilot.models import AwareDatetime, Frozen, Id


class InvoiceStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"


class Invoice(Frozen):
    """``invoices/{follower_id}:{YYYY-MM}``; the only place besides ``followers/`` holding the full IBAN."""

    follower_id: Id
    month: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    iban: str
    amount: Decimal = Field(gt=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    status: InvoiceStatus = InvoiceStatus.UNPAID
    payment_reference: str
    created_at: AwareDatetime


def payment_reference(prefix: str, month: str, follower_id: str) -> str:
    """The deterministic reference a payment quotes, e.g. ``SP-202603-f01``."""
    return f"{prefix}-{month.replace('-', '')}-{follower_id}"


def make_invoice(
    follower_id: str, month: str, iban: str, amount: Decimal, currency: str, prefix: str, at: datetime
) -> Invoice:
    """A new unpaid invoice."""
    return Invoice(
        follower_id=follower_id,
        month=month,
        iban=iban,
        amount=amount,
        currency=currency,
        payment_reference=payment_reference(prefix, month, follower_id),
        created_at=at,
    )
