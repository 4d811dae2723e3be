"""The fill model: combo quotes, when a limit is marketable, and how a combo price splits across legs.

Sign rule: a combo's price is quoted for BUYing it, i.e. Σ(bought legs) − Σ(sold legs). A bull put credit spread
bought as a BAG (SELL the higher put, BUY the lower put) therefore has a negative price: BUY at −0.80 means
"receive at least 0.80". SELLing a combo inverts every leg.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from ibsim.orders import Leg
from ibsim.pricing import Quote

CENT = Decimal("0.01")
QuoteOf = Callable[[Leg], Quote]


def money(value: float) -> Decimal:
    """A float price as a cent-rounded Decimal."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def combo_quote(legs: Sequence[Leg], quote_of: QuoteOf) -> Quote:
    """Bid/ask/mid of buying one unit of the combo."""
    bid = ask = mid = 0.0
    for leg in legs:
        q = quote_of(leg)
        if leg.sign() > 0:
            bid, ask, mid = bid + q.bid * leg.ratio, ask + q.ask * leg.ratio, mid + q.mid * leg.ratio
        else:
            bid, ask, mid = bid - q.ask * leg.ratio, ask - q.bid * leg.ratio, mid - q.mid * leg.ratio
    return Quote(bid=round(bid, 2), ask=round(ask, 2), mid=round(mid, 2), bid_size=10, ask_size=10)


def fill_price(action: str, order_type: str, limit: Decimal | None, quote: Quote, slippage: Decimal) -> Decimal | None:
    """The price a new or resting order fills at now, or None if it is not marketable.

    A limit fills when it is at least as good for the market as the mid less ``slippage``: a BUY at ``limit`` fills
    if ``limit >= mid - slippage`` (at the better of limit and mid for the trader); a SELL mirrors it. A market order
    takes the far side.
    """
    mid = money(quote.mid)
    if order_type == "MKT" or limit is None:
        return money(quote.ask if action == "BUY" else quote.bid)
    if action == "BUY":
        return min(limit, mid) if limit >= mid - slippage else None
    return max(limit, mid) if limit <= mid + slippage else None


def leg_prices(legs: Sequence[Leg], quote_of: QuoteOf, combo_price: Decimal) -> list[Decimal]:
    """Per-leg execution prices (each ≥ 0) whose signed sum is ``combo_price`` for one BUY unit.

    Legs start at their mids; the difference is put on the leg that can absorb it without going negative.
    """
    prices = [money(quote_of(leg).mid) for leg in legs]
    signs = [leg.sign() * leg.ratio for leg in legs]
    diff = combo_price - sum((p * s for p, s in zip(prices, signs, strict=True)), Decimal("0"))
    for i in sorted(range(len(legs)), key=lambda j: -prices[j]):
        candidate = prices[i] + diff / signs[i]
        if candidate >= 0:
            prices[i] = candidate.quantize(CENT)
            break
    return prices
