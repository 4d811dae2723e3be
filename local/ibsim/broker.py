"""The broker's use cases: accept, reject, modify, cancel and fill orders, answering on the owning connection."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from ibsim import wire, wire_orders
from ibsim.accounts import Account, margin_of
from ibsim.codes import ErrorCode
from ibsim.commissions import LegExecution, fill_commissions
from ibsim.config import FillMode, SimConfig
from ibsim.contracts import Chain, Listing
from ibsim.faults import ArmedFaults
from ibsim.fills import combo_quote, fill_price, leg_prices, money
from ibsim.journal import Journal, order_record
from ibsim.market import Market
from ibsim.orders import Fill, Leg, SimOrder, Status
from ibsim.pricing import Quote
from ibsim.protocol import Field
from ibsim.requests import PlaceOrderRequest
from ibsim.wire_orders import MarginFigures
from spreadpilot.clock import new_york


class Connection(Protocol):
    """What the broker needs from a client session."""

    client_id: int

    def send(self, message: list[Field]) -> None:
        """Queue one message to the client."""

    def account_changed(self, account: str) -> None:
        """Push account/position updates the client subscribed to."""


class Broker:
    """Holds accounts and orders; every state change goes through here and into the journal."""

    def __init__(self, config: SimConfig, now: Callable[[], datetime], journal: Journal, market: Market) -> None:
        self.config = config
        self.now = now
        self.journal = journal
        self.market = market
        self.accounts = {a: Account(a, config.funds_of(a)) for a in config.accounts}
        self.orders: dict[tuple[int, int], SimOrder] = {}
        self.fills: list[Fill] = []
        self.connections: dict[int, Connection] = {}
        self.faults = ArmedFaults()
        self.link_lost = False  # error 1100: the gateway has no link to IBKR's servers
        # called with the outage's simulated seconds when an armed ``link_lost_at_order`` strikes (the simulator
        # tells the clients 1100 and restores the link later)
        self.on_link_lost_at_order: Callable[[float], None] = lambda seconds: None
        self.chain = Chain(now().date(), market.underlying(now()))
        self.next_ids: dict[int, int] = {}
        self._perm_seq = 1_000_000 + config.seed * 10_000
        self._exec_seq = 0
        # Simulated seconds per real second, so business delays shrink with an accelerated clock.
        self.speed = 1.0

    # --- prices -------------------------------------------------------------------------------------------------
    def refresh_chain(self) -> None:
        """Relist options when the simulated New York day changes."""
        today = new_york(self.now()).date()
        if today != self.chain.today:
            old = self.chain
            self.chain = Chain(today, self.market.underlying(self.now()))
            self.chain.extra.update(old.extra)
            for acct in self.accounts.values():  # reqPnL reports the new day from here on
                acct.start_day(self.mark)

    def quote(self, listing: Listing) -> Quote:
        """Current quote of one listing."""
        return self.market.quote(listing, self.now())

    def mark(self, listing: Listing) -> float:
        """Current mark (mid) of one listing."""
        return self.market.mark(listing, self.now())

    def order_quote(self, order: SimOrder) -> Quote:
        """Quote of the order's instrument, for BUYing one unit."""
        return combo_quote(order.instrument_legs(), lambda leg: self.quote(leg.listing))

    def underlying(self, symbol: str = "QQQ") -> float:
        """An underlying's price now (QQQ unless named)."""
        return self.market.underlying(self.now(), symbol)

    # --- sending ------------------------------------------------------------------------------------------------
    def to_client(self, client_id: int, message: list[Field]) -> None:
        """Send to the connection of ``client_id`` if it is connected (else the message is lost, as with IB)."""
        conn = self.connections.get(client_id)
        if conn is not None:
            conn.send(message)

    def _notify_account(self, account: str) -> None:
        for conn in list(self.connections.values()):
            conn.account_changed(account)

    def _status(self, order: SimOrder) -> None:
        if not order.hide_status:
            self.to_client(order.client_id, wire_orders.order_status(order))

    def _open_and_status(self, order: SimOrder) -> None:
        self.to_client(order.client_id, wire_orders.open_order(order))
        self._status(order)

    # --- placing ------------------------------------------------------------------------------------------------
    def _legs_of(self, req: PlaceOrderRequest) -> tuple[Listing | None, list[Leg]] | str:
        if req.contract.sec_type == "BAG":
            legs = []
            for spec in req.legs:
                listing = self.chain.by_con_id(spec.con_id)
                if listing is None:
                    return f"No security definition for combo leg conId {spec.con_id}"
                legs.append(Leg(listing, spec.action.upper(), spec.ratio or 1))
            return (None, legs) if legs else "A combo order needs legs"
        listing = self.chain.by_con_id(req.contract.con_id)
        if listing is None:
            return "No security definition has been found for the request"
        return listing, []

    def _account_for(self, req: PlaceOrderRequest) -> str | None:
        if req.account:
            return req.account if req.account in self.accounts else None
        return self.config.accounts[0]

    def place(self, client_id: int, req: PlaceOrderRequest) -> None:
        """Handle placeOrder: what-if, new order, or modify of a live one."""
        account = self._account_for(req)
        if account is None:
            self.to_client(client_id, wire.error(req.order_id, ErrorCode.ORDER_REJECTED,
                                                 f"Order rejected - reason:Unknown account {req.account}"))
            return
        resolved = self._legs_of(req)
        if isinstance(resolved, str):
            self.to_client(client_id, wire.error(req.order_id, ErrorCode.NO_SECURITY_DEFINITION, resolved))
            return
        listing, legs = resolved
        limit = money(req.limit) if req.limit is not None and req.order_type != "MKT" else None
        existing = self.orders.get((client_id, req.order_id))
        perm_id = existing.perm_id if existing and not req.what_if else self._new_perm_id()
        order = SimOrder(req.order_id, client_id, perm_id, account, req.action, int(req.qty), req.order_type,
                         limit, req.tif, req.order_ref, listing, legs)
        if req.what_if:
            self._what_if(order)
            return
        hits = self.faults.take(account)
        if "link_lost_at_order" in hits:  # the link went as the order arrived: the client could not know yet
            self.link_lost = True
            self.on_link_lost_at_order(self.faults.link_lost_s)
        if "drop_order" in hits:
            self.journal.write("fault", account, kind="drop_order", **order_record(order, False))
            return
        self.journal.write("order", account, **order_record(order, False))
        order.partial_once = "partial_fill" in hits  # the order faults a new order carries (a modify ignores them)
        order.hide_status = "missing_status" in hits
        armed = self.faults.take_order_error(account) if "order_error" in hits else None
        if existing is None:
            self.next_ids[client_id] = max(self.next_ids.get(client_id, 0), req.order_id + 1)
        if armed is not None and not armed.keep:  # the request is not carried out: only the error answers it
            self.journal.write("reject", account, order_id=order.order_id, order_ref=order.order_ref,
                               code=armed.code, reason=armed.text)
            self.to_client(client_id, wire.error(req.order_id, armed.code, armed.text))
            return
        if existing is not None:
            self._modify(existing, order)
        elif self.link_lost:
            self._while_link_lost(order)
        else:
            self._accept(order, exec_before_open="exec_before_open" in hits)
        if armed is not None:
            self.to_client(client_id, wire.error(req.order_id, armed.code, armed.text))

    def _while_link_lost(self, order: SimOrder) -> None:
        """An order received during 1100: kept PreSubmitted for the link's return (the gateway's "Maintain and
        resubmit orders" on), or not kept and rejected at once (off)."""
        if not self.config.resubmit_on_restore:
            self._reject(order, "Order rejected - reason:Not connected to the IB server; the order was not kept "
                                "(Maintain and resubmit orders when connection is restored is off)")
            return
        order.held = True
        order.status = Status.PRE_SUBMITTED
        self.orders[(order.client_id, order.order_id)] = order
        self.journal.write("held", order.account, order_id=order.order_id, perm_id=order.perm_id,
                           order_ref=order.order_ref)
        self._open_and_status(order)

    def lose_link(self) -> None:
        """Error 1100: orders received from now on are held (or rejected) until ``restore_link``."""
        self.link_lost = True

    def restore_link(self) -> None:
        """1101/1102: the held orders go out now, as IB Gateway resubmits them (each checked as on arrival)."""
        self.link_lost = False
        for order in [o for o in self.orders.values() if o.held]:
            order.held = False
            if order.is_done:
                continue
            order.status = Status.SUBMITTED
            self.journal.write("resubmitted", order.account, order_id=order.order_id, perm_id=order.perm_id,
                               order_ref=order.order_ref)
            self.orders.pop((order.client_id, order.order_id))
            self._accept(order)

    def _accept(self, order: SimOrder, *, exec_before_open: bool = False) -> None:
        """The margin check, then the order works (and fills as the fill model says)."""
        margin = self._margin_figures(order)
        if margin.init_change > margin.equity_before - margin.init_before:
            self._reject(order, "Order rejected - reason:YOUR ORDER IS NOT ACCEPTED. IN ORDER TO OBTAIN THE DESIRED "
                                f"POSITION YOUR EQUITY WITH LOAN VALUE [{margin.equity_before}] MUST EXCEED THE "
                                f"INITIAL MARGIN [{margin.init_after}]")
            return
        self.orders[(order.client_id, order.order_id)] = order
        if exec_before_open and self._fill_now(order, announce=False):
            self._open_and_status(order)
            return
        self._open_and_status(order)
        self._schedule_fill(order)

    def _new_perm_id(self) -> int:
        self._perm_seq += 1
        return self._perm_seq

    def _reject(self, order: SimOrder, text: str) -> None:
        order.status = Status.INACTIVE
        self.journal.write("reject", order.account, order_id=order.order_id, perm_id=order.perm_id,
                           order_ref=order.order_ref, reason=text)
        self.to_client(order.client_id, wire.error(order.order_id, ErrorCode.ORDER_REJECTED, text))

    def _modify(self, live: SimOrder, new: SimOrder) -> None:
        if live.is_done:
            self.to_client(live.client_id, wire.error(live.order_id, ErrorCode.DUPLICATE_ORDER_ID,
                                                      "Duplicate order id"))
            return
        live.qty = max(new.qty, live.filled)
        live.limit = new.limit
        live.order_type = new.order_type
        live.order_ref = new.order_ref or live.order_ref
        live.stalled = False
        self._open_and_status(live)
        self._schedule_fill(live)

    # --- what-if and margin -------------------------------------------------------------------------------------
    def _margin_figures(self, order: SimOrder) -> MarginFigures:
        acct = self.accounts[order.account]
        und = self.underlying()
        before = acct.margin(self.mark, und)
        holdings = {p.listing.con_id: (p.listing, p.qty) for p in acct.held()}
        for leg in order.instrument_legs():
            qty = leg.sign() * leg.ratio * order.qty * order.direction()
            lst, held = holdings.get(leg.listing.con_id, (leg.listing, 0))
            holdings[leg.listing.con_id] = (lst, held + qty)
        after = margin_of(holdings.values(), self.mark, und)
        quote = self.order_quote(order)
        mult = order.instrument_legs()[0].listing.multiplier
        # Margin counts the new position at its mark; the trade happens at the limit, so the premium actually
        # received or paid differs by (limit - mid).
        if order.limit is not None:
            after += (order.limit - money(quote.mid)) * mult * order.qty * order.direction()
        equity = acct.net_liquidation(self.mark)
        commission = self.config.commission_per_contract * order.qty * len(order.instrument_legs())
        return MarginFigures(before, after - before, after, equity, -commission, equity - commission, commission)

    def _what_if(self, order: SimOrder) -> None:
        self.journal.write("order", order.account, **order_record(order, True))
        self.to_client(order.client_id, wire_orders.open_order(order, self._margin_figures(order)))

    # --- cancelling ---------------------------------------------------------------------------------------------
    def cancel(self, client_id: int, order_id: int) -> None:
        """Handle cancelOrder."""
        order = self.orders.get((client_id, order_id))
        if order is None or order.is_done:
            self.to_client(client_id, wire.error(order_id, ErrorCode.CANNOT_FIND_ORDER,
                                                 f"Can't find order with id ={order_id}"))
            return
        self._cancel(order)

    def _cancel(self, order: SimOrder) -> None:
        order.held = False  # a held order cancelled is not resubmitted when the link returns
        order.status = Status.CANCELLED
        order.completed_at = self.now()
        self.journal.write("cancel", order.account, order_id=order.order_id, perm_id=order.perm_id,
                           order_ref=order.order_ref, qty=order.remaining)
        self._status(order)
        self.to_client(order.client_id, wire.error(order.order_id, ErrorCode.ORDER_CANCELLED,
                                                   "Order Canceled - reason:"))

    def expire_day_orders(self) -> int:
        """At the close IB cancels every working DAY order; returns how many."""
        working = [o for o in self.orders.values() if not o.is_done and o.tif in ("DAY", "")]
        for order in working:
            self._cancel(order)
        return len(working)

    def global_cancel(self) -> None:
        """Handle reqGlobalCancel: every working order of every client."""
        for order in list(self.orders.values()):
            if not order.is_done:
                self._cancel(order)

    # --- filling ------------------------------------------------------------------------------------------------
    def _schedule_fill(self, order: SimOrder) -> None:
        """Fill now (immediate mode, or an armed partial fill) or after the configured delay."""
        mode = self.config.fill_mode
        if mode is FillMode.NEVER or order.stalled or order.scheduled or order.is_done or order.held:
            return
        if mode is FillMode.IMMEDIATE or order.partial_once:
            self._fill_now(order)
            return
        if self._marketable(order) is None:
            return  # the sweep schedules it once the market comes to it
        order.scheduled = True
        delay = self.config.fill_delay_s / max(self.speed, 1e-9)
        asyncio.get_running_loop().call_later(delay, self._scheduled_fill, order)

    def _scheduled_fill(self, order: SimOrder) -> None:
        order.scheduled = False
        if self._fill_now(order) is False:
            return

    def sweep(self) -> None:
        """Re-check resting orders against moved prices (called on every market tick)."""
        for order in list(self.orders.values()):
            self._schedule_fill(order)

    def _marketable(self, order: SimOrder) -> Decimal | None:
        return fill_price(order.action, order.order_type, order.limit, self.order_quote(order), self.config.slippage)

    def _fill_now(self, order: SimOrder, announce: bool = True) -> bool:
        if order.is_done or order.held:
            return False
        price = self._marketable(order)
        if price is None:
            return False
        qty = order.remaining
        if order.partial_once:
            # The armed partial fill: half now, and the rest stalls until the order is modified.
            qty = max(1, qty // 2)
            order.partial_once = False
            order.stalled = qty < order.remaining
        elif self.config.fill_mode is FillMode.PARTIAL:
            qty = 1
        self._execute(order, qty, price)
        if announce:
            if order.is_done:
                self._open_and_status(order)
            else:
                self._status(order)
        if self.config.fill_mode in (FillMode.PARTIAL, FillMode.DELAYED):
            self._schedule_fill(order)
        return True

    def _execute(self, order: SimOrder, qty: int, combo_price: Decimal) -> None:
        legs = order.instrument_legs()
        prices = leg_prices(legs, lambda leg: self.quote(leg.listing), combo_price) if order.is_combo else [combo_price]
        order.record_fill(qty, combo_price)
        if order.is_done:
            order.completed_at = self.now()
        acct = self.accounts[order.account]
        charges, order.commission_rated = fill_commissions(
            [LegExecution(leg.listing, qty * leg.ratio, price) for leg, price in zip(legs, prices, strict=True)],
            self.config.commission_per_contract, order.commission_rated, order.commission_charged)
        order.commission_charged += sum(charges, Decimal(0))
        for leg, price, commission in zip(legs, prices, charges, strict=True):
            leg_qty = qty * leg.ratio
            signed = leg_qty * leg.sign() * order.direction()
            realized = acct.apply_trade(leg.listing, signed, price, commission)
            self.chain.remember(leg.listing)
            self._exec_seq += 1
            fill = Fill(
                exec_id=f"{order.perm_id:08x}.{self._exec_seq:08x}.01.01",
                order_id=order.order_id, client_id=order.client_id, perm_id=order.perm_id, account=order.account,
                listing=leg.listing, side="BOT" if signed > 0 else "SLD", shares=leg_qty, price=price,
                cum_qty=order.filled * leg.ratio, avg_price=price, order_ref=order.order_ref, time=self.now(),
                commission=commission, realized_pnl=realized + commission if realized + commission else None,
            )
            self.fills.append(fill)
            self.journal.write("fill", order.account, order_id=order.order_id, perm_id=order.perm_id,
                               order_ref=order.order_ref, exec_id=fill.exec_id, action=leg.action if
                               order.direction() > 0 else ("SELL" if leg.action == "BUY" else "BUY"),
                               qty=leg_qty, price=price, combo_price=combo_price, commission=commission,
                               sec_type=leg.listing.sec_type,
                               legs=[{"con_id": leg.listing.con_id, "symbol": leg.listing.symbol,
                                      "expiry": leg.listing.expiry, "strike": leg.listing.strike,
                                      "right": leg.listing.right, "action": leg.action, "ratio": leg.ratio}])
            self.to_client(order.client_id, wire_orders.exec_details(-1, fill))
            self.to_client(order.client_id, wire_orders.commission_report(fill))
        self._notify_account(order.account)
