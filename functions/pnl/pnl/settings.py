"""Settings of the P&L function (environment variables, prefix ``SPREADPILOT_``)."""

from __future__ import annotations

from pydantic import Field, field_validator

from spreadpilot.settings import CommonSettings

# The followers' IBKR accounts trade and settle in USD; an invoice in another currency would need a recorded FX rate.
ACCOUNT_CURRENCY = "USD"


class PnLSettings(CommonSettings):
    """What the daily and monthly rollups need besides the common settings."""

    invoice_currency: str = Field(
        default="USD",
        pattern=r"^[A-Z]{3}$",
        description="SPREADPILOT_INVOICE_CURRENCY: ISO currency of commission invoices: the accounts' currency, "
        "USD (any other is refused: no FX rate is recorded).",
    )
    payment_reference_prefix: str = Field(
        default="SP",
        pattern=r"^[A-Z0-9]{1,8}$",
        description="SPREADPILOT_PAYMENT_REFERENCE_PREFIX: invoices are referenced <prefix>-<YYYYMM>-<follower>.",
    )
    consecutive_loss_limit: int = Field(
        default=0, ge=0, le=100,
        description="SPREADPILOT_CONSECUTIVE_LOSS_LIMIT: after the daily rollup, pause the entries of a follower "
        "whose trades lost this many times in a row (one CRITICAL alert; an operator resumes); 0 = off.",
    )
    request_statements: bool = Field(
        default=True,
        description="SPREADPILOT_REQUEST_STATEMENTS: the monthly rollup publishes one statement request per "
        "follower to the statement-requests topic.",
    )

    @field_validator("invoice_currency")
    @classmethod
    def _account_currency(cls, value: str) -> str:
        if value != ACCOUNT_CURRENCY:
            raise ValueError(f"invoices are in the accounts' currency ({ACCOUNT_CURRENCY}); {value} would need a "
                             "recorded FX rate, which SpreadPilot does not keep")
        return value
