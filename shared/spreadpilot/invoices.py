"""Commission invoices as stored: ``invoices/{follower_id}:{YYYY-MM}``, written by the monthly rollup (``pnl``),
read by the statements (``reports``) and the admin API, which may mark one paid (``paid_at``, ``paid_by``).

How an invoice follows its month's corrections is the rollup's (``pnl.invoices``). Amounts are cents, in the
account's currency.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import Field

from spreadpilot.models import AwareDatetime, Frozen, Id

ZERO = Decimal(0)
MONTH = r"^\d{4}-(0[1-9]|1[0-2])$"


class InvoiceStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    VOID = "void"  # its month was corrected down to nothing to bill


class Adjustment(Frozen):
    """A correction of an earlier, already paid month carried onto this invoice."""

    month: str = Field(pattern=MONTH)
    amount: Decimal  # + the follower owes more, − a credit
    note: str = ""


class Invoice(Frozen):
    """``invoices/{follower_id}:{YYYY-MM}``; the only place besides ``followers/`` holding the full IBAN."""

    follower_id: Id
    month: str = Field(pattern=MONTH)
    iban: str
    account: str = ""  # the IBKR account the commission was earned in
    commission: Decimal = ZERO  # this month's own commission
    adjustments: tuple[Adjustment, ...] = ()
    amount: Decimal  # commission + adjustments: what is due (below 0: a credit note)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    status: InvoiceStatus = InvoiceStatus.UNPAID
    payment_reference: str
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    paid_at: AwareDatetime | None = None  # marked paid by an admin (the admin API; audited)
    paid_by: str | None = Field(default=None, max_length=200)

    @property
    def credit_note(self) -> bool:
        """True when the follower is owed money."""
        return self.amount < 0
