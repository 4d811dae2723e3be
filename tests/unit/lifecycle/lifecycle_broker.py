"""An in-memory ``LifecycleBroker``: positions per account, a quote per contract, orders that fill at once."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from lifecycle_fakes import STOCK_CON_ID

from executor.broker import BrokerListener, Combo, ComboQuote, HeldPosition, OrderAck, OrderUpdate
from executor.lifecycle.ports import AccountPnL, ComboOrder, LegQuote, SingleOrder
from spreadpilot.models import Right


@dataclass
class MemoryBroker:
    positions_: list[HeldPosition] = field(default_factory=list)
    quotes: dict[int, LegQuote] = field(default_factory=dict)
    underlying: Decimal | None = Decimal(480)
    journal: list[dict[str, object]] = field(default_factory=list)
    listener: BrokerListener = field(default_factory=BrokerListener)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def set_listener(self, listener: BrokerListener) -> None:
        self.listener = listener

    def is_connected(self) -> bool:
        return True

    async def positions(self) -> list[HeldPosition]:
        return list(self.positions_)

    async def option_quotes(self, con_ids: Sequence[int]) -> dict[int, LegQuote]:
        return {c: self.quotes[c] for c in con_ids if c in self.quotes}

    async def underlying_price(self, symbol: str) -> Decimal | None:
        return self.underlying

    async def quote(self, combo: Combo) -> ComboQuote | None:
        return ComboQuote(Decimal("-5.10"), Decimal("-4.90"), Decimal("-5.00"))

    async def place_combo(self, order: ComboOrder) -> OrderAck:
        self.journal.append({"event": "combo", "ref": order.order_ref, "action": order.action, "qty": order.qty,
                             "legs": sorted(leg.con_id for leg in order.combo.legs), "limit": order.limit})
        for leg in order.combo.legs:
            self._trade(order.account, leg.con_id, (1 if leg.action == "BUY" else -1) * order.qty * -1)
        return self._filled(order.order_ref, order.account, order.qty)

    async def place_single(self, order: SingleOrder) -> OrderAck:
        self.journal.append({"event": "single", "ref": order.order_ref, "action": order.action, "qty": order.qty,
                             "con_id": order.con_id})
        self._trade(order.account, order.con_id, order.qty if order.action == "BUY" else -order.qty)
        return self._filled(order.order_ref, order.account, order.qty)

    async def to_market(self, order_ref: str) -> OrderAck:
        raise AssertionError("orders fill at once here")

    async def cancel(self, order_ref: str) -> None:
        self.journal.append({"event": "cancel", "ref": order_ref})

    async def exercise(self, account: str, con_id: int, qty: int, exchange: str) -> None:
        self.journal.append({"event": "exercise", "con_id": con_id, "qty": qty, "exchange": exchange})
        held = next(p for p in self.positions_ if p.account == account and p.con_id == con_id)
        shares = qty * 100 * (-1 if held.right is Right.PUT else 1)
        self._trade(account, con_id, -qty)
        self._trade(account, STOCK_CON_ID, shares, sec_type="STK")

    async def account_pnl(self, account: str) -> AccountPnL | None:
        return None

    def _trade(self, account: str, con_id: int, qty: int, sec_type: str = "OPT") -> None:
        old = next((p for p in self.positions_ if p.account == account and p.con_id == con_id), None)
        base = old or HeldPosition(account, con_id, 0, sec_type)
        if old is not None:
            self.positions_.remove(old)
        new_qty = base.qty + qty
        if new_qty:
            self.positions_.append(HeldPosition(account, con_id, new_qty, base.sec_type, base.right, base.strike,
                                                base.expiry))

    def _filled(self, ref: str, account: str, qty: int) -> OrderAck:
        order_id = next(self._ids)
        self.listener.on_order(OrderUpdate(ref, account, order_id, order_id, "Filled", qty, 0))
        return OrderAck(ref, order_id, order_id, "Submitted")


def leg_date() -> date:
    return date(2026, 3, 17)
