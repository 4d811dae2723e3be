"""Orders and fills as the broker keeps them (pure data; the broker module drives the transitions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from ibsim.contracts import Listing


class Status(StrEnum):
    """IB order status strings."""

    PRE_SUBMITTED = "PreSubmitted"
    SUBMITTED = "Submitted"
    FILLED = "Filled"
    CANCELLED = "Cancelled"
    INACTIVE = "Inactive"


DONE = frozenset({Status.FILLED, Status.CANCELLED, Status.INACTIVE})


@dataclass(frozen=True)
class Leg:
    """One leg of a BAG combo."""

    listing: Listing
    action: str  # BUY or SELL
    ratio: int = 1

    def sign(self) -> int:
        """+1 for a bought leg, -1 for a sold one (per unit of a BUY combo)."""
        return 1 if self.action == "BUY" else -1


@dataclass
class SimOrder:
    """One live or finished order."""

    order_id: int
    client_id: int
    perm_id: int
    account: str
    action: str
    qty: int
    order_type: str
    limit: Decimal | None
    tif: str
    order_ref: str
    listing: Listing | None = None  # the instrument of a single-leg order
    legs: list[Leg] = field(default_factory=list)  # the legs of a BAG
    status: Status = Status.SUBMITTED
    filled: int = 0
    avg_fill_price: Decimal = Decimal("0")
    last_fill_price: Decimal = Decimal("0")
    completed_at: datetime | None = None
    # Fault hooks armed when the order arrived: fill only part, or omit orderStatus messages.
    partial_once: bool = False
    hide_status: bool = False
    stalled: bool = False  # a partial fill left the rest unfillable until a modify
    scheduled: bool = False  # a delayed fill is pending
    held: bool = False  # received during error 1100 and kept: sent to the exchange when the link returns
    commission_rated: Decimal = Decimal("0")  # the rate charges of its fills so far (the minimum is per order)
    commission_charged: Decimal = Decimal("0")  # what its fills were charged

    @property
    def is_combo(self) -> bool:
        """True for a BAG order."""
        return bool(self.legs)

    @property
    def remaining(self) -> int:
        """Contracts still to fill."""
        return self.qty - self.filled

    @property
    def is_done(self) -> bool:
        """Filled, cancelled or inactive."""
        return self.status in DONE

    def direction(self) -> int:
        """+1 BUY, -1 SELL."""
        return 1 if self.action == "BUY" else -1

    def instrument_legs(self) -> list[Leg]:
        """Legs as a list for both kinds: a single order is one BUY/SELL leg of ratio 1."""
        if self.legs:
            return self.legs
        assert self.listing is not None
        return [Leg(self.listing, "BUY", 1)]

    def record_fill(self, qty: int, price: Decimal) -> None:
        """Fold one fill into the running average and status."""
        total = self.avg_fill_price * self.filled + price * qty
        self.filled += qty
        self.avg_fill_price = total / self.filled
        self.last_fill_price = price
        if self.filled >= self.qty:
            self.status = Status.FILLED


@dataclass(frozen=True)
class Fill:
    """One per-leg execution (a combo fill yields one per leg) with its commission."""

    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    account: str
    listing: Listing
    side: str  # BOT or SLD
    shares: int
    price: Decimal
    cum_qty: int
    avg_price: Decimal
    order_ref: str
    time: datetime
    commission: Decimal
    realized_pnl: Decimal | None = None
