"""What IBKR charges for an execution: IBKR Pro, Fixed pricing, US options and stock.

- options: USD 0.65 per contract (``SimConfig.commission_per_contract``; IBKR's rate for a premium of $0.10 or
  more, the cheaper tiers for lower premiums are not modelled), minimum USD 1.00 per order;
- stock (an assignment flattened, a hand trade): USD 0.005 per share, minimum USD 1.00 per order, maximum 1% of
  the trade value. Selling 100 QQQ shares costs 1.00, not 65.00.
Sources: https://www.interactivebrokers.com/en/pricing/commissions-stocks.php and
https://www.interactivebrokers.com/en/pricing/commissions-options.php (IBKR Pro, Fixed). Exchange, regulatory and
clearing fees, which IBKR passes through on top, are not modelled. Exercise and assignment carry no commission.

The minimum is per order, across its partial fills: each fill is charged what brings the order's total to
``max(minimum, rate x quantity so far)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from ibsim.contracts import Listing

STOCK_PER_SHARE = Decimal("0.005")
MINIMUM_PER_ORDER = Decimal("1.00")
STOCK_MAX_FRACTION = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True)
class LegExecution:
    """One leg of one fill: what traded, how many, at what price."""

    listing: Listing
    qty: int  # unsigned
    price: Decimal


def rate_charge(leg: LegExecution, option_rate: Decimal) -> Decimal:
    """The per-unit charge of one leg before the order's minimum."""
    if leg.listing.is_option:
        return option_rate * leg.qty
    value = leg.price * leg.qty
    return min(STOCK_PER_SHARE * leg.qty, STOCK_MAX_FRACTION * value) if value > 0 else STOCK_PER_SHARE * leg.qty


def fill_commissions(legs: Sequence[LegExecution], option_rate: Decimal, rated_before: Decimal,
                     charged_before: Decimal) -> tuple[list[Decimal], Decimal]:
    """Each leg's commission for this fill, and the order's rate charge so far (for its next fill).

    ``rated_before``: the order's rate charges of earlier fills; ``charged_before``: what they were charged.
    """
    raw = [rate_charge(leg, option_rate) for leg in legs]
    rated = rated_before + sum(raw, ZERO)
    due = max(MINIMUM_PER_ORDER, rated) - charged_before
    charges = list(raw)
    difference = due - sum(raw, ZERO)
    if difference > 0:
        charges[0] += difference
    else:  # the minimum charged on an earlier fill already covers part of this one
        for i in range(len(charges)):
            taken = min(charges[i], -difference)
            charges[i] -= taken
            difference += taken
    return charges, rated
