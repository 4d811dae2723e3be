"""Open positions as tax lots, first in first out, and the book that realizes P&L against them.

Each lot keeps the price it was opened at, so closing one realizes ``(close − open) × quantity × multiplier``
exactly: nothing is divided, there is no average-cost residue, and a flat round trip is exactly 0. Lots still open
after a day are stored with it (``daily_pnl/...`` field ``open_lots``, with the day's closing mark) and carried into
the next day's rollup.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict, deque
from dataclasses import dataclass
from decimal import Decimal

from spreadpilot.models import Frozen, Right

ZERO = Decimal(0)


class OpenLot(Frozen):
    """One open lot (``daily_pnl/...`` field ``open_lots``), e.g. assigned stock held overnight."""

    key: str  # spreadpilot.ledger.position_key: STK:<symbol> or OPT:<con_id>
    con_id: int
    symbol: str = "QQQ"
    sec_type: str
    right: Right | None = None
    strike: Decimal | None = None
    expiry: dt.date | None = None
    mult: int
    qty: int  # signed: negative = short
    price: Decimal  # opening price per unit
    opened: dt.date
    mark: Decimal | None = None  # the closing mark of the day it is stored with

    def value(self, price: Decimal) -> Decimal:
        """What the lot is worth at ``price`` (signed: a short lot is a liability)."""
        return price * self.qty * self.mult

    @property
    def unrealized(self) -> Decimal:
        """Gain of the lot at its mark over its opening price (0 when unmarked)."""
        return (self.mark - self.price) * self.qty * self.mult if self.mark is not None else ZERO


@dataclass(frozen=True)
class Trade:
    """One change of one position, from an execution or a settlement, in the order it happened."""

    at: dt.datetime
    order: int  # within one instant: settlements (0) before executions (1)
    key: str
    con_id: int
    symbol: str
    sec_type: str
    right: Right | None
    strike: Decimal | None
    expiry: dt.date | None
    mult: int
    qty: int  # signed
    price: Decimal
    commission: Decimal
    ref: str  # exec id or settlement event id


class Book:
    """Lots per position, FIFO; ``apply`` returns the gross P&L a trade realized."""

    def __init__(self, carried: tuple[OpenLot, ...] = ()) -> None:
        self.lots: dict[str, deque[OpenLot]] = defaultdict(deque)
        for lot in carried:
            self.lots[lot.key].append(lot.model_copy(update={"mark": None}))

    def apply(self, trade: Trade, day: dt.date) -> Decimal:
        """Book ``trade``: close the oldest opposite lots first, open a new lot with the rest."""
        queue = self.lots[trade.key]
        left = trade.qty
        realized = ZERO
        while left and queue and (queue[0].qty > 0) != (left > 0):
            lot = queue[0]
            closed = min(abs(lot.qty), abs(left))
            direction = 1 if lot.qty > 0 else -1
            realized += (trade.price - lot.price) * closed * lot.mult * direction
            remaining = lot.qty - closed * direction
            if remaining:
                queue[0] = lot.model_copy(update={"qty": remaining})
            else:
                queue.popleft()
            left += closed * direction
        if left:
            queue.append(OpenLot(key=trade.key, con_id=trade.con_id, symbol=trade.symbol, sec_type=trade.sec_type,
                                 right=trade.right, strike=trade.strike, expiry=trade.expiry, mult=trade.mult,
                                 qty=left, price=trade.price, opened=day))
        return realized

    def open_lots(self) -> tuple[OpenLot, ...]:
        """Every lot still open, ordered by position then age."""
        return tuple(lot for key in sorted(self.lots) for lot in self.lots[key])

    def held(self) -> dict[str, int]:
        """Net quantity per position (non-zero only)."""
        totals = {key: sum(lot.qty for lot in queue) for key, queue in self.lots.items()}
        return {key: qty for key, qty in totals.items() if qty}
