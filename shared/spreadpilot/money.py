"""Money as people see it: the one rounding rule and the one way to write an amount or a rate.

Every figure that is stored or shown goes through here (P&L documents, invoices, the PDF and XLSX statements, the
statement email, the Telegram bot): amounts are rounded half-up to cents exactly once, where they are stored, and
a stored amount is shown as it is. Rates are rounded half-up to the places shown. ``Decimal`` throughout; a float
never touches an amount.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal(0)


def to_cents(amount: Decimal) -> Decimal:
    """``amount`` rounded half-up to cents: 14.755 → 14.76, -0.005 → -0.01 (away from zero on a tie)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def cents_text(amount: Decimal) -> str:
    """An amount as it is stored in a document: the cent-rounded value as a string, e.g. ``"-426.30"``."""
    return f"{to_cents(amount):f}"


def format_money(amount: Decimal, *, signed: bool = False) -> str:
    """An amount for people: ``-1,234.56``, or ``+98.77`` with ``signed`` (zero is ``0.00`` either way)."""
    value = to_cents(amount)
    if value == 0:
        return "0.00"
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def rate_fraction(fraction: Decimal, places: int = 1) -> Decimal:
    """A fraction (0.0625) rounded half-up so that, shown as a percentage, it has ``places`` decimals (0.063)."""
    return fraction.quantize(Decimal(1).scaleb(-(places + 2)), rounding=ROUND_HALF_UP)


def format_percent(fraction: Decimal, places: int = 1) -> str:
    """A fraction as a percentage for people, half-up: 0.0625 → ``6.3%``."""
    return f"{rate_fraction(fraction, places) * 100:.{places}f}%"


def format_pct(percent: Decimal) -> str:
    """A rate already in percent (a commission rate of ``20`` or ``12.5``) written without trailing zeros."""
    text = f"{percent.normalize():f}"
    return f"{text}%"
