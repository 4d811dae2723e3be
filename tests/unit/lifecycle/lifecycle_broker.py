"""An in-memory ``LifecycleBroker``: positions per account, a quote per contract, orders that fill at once (or rest
until the test fills them), and the faults of a bad day (a dropped socket, an exercise IB settles overnight)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lifecycle_fakes import STOCK_CON_ID

from executor.broker import (
    BrokerDisconnected,
    BrokerListener,
    Combo,
    ComboQuote,
    HeldPosition,
    OrderAck,
    OrderUpdate,
)
from executor.lifecycle.ports import AccountPnL, ComboOrder, LegQuote, SingleOrder
from spreadpilot.models import Right


@dataclass
class Resting:
    """An order the test has not filled yet: what it trades when it fills."""

    account: str
    trades: list[tuple[int, int, str]]  # (con_id, signed qty, sec_type)
    qty: int
    order_id: int


@dataclass
class MemoryBroker:
    positions_: list[HeldPosition] = field(default_factory=list)
    quotes: dict[int, LegQuote] = field(default_factory=dict)
    underlying: Decimal | None = Decimal(480)
    prices: dict[str, Decimal] = field(default_factory=dict)  # an underlying's price by symbol (else ``underlying``)
    priced: list[str] = field(default_factory=list)  # the underlyings whose price was asked, in order
    journal: list[dict[str, object]] = field(default_factory=list)
    listener: BrokerListener = field(default_factory=BrokerListener)
    rest: bool = False  # orders rest until fill() (a close in flight); otherwise they fill at once
    drops: int = 0  # the next ``drops`` position reads find the socket dropped
    overnight_exercise: bool = False  # an exercise is only noted; IB settles it after the close
    resting: dict[str, Resting] = field(default_factory=dict)
    on_cancel: dict[str, Callable[[], None]] = field(default_factory=dict)  # what a cancel of that ref finds
    pnl: dict[str, AccountPnL | Exception] = field(default_factory=dict)  # reqPnL per account (or what it raises)
    post_expiry: dict[str, Decimal] = field(default_factory=dict)  # PostExpirationExcess per account, once reported
    on_quote: Callable[[], None] | None = None  # what happens in the account while a close asks for its quote
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def set_listener(self, listener: BrokerListener) -> None:
        self.listener = listener

    def is_connected(self) -> bool:
        return True

    async def positions(self, account: str | None = None) -> list[HeldPosition]:
        if self.drops > 0:
            self.drops -= 1
            raise BrokerDisconnected("socket closed")
        return [p for p in self.positions_ if account in (None, p.account)]

    async def option_quotes(self, con_ids: Sequence[int]) -> dict[int, LegQuote]:
        return {c: self.quotes[c] for c in con_ids if c in self.quotes}

    async def underlying_price(self, symbol: str) -> Decimal | None:
        self.priced.append(symbol)
        return self.prices.get(symbol, self.underlying)

    async def quote(self, combo: Combo) -> ComboQuote | None:
        if self.on_quote is not None:
            self.on_quote()
        return ComboQuote(Decimal("-5.10"), Decimal("-4.90"), Decimal("-5.00"))

    async def place_combo(self, order: ComboOrder) -> OrderAck:
        self.journal.append({"event": "combo", "ref": order.order_ref, "account": order.account,
                             "symbol": order.combo.symbol,
                             "action": order.action, "qty": order.qty,
                             "legs": sorted(leg.con_id for leg in order.combo.legs), "limit": order.limit})
        # SELLing the combo sells each BUY leg and buys back each SELL leg
        trades = [(leg.con_id, (1 if leg.action == "BUY" else -1) * order.qty * (1 if order.action == "BUY" else -1),
                   "OPT") for leg in order.combo.legs]
        return self._order(order.order_ref, order.account, order.qty, trades)

    async def place_single(self, order: SingleOrder) -> OrderAck:
        self.journal.append({"event": "single", "ref": order.order_ref, "account": order.account,
                             "action": order.action, "qty": order.qty, "con_id": order.con_id, "limit": order.limit})
        trades = [(order.con_id, order.qty if order.action == "BUY" else -order.qty, order.sec_type)]
        return self._order(order.order_ref, order.account, order.qty, trades)

    async def to_market(self, order_ref: str) -> OrderAck:
        self.journal.append({"event": "to_market", "ref": order_ref})
        resting = self.resting[order_ref]
        self.fill(order_ref)
        return OrderAck(order_ref, resting.order_id, resting.order_id, "Filled")

    async def cancel(self, order_ref: str) -> None:
        self.journal.append({"event": "cancel", "ref": order_ref})
        if order_ref in self.on_cancel:
            self.on_cancel.pop(order_ref)()
        resting = self.resting.pop(order_ref, None)
        if resting is not None:
            self.listener.on_order(OrderUpdate(order_ref, resting.account, resting.order_id, resting.order_id,
                                               "Cancelled", 0, resting.qty))

    async def exercise(self, account: str, con_id: int, qty: int, exchange: str) -> None:
        self.journal.append({"event": "exercise", "con_id": con_id, "qty": qty, "exchange": exchange})
        if self.overnight_exercise:
            return
        held = next(p for p in self.positions_ if p.account == account and p.con_id == con_id)
        shares = qty * 100 * (-1 if held.right is Right.PUT else 1)
        self._trade(account, con_id, -qty)
        self._trade(account, STOCK_CON_ID, shares, sec_type="STK")

    async def post_expiry_excess(self, account: str) -> Decimal | None:
        return self.post_expiry.get(account)

    async def account_pnl(self, account: str) -> AccountPnL | None:
        reading = self.pnl.get(account)
        if isinstance(reading, Exception):
            raise reading
        return reading

    def _trade(self, account: str, con_id: int, qty: int, sec_type: str = "OPT") -> None:
        old = next((p for p in self.positions_ if p.account == account and p.con_id == con_id), None)
        base = old or HeldPosition(account, con_id, 0, sec_type)
        if old is not None:
            self.positions_.remove(old)
        new_qty = base.qty + qty
        if new_qty:
            self.positions_.append(HeldPosition(account, con_id, new_qty, base.sec_type, base.right, base.strike,
                                                base.expiry, base.symbol))

    def _order(self, ref: str, account: str, qty: int, trades: list[tuple[int, int, str]]) -> OrderAck:
        order_id = next(self._ids)
        self.resting[ref] = Resting(account, trades, qty, order_id)
        if not self.rest:
            self.fill(ref)
        return OrderAck(ref, order_id, order_id, "Submitted")

    def fill(self, ref: str) -> None:
        """Fill a resting order whole: its trades land in the account, then its status says Filled."""
        resting = self.resting.pop(ref)
        for con_id, qty, sec_type in resting.trades:
            self._trade(resting.account, con_id, qty, sec_type)
        self.listener.on_order(OrderUpdate(ref, resting.account, resting.order_id, resting.order_id, "Filled",
                                           resting.qty, 0))

    def fill_all(self) -> None:
        for ref in list(self.resting):
            self.fill(ref)

    def sent(self, event: str = "combo") -> list[dict[str, object]]:
        """The orders of one kind the broker received (``combo`` or ``single``)."""
        return [e for e in self.journal if e["event"] == event]


def leg_date() -> date:
    return date(2026, 3, 17)
