"""THE one place that knows the sign of a combo limit.

IB prices a combo for BUYing it: Σ(bought legs) − Σ(sold legs). A credit spread (sell the dearer leg, buy the
cheaper one) bought as a BAG therefore has a negative price: BUY at −0.80 means "receive at least $0.80 per spread".
SELLing the same combo inverts the sign: SELL at +0.80 also receives $0.80.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def combo_limit(action: str, credit: Decimal) -> Decimal:
    """The signed BAG limit that receives ``credit`` (> 0) per spread when sending ``action`` (BUY or SELL)."""
    if credit <= 0:
        raise ValueError(f"a credit is positive, got {credit}")
    if action == "BUY":
        return -to_cents(credit)
    if action == "SELL":
        return to_cents(credit)
    raise ValueError(f"action must be BUY or SELL, got {action!r}")


def credit_of(action: str, limit: Decimal) -> Decimal:
    """The credit per spread a signed BAG ``limit`` receives (the inverse of ``combo_limit``)."""
    if action == "BUY":
        return -limit
    if action == "SELL":
        return limit
    raise ValueError(f"action must be BUY or SELL, got {action!r}")


def to_cents(value: Decimal) -> Decimal:
    """Round a price to the cent, half up."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)
