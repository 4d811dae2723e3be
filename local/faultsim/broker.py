"""One executor process's connection to a simulated gateway: the executor's ``Broker`` Protocol, as the real
adapter (``executor.ib``) behaves over ib_async.

Modelled on ``executor/ib/session.py`` and ``orders.py``:
- every message waits for the connection's pacing budget (45 per virtual second; queued, never dropped); an order
  message takes its slot *before* its acknowledgement clock starts, other requests inside their timeout;
- an order waits ``ack_timeout_s`` for its acknowledgement: none → ``AckTimeout`` while connected,
  ``BrokerDisconnected`` if the socket is gone (a socket that closes fails every waiter at once); a 201 → the
  listener hears ``Inactive`` and the caller gets ``OrderRejected``; error 103/104 → no ack at all;
- qualify, quote, what-if and truth requests time out the same way (``MarketDataTimeout`` instead of
  ``AckTimeout`` for the non-order ones when the executor defines it);
- modify and cancel need the order in the session's map (placed here, or seen in a truth fetch; cleared on
  disconnect) → ``BrokerDisconnected`` otherwise. Re-placing an order another client placed (the truth reports it
  with order id 0) takes a fresh id: a *new* order at the broker — what ib_async does; when the executor defines
  ``NotModifiable`` its adapter refuses instead, and so does this one;
- ``BrokerListener.may_send`` (when the executor has it) is asked right before an order message goes out.
Events reach the listener on the loop (``call_later``), in the order the gateway sent them.

The lifecycle's operations (``executor.lifecycle.ports.LifecycleBroker``) as ``executor.ib.lifecycle`` does them:
positions from the live stream (no request), leg and underlying quotes as paced requests (struck by the quote
faults), closes as paced orders through the same order path as entries (so every order fault strikes them too), a
working close turned to market as a modify, an exercise as one paced message; no P&L subscription.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from executor import broker as contract
from executor.broker import (
    BrokerDisconnected,
    BrokerTruth,
    Combo,
    ComboLegSpec,
    ComboQuote,
    HeldPosition,
    Margin,
    OrderAck,
    OrderRequest,
)
from executor.lifecycle.ports import AccountPnL, ComboOrder, LegQuote, SingleOrder
from faultsim.session import (
    HANG,
    BrokerFaults,
    BrokerInjection,
    SimSession,
    Trade,
    con_id_of,
    option_of,
    request_of,
)
from spreadpilot.errors import Rejected
from spreadpilot.models import Right

__all__ = ["HANG", "BrokerFaults", "BrokerInjection", "SimBroker", "con_id_of"]


class SimBroker(SimSession):
    """A ``Broker`` (the executor's Protocol) over one ``SimGateway``, for one process."""

    async def connect(self) -> list[str]:
        """Open a session (refused while the gateway is down, or while another session holds this client id)."""
        await asyncio.sleep(self.loop.rng.uniform(0.01, 0.05))
        self._injection("connect")
        gw = self.gateway
        if not gw.up or self.pid in self.loop.dead:
            raise BrokerDisconnected(f"{gw.gateway_id}: connect failed: ConnectionRefusedError()")
        if any(s.client_id == self.client_id and s.connected and s is not self for s in gw.sessions):
            gw.ev.trace(f"gw:{gw.gateway_id}", f"error 326 client id {self.client_id} already in use")
            raise BrokerDisconnected(f"{gw.gateway_id}: connect failed: 326 client id {self.client_id} in use")
        self.connected = True
        self.generation += 1
        gw.sessions.append(self)
        self.next_id = gw.next_ids.get(self.client_id, 1)  # nextValidId comes from the gateway's stored sequence
        return list(gw.accounts)

    async def disconnect(self) -> None:
        """Close the socket (ib_async raises its disconnected event at once)."""
        if self.connected:
            self._close()
            self.listener.on_disconnected()

    async def truth(self) -> BrokerTruth:
        """Positions, open orders, completed orders, executions (four requests, in the adapter's order); raise the
        next id above all."""
        gw = self.gateway
        injection = self._injection("truth")
        stuck = self.loop.rng.randrange(4) if injection is not None and injection.hang else -1
        positions = await self._call("positions", 1, gw.positions, hang=stuck == 3)
        opened = await self._call("open orders", 1, lambda: gw.open_orders(self), hang=stuck == 0)
        completed = await self._call("completed orders", 1, lambda: gw.completed_orders(self), hang=stuck == 1)
        executions = await self._call("executions", 1, lambda: gw.execution_list(self), hang=stuck == 2)
        for update in opened:
            if update.order_ref:
                order = gw.orders[update.perm_id]
                self._trades[update.order_ref] = Trade(update.order_ref, update.order_id, update.perm_id,
                                                        order.client_id, request_of(order))
        ids = [u.order_id for u in (*opened, *completed)] + [e.order_id for e in executions]
        max_id = max([0, *ids])
        self.next_id = max(self.next_id, max_id + 1)
        # every open order, with an orderRef or without (foreign activity is looked for there); completed: API ones
        return BrokerTruth(tuple(opened), tuple(u for u in completed if u.order_ref), tuple(executions),
                           tuple(positions), max_id)

    async def qualify(self, symbol: str, expiry: date, right: Right, short_strike: Decimal,
                      long_strike: Decimal) -> Combo:
        """Both legs (two contract-details requests)."""
        def answer() -> Combo:
            return Combo(symbol, (ComboLegSpec(con_id_of(short_strike, right), "SELL", right, short_strike, expiry),
                                  ComboLegSpec(con_id_of(long_strike, right), "BUY", right, long_strike, expiry)))

        injection = self._injection("qualify")
        combo: Combo = await self._call("qualify", 2, answer, timeout_error=self._market_timeout,
                                        hang=bool(injection and injection.hang))
        if not combo.legs:
            raise Rejected(f"{symbol} {expiry} {right} {short_strike}/{long_strike} is not listed")
        return combo

    async def quote(self, combo: Combo) -> ComboQuote | None:
        """Snapshot quotes of both legs, as the combo's quote (None when a leg has no price)."""
        missing = False

        def answer() -> ComboQuote | None:
            return None if missing else self.gateway.quote()

        injection = self._injection("quote")
        missing = bool(injection and injection.missing)
        hang = bool(injection and injection.hang)
        result: ComboQuote | None = await self._call("quote", 2, answer, timeout_error=self._market_timeout,
                                                     hang=hang)
        return result

    def account_state(self, account: str) -> Any:
        """The account subscription's view (a newer executor's ``Broker.account_state``); None before connecting."""
        state = getattr(contract, "AccountState", None)
        if state is None or not self.connected or account not in self.gateway.accounts:
            return None
        funds, held = self.gateway.funds_left(account)
        return state(available_funds=funds, excess_liquidity=funds, holds_positions=held)

    async def what_if(self, request: OrderRequest) -> Margin:
        """A what-if (one placeOrder: a paced message and an order id)."""
        await self._slot()
        self._require()
        if self._not_modifiable is not None:
            self._may_send()  # the newer adapter checks readiness after every budget wait
        injection = self._injection("what_if")
        order_id = self._take_id()
        hang = bool(injection and injection.hang)
        margin: Margin = await self._call("what-if", 0, lambda: self.gateway.what_if(self, order_id, request),
                                          timeout_error=self._market_timeout, hang=hang)
        return margin

    async def place(self, request: OrderRequest) -> OrderAck:
        """Send a new order and wait for its acknowledgement."""
        await self._slot()
        self._require()
        self._may_send()
        injection = self._injection("place") or BrokerInjection()
        if injection.kill_before is not None:
            injection.kill_before()
        order_id = self._take_id()
        self._trades[request.order_ref] = Trade(request.order_ref, order_id, 0, self.client_id, request)
        self._note_sent("place", request.order_ref, order_id, dropped=injection.drop)
        return await self._send_order(order_id, "place", injection, lambda: self._arrive_place(order_id, request,
                                                                                               injection))

    async def modify(self, order_ref: str, limit: Decimal) -> OrderAck:
        """Send a new limit for a working order (same order id) and wait for the acknowledgement."""
        if self._not_modifiable is not None:
            self._changeable(order_ref)
        await self._slot()
        self._require()
        self._may_send()
        trade = self._changeable(order_ref) if self._not_modifiable is not None else self._known(order_ref)
        injection = self._injection("modify") or BrokerInjection()
        if injection.kill_before is not None:
            injection.kill_before()
        if trade.done:
            raise AssertionError(f"ib_async: {order_ref} is done in the local view; placing it again asserts")
        if trade.client_id != self.client_id or not trade.order_id:
            # ib_async re-places the trade under this client: order id 0 takes a fresh id, a new order at IB
            request = OrderRequest(order_ref, trade.request.account, trade.request.combo, trade.request.action,
                                   trade.request.qty, limit)
            order_id = self._take_id()
            self._trades[order_ref] = Trade(order_ref, order_id, 0, self.client_id, request)
            self._note_sent("place", order_ref, order_id, dropped=False)
            return await self._send_order(order_id, "modify", injection,
                                          lambda: self._arrive_place(order_id, request, BrokerInjection()))
        self._note_sent("modify", order_ref, trade.order_id, dropped=False)
        order_id = trade.order_id
        return await self._send_order(order_id, "modify", injection, lambda: self.gateway.modify(
            self, order_id, limit, refuse=injection.refuse))

    async def cancel(self, order_ref: str) -> None:
        """Ask for a cancel; the outcome arrives as an order update."""
        if self._not_modifiable is not None:
            self._changeable(order_ref)
        await self._slot()
        self._require()
        self._may_send()
        trade = self._changeable(order_ref) if self._not_modifiable is not None else self._known(order_ref)
        if trade.client_id != self.client_id or not trade.order_id:
            self.gateway.write("error", trade.request.account, code=10147, order_ref=order_ref,
                               client_id=self.client_id, message="order not found for this client")
            return
        self._note_sent("cancel", order_ref, trade.order_id, dropped=False)
        order_id = trade.order_id
        self._to_gateway(lambda: self.gateway.cancel(self, order_id))

    def _changeable(self, order_ref: str) -> Trade:
        """The newer adapter's check: a working order of this client, not done in the local view."""
        trade = self._known(order_ref)
        if not trade.order_id or trade.client_id != self.client_id:
            assert self._not_modifiable is not None
            raise self._not_modifiable(f"{order_ref} was placed by another client (order id {trade.order_id}, "
                                       f"client {trade.client_id})")
        if trade.done:
            raise self._outcome_unknown(f"{order_ref} is done in the local view")
        return trade


    # ── the lifecycle's operations ────────────────────────────────────────────────────────────────────────────
    async def positions(self, account: str | None = None) -> list[HeldPosition]:
        """What the position stream last said (ib_async keeps it live; no request)."""
        self._require()
        return [p for p in self.gateway.positions() if account is None or p.account == account]

    async def option_quotes(self, con_ids: Sequence[int]) -> dict[int, LegQuote]:
        """Snapshot quotes of options by conId (one request each)."""
        if not con_ids:
            return {}
        market = self.gateway.market

        def answer() -> dict[int, LegQuote]:
            quotes = {}
            for con_id in con_ids:
                right, strike = option_of(con_id)
                mid = market.leg_mid(right, strike)
                quotes[con_id] = LegQuote(con_id, max(Decimal("0.01"), mid - market.width / 2), mid + market.width / 2)
            return quotes

        injection = self._injection("quote")
        if injection is not None and injection.missing:
            return {}
        result: dict[int, LegQuote] = await self._call("leg quotes", len(con_ids), answer,
                                                       timeout_error=self._market_timeout,
                                                       hang=bool(injection and injection.hang))
        return result

    async def underlying_price(self, symbol: str) -> Decimal | None:
        """The underlying's mid."""
        injection = self._injection("quote")
        if injection is not None and injection.missing:
            return None
        price: Decimal = await self._call("underlying quote", 1, lambda: self.gateway.market.underlying,
                                          timeout_error=self._market_timeout, hang=bool(injection and injection.hang))
        return price

    async def place_combo(self, order: ComboOrder) -> OrderAck:
        """A closing combo (marketable: it fills at once unless the link is lost)."""
        return await self.place(OrderRequest(order.order_ref, order.account, order.combo, order.action, order.qty,
                                             order.limit if order.limit is not None else Decimal(0)))

    async def place_single(self, order: SingleOrder) -> OrderAck:
        """One contract (an orphan leg): a one-leg order whose side is the order's."""
        if order.sec_type != "OPT":  # refused as IB refuses a contract it has no definition of (error 200)
            raise Rejected(f"{order.sec_type} {order.con_id}: no security definition on the simulated gateway "
                           "(its accounts trade the day's options only)")
        right, strike = option_of(order.con_id)
        expiry = next((p.expiry for p in self.gateway.positions()
                       if p.con_id == order.con_id and p.expiry is not None), None)
        if expiry is None:
            raise BrokerDisconnected(f"{self.gateway.gateway_id}: no position in {order.con_id} to take its expiry")
        leg = ComboLegSpec(order.con_id, "BUY", right, strike, expiry)
        return await self.place(OrderRequest(order.order_ref, order.account, Combo("QQQ", (leg,)), order.action,
                                             order.qty, order.limit if order.limit is not None else Decimal(0)))

    async def to_market(self, order_ref: str) -> OrderAck:
        """The working order again as a market order (same order id): a modify."""
        trade = self._known(order_ref)
        return await self.modify(order_ref, trade.request.limit)

    async def exercise(self, account: str, con_id: int, qty: int, exchange: str) -> None:
        """One paced message; IB settles it after the close (nothing changes in the account today)."""
        await self._slot()
        self._require()
        self._to_gateway(lambda: self.gateway.write("exercise", account, con_id=con_id, qty=qty, exchange=exchange))

    async def post_expiry_excess(self, account: str) -> Decimal | None:
        """Not projected by this simulator (ibsim projects it): never reported, so the post-expiry rule stays idle."""
        self._require()
        return None

    async def account_pnl(self, account: str) -> AccountPnL | None:
        """The account's P&L today from the gateway's marks (``reqPnL`` is a subscription: no request per read);
        None while the link to IB is lost (no updates come) or before the first update."""
        self._require()
        if self.gateway.link_lost:
            return None
        realized, unrealized = self.gateway.daily_pnl(account)
        return AccountPnL(realized + unrealized, unrealized, realized)
