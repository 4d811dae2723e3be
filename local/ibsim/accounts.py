"""Accounts: cash, positions, realized P&L, and the risk-based margin the simulator enforces.

Margin is the worst loss at expiry of each expiry's option positions (evaluated at every strike, at zero and far
above), plus their market value, so a credit spread needs ``width × 100 × qty − credit`` and a long option needs
nothing beyond its paid premium. Stock needs 50% (Reg T).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from ibsim.contracts import Listing
from ibsim.pricing import intrinsic

Marks = Callable[[Listing], float]
STOCK_MARGIN = Decimal("0.5")
CENT = Decimal("0.01")


@dataclass
class Position:
    """A holding; ``avg_cost`` is per contract including the multiplier, as IB reports it."""

    listing: Listing
    qty: int = 0
    avg_cost: Decimal = Decimal("0")


@dataclass
class Account:
    """One account's books."""

    account_id: str
    cash: Decimal
    positions: dict[int, Position] = field(default_factory=dict)
    realized: Decimal = Decimal("0")
    commissions: Decimal = Decimal("0")
    day_realized: Decimal = Decimal("0")  # realized since the simulated day began (what reqPnL reports)
    day_open_unrealized: Decimal = Decimal("0")  # the open positions' unrealized P&L when the day began

    def apply_trade(self, listing: Listing, qty: int, price: Decimal, commission: Decimal) -> Decimal:
        """Book a trade of signed ``qty`` at ``price``; returns the realized P&L it closed (net of commission)."""
        mult = Decimal(listing.multiplier)
        self.cash -= Decimal(qty) * price * mult + commission
        self.commissions += commission
        pos = self.positions.setdefault(listing.con_id, Position(listing))
        realized = -commission
        cost = price * mult
        if pos.qty == 0 or (pos.qty > 0) == (qty > 0):
            total = pos.avg_cost * abs(pos.qty) + cost * abs(qty)
            pos.qty += qty
            pos.avg_cost = total / abs(pos.qty)
        else:
            closing = min(abs(qty), abs(pos.qty))
            direction = 1 if pos.qty > 0 else -1
            realized += (cost - pos.avg_cost) * closing * direction
            pos.qty += qty
            if pos.qty == 0:
                pos.avg_cost = Decimal("0")
            elif (pos.qty > 0) != (direction > 0):
                pos.avg_cost = cost  # flipped through zero: the rest opened at this price
        if pos.qty == 0:
            del self.positions[listing.con_id]
        self.realized += realized
        self.day_realized += realized
        return realized

    def start_day(self, marks: Marks) -> None:
        """A new trading day: the day's realized P&L starts at 0 and its daily P&L from the positions' value now."""
        self.day_realized = Decimal("0")
        self.day_open_unrealized = self.unrealized(marks)

    def held(self) -> list[Position]:
        """Open positions."""
        return [p for p in self.positions.values() if p.qty != 0]

    def market_value(self, marks: Marks) -> Decimal:
        """Sum of positions at their marks."""
        return sum(
            (Decimal(str(marks(p.listing))) * p.listing.multiplier * p.qty for p in self.held()), Decimal("0")
        )

    def net_liquidation(self, marks: Marks) -> Decimal:
        """Cash plus positions at marks."""
        return self.cash + self.market_value(marks)

    def unrealized(self, marks: Marks) -> Decimal:
        """Mark-to-market gain of open positions against their cost."""
        return sum(
            (
                (Decimal(str(marks(p.listing))) * p.listing.multiplier - p.avg_cost) * p.qty
                for p in self.held()
            ),
            Decimal("0"),
        )

    def margin(self, marks: Marks, underlying: float) -> Decimal:
        """Initial (= maintenance) margin of the current positions."""
        return margin_of(((p.listing, p.qty) for p in self.held()), marks, underlying)

    def available_funds(self, marks: Marks, underlying: float) -> Decimal:
        """Net liquidation less margin."""
        return self.net_liquidation(marks) - self.margin(marks, underlying)


def _worst_expiry_loss(holdings: list[tuple[Listing, int]], underlying: float) -> Decimal:
    """Largest loss at expiry of one expiry's options, over every kink of the payoff and the extremes."""
    points = {0.0, underlying * 3}
    points.update(listing.strike for listing, _ in holdings)
    worst = 0.0
    for s in points:
        payoff = sum(intrinsic(lst.right, lst.strike, s) * lst.multiplier * q for lst, q in holdings)
        worst = min(worst, payoff)
    return Decimal(str(round(-worst, 2)))


def margin_of(holdings: Iterable[tuple[Listing, int]], marks: Marks, underlying: float) -> Decimal:
    """Margin of a set of (listing, signed qty) holdings."""
    by_expiry: dict[tuple[str, str], list[tuple[Listing, int]]] = defaultdict(list)
    total = Decimal("0")
    for listing, qty in holdings:
        if qty == 0:
            continue
        value = Decimal(str(marks(listing))) * listing.multiplier * qty
        if listing.is_option:
            by_expiry[(listing.symbol, listing.expiry)].append((listing, qty))
        else:
            total += abs(value) * STOCK_MARGIN
    for group in by_expiry.values():
        value = sum((Decimal(str(marks(lst))) * lst.multiplier * q for lst, q in group), Decimal("0"))
        total += max(Decimal("0"), _worst_expiry_loss(group, underlying) + value)
    return total.quantize(CENT)
