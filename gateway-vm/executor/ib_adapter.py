"""The real broker: one ``ib_async.IB`` session per gateway (the only module that imports ``ib_async``).

Why ``ib_async``: it is the maintained continuation of ``ib_insync`` with the same API (``IB``, ``Option``,
``Contract``, ``ComboLeg``, ``LimitOrder``, events). ``ib_insync`` 0.9.86 is frozen since 2024 and stops at Python
3.11; ``ib_async`` fixes what-if and phantom-order bugs and returns ``None`` per contract it cannot qualify. It is
asyncio-native, so every call here is an ``*Async`` method or a non-blocking send on the service's one loop (no
``ib.sleep``, ``util.run`` or ``nest_asyncio``). It throttles outgoing messages to 45/s per connection (IB allows
50), which is what spaces a large fan-out on one advisor connection.

IB quirks handled here:
- ``orderRef`` (= the intent id) is how orders are matched; order ids roll back after a gateway restart, so after
  every truth fetch the next order id is raised above every id the broker reported (else a new order would reuse
  an old id and IB would treat it as a modify).
- ib_async marks an order "Cancelled" locally on any non-warning error for its id (e.g. 103 after a modify of a
  just-filled order); only the broker's own statuses and a 201 rejection are passed on, never those guesses.
- Executions (per leg) can arrive before ``openOrder``; they are passed on keyed by ``orderRef`` as they come.
- Quotes are snapshots (``reqTickersAsync``), so after 1101 "data lost" there is no subscription to renew.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TypeVar

from ib_async import IB, ComboLeg, Contract, LimitOrder, MarketOrder, Option, OrderState, StartupFetch, Stock, Trade
from ib_async import Fill as IBFill
from ib_async.util import UNSET_DOUBLE

from executor.broker import (
    ACK_STATUSES,
    DONE_STATUSES,
    AckTimeout,
    BrokerDisconnected,
    BrokerListener,
    BrokerTruth,
    Combo,
    ComboLegSpec,
    ComboQuote,
    Execution,
    HeldPosition,
    Margin,
    OrderAck,
    OrderRejected,
    OrderRequest,
    OrderUpdate,
)
from executor.lifecycle.ports import AccountPnL, ComboOrder, LegQuote, SingleOrder
from executor.pricing import to_cents
from executor.throttle import MessageBudget
from spreadpilot.errors import Rejected
from spreadpilot.models import Right

log = logging.getLogger(__name__)
T = TypeVar("T")
UNSET = 1.0e300  # IB's "no value" is 1.7976931348623157E308
REJECT_CODES = frozenset({201, 203})
CONNECTIVITY_CODES = frozenset({1100, 1101, 1102})


def _dec(value: object) -> Decimal | None:
    try:
        number = float(str(value))
    except ValueError:
        return None
    if math.isnan(number) or abs(number) >= UNSET:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _price(value: float) -> Decimal | None:
    return None if value is None or math.isnan(value) or value < 0 or value >= UNSET else Decimal(str(value))


class IBBroker:
    """``Broker`` over one ib_async session."""

    def __init__(self, gateway_id: str, host: str, port: int, client_id: int, *, connect_timeout_s: float = 10.0,
                 ack_timeout_s: float = 10.0) -> None:
        self.gateway_id = gateway_id
        self.host, self.port, self.client_id = host, port, client_id
        self.connect_timeout_s = connect_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self.listener = BrokerListener()
        # Our budget (44/s) stays under ib_async's own throttle (45/s), which also counts our few other requests.
        self.budget = MessageBudget(rate=44)
        self.ib = IB()
        self._trades: dict[str, Trade] = {}
        self._waiters: dict[int, asyncio.Future[OrderAck]] = {}
        self._errors: dict[int, str] = {}
        self._stock: Contract | None = None  # QQQ, qualified once for underlying quotes
        self.ib.orderStatusEvent += self._on_status
        self.ib.openOrderEvent += self._on_open_order
        self.ib.execDetailsEvent += self._on_exec
        self.ib.commissionReportEvent += self._on_commission
        self.ib.errorEvent += self._on_error
        self.ib.disconnectedEvent += self._on_disconnected

    def set_listener(self, listener: BrokerListener) -> None:
        """Where updates go."""
        self.listener = listener

    def is_connected(self) -> bool:
        """True while the API session is up."""
        return bool(self.ib.isConnected())

    async def connect(self) -> list[str]:
        """Connect (the truth fetch afterwards syncs orders and executions, so start-up fetches only positions)."""
        try:
            await self.ib.connectAsync(self.host, self.port, clientId=self.client_id,
                                       timeout=self.connect_timeout_s, fetchFields=StartupFetch(0))
        except (OSError, TimeoutError, ConnectionError) as exc:
            raise BrokerDisconnected(f"{self.gateway_id}: connect failed: {exc!r}") from exc
        return list(self.ib.managedAccounts())

    async def disconnect(self) -> None:
        """Close the socket."""
        self.ib.disconnect()

    def _require(self) -> None:
        if not self.ib.isConnected():
            raise BrokerDisconnected(f"{self.gateway_id}: not connected")

    async def _call(self, awaitable: Awaitable[T], what: str) -> T:
        self._require()
        try:
            return await asyncio.wait_for(awaitable, self.ack_timeout_s)
        except ConnectionError as exc:
            raise BrokerDisconnected(f"{self.gateway_id}: {what}: {exc!r}") from exc
        except TimeoutError as exc:
            if not self.ib.isConnected():
                raise BrokerDisconnected(f"{self.gateway_id}: {what}: disconnected") from exc
            raise AckTimeout(f"{self.gateway_id}: {what}: no answer in {self.ack_timeout_s} s") from exc

    async def truth(self) -> BrokerTruth:
        """Open orders (all clients), completed API orders, executions, positions; raise the next order id."""
        open_trades = await self._call(self.ib.reqAllOpenOrdersAsync(), "open orders")
        completed = await self._call(self.ib.reqCompletedOrdersAsync(apiOnly=True), "completed orders")
        fills = await self._call(self.ib.reqExecutionsAsync(), "executions")
        positions = await self._call(self.ib.reqPositionsAsync(), "positions")
        opened = []
        for trade in open_trades:
            if trade.order.orderRef:
                self._trades[trade.order.orderRef] = trade
                opened.append(self._update(trade))
        done = [self._completed(t) for t in completed if t.order.orderRef]
        executions = [self._execution(f) for f in fills]
        ids = [t.order.orderId for t in (*open_trades, *completed)] + [f.execution.orderId for f in fills]
        max_id = max([0, *ids])
        self.ib.client.updateReqId(max_id + 1)  # type: ignore[no-untyped-call]  # ib_async leaves it untyped
        held = [HeldPosition(p.account, p.contract.conId, int(p.position), p.contract.secType,
                             _right(p.contract.right), _dec(p.contract.strike), _expiry(p.contract))
                for p in positions if p.position]
        return BrokerTruth(tuple(opened), tuple(done), tuple(executions), tuple(held), max_id)

    async def qualify(self, symbol: str, expiry: date, right: Right, short_strike: Decimal,
                      long_strike: Decimal) -> Combo:
        """Qualify both legs (one slot per leg; ``None`` = not listed)."""
        legs = [Option(symbol, f"{expiry:%Y%m%d}", float(k), str(right), "SMART", tradingClass=symbol)
                for k in (short_strike, long_strike)]
        result = await self._call(self.ib.qualifyContractsAsync(*legs), "qualify")
        qualified = [c for c in result if isinstance(c, Contract) and c.conId]  # None / list = not one listing
        if len(qualified) != 2:
            raise Rejected(f"{symbol} {expiry} {right} {short_strike}/{long_strike} is not listed")
        short, long_ = qualified
        return Combo(symbol, (ComboLegSpec(short.conId, "SELL", right, short_strike, expiry),
                              ComboLegSpec(long_.conId, "BUY", right, long_strike, expiry)))

    async def quote(self, combo: Combo) -> ComboQuote | None:
        """The combo quote from both legs' snapshot quotes (BUY price: bought legs − sold legs)."""
        contracts = [Option(conId=leg.con_id, exchange="SMART") for leg in combo.legs]
        tickers = await self._call(self.ib.reqTickersAsync(*contracts), "quote")
        by_con = {t.contract.conId: t for t in tickers if t.contract is not None}
        bid = ask = Decimal(0)
        for leg in combo.legs:
            ticker = by_con.get(leg.con_id)
            leg_bid, leg_ask = (_price(ticker.bid), _price(ticker.ask)) if ticker else (None, None)
            if leg_bid is None or leg_ask is None:
                return None
            if leg.action == "BUY":
                bid, ask = bid + leg_bid, ask + leg_ask
            else:
                bid, ask = bid - leg_ask, ask - leg_bid
        return ComboQuote(bid=to_cents(bid), ask=to_cents(ask), mid=to_cents((bid + ask) / 2))

    def _bag(self, combo: Combo) -> Contract:
        return Contract(secType="BAG", symbol=combo.symbol, exchange="SMART", currency="USD",
                        comboLegs=[ComboLeg(conId=leg.con_id, ratio=leg.ratio, action=leg.action, exchange="SMART")
                                   for leg in combo.legs])

    def _order(self, request: OrderRequest) -> LimitOrder:
        return LimitOrder(request.action, request.qty, float(request.limit), account=request.account,
                          orderRef=request.order_ref, tif="DAY", transmit=True)

    async def what_if(self, request: OrderRequest) -> Margin:
        """What-if margin; unset figures count as zero (the broker still checks margin on the real order)."""
        await self.budget.slot()
        state = await self._call(self.ib.whatIfOrderAsync(self._bag(request.combo), self._order(request)), "what-if")
        if not isinstance(state, OrderState):  # ib_async resolves a failed what-if with no state
            raise OrderRejected(f"what-if refused: {state!r}")
        return Margin(init_margin_change=_dec(state.initMarginChange) or Decimal(0),
                      init_margin_after=_dec(state.initMarginAfter) or Decimal(0),
                      equity_with_loan_after=_dec(state.equityWithLoanAfter) or Decimal(0))

    async def place(self, request: OrderRequest) -> OrderAck:
        """Send a new combo order and wait for the broker's acknowledgement."""
        await self.budget.slot()
        self._require()
        trade = self.ib.placeOrder(self._bag(request.combo), self._order(request))
        self._trades[request.order_ref] = trade
        return await self._ack(trade, "place")

    async def modify(self, order_ref: str, limit: Decimal) -> OrderAck:
        """Send the working order again with a new limit (same order id) and wait for the acknowledgement."""
        await self.budget.slot()
        self._require()
        trade = self._trades.get(order_ref)
        if trade is None:
            raise BrokerDisconnected(f"{self.gateway_id}: {order_ref} unknown to this session; reconcile first")
        trade.order.lmtPrice = float(limit)
        self.ib.placeOrder(trade.contract, trade.order)
        return await self._ack(trade, "modify")

    async def cancel(self, order_ref: str) -> None:
        """Ask for a cancel; the outcome arrives as an order update."""
        await self.budget.slot()
        self._require()
        trade = self._trades.get(order_ref)
        if trade is None:
            raise BrokerDisconnected(f"{self.gateway_id}: {order_ref} unknown to this session; reconcile first")
        self.ib.cancelOrder(trade.order)

    # ── positions through the day (``executor.lifecycle.ports.LifecycleBroker``) ───────────────────────────────
    async def positions(self) -> list[HeldPosition]:
        """Positions as ib_async keeps them live (the truth fetch after each connect subscribed to them)."""
        self._require()
        return [HeldPosition(p.account, p.contract.conId, int(p.position), p.contract.secType,
                             _right(p.contract.right), _dec(p.contract.strike) if p.contract.strike else None,
                             _expiry(p.contract))
                for p in self.ib.positions() if p.position and p.contract.symbol in ("QQQ", "")]

    async def option_quotes(self, con_ids: Sequence[int]) -> dict[int, LegQuote]:
        """Snapshot quotes by conId (contracts without a two-sided quote are left out)."""
        if not con_ids:
            return {}
        contracts = [Option(conId=c, exchange="SMART") for c in con_ids]
        tickers = await self._call(self.ib.reqTickersAsync(*contracts), "leg quotes")
        quotes: dict[int, LegQuote] = {}
        for t in tickers:
            bid, ask = _price(t.bid), _price(t.ask)
            if t.contract is not None and bid is not None and ask is not None:
                quotes[t.contract.conId] = LegQuote(t.contract.conId, bid, ask)
        return quotes

    async def underlying_price(self, symbol: str) -> Decimal | None:
        """The stock's midpoint (else its last price) from a snapshot quote."""
        if self._stock is None:
            qualified = await self._call(self.ib.qualifyContractsAsync(Stock(symbol, "SMART", "USD")), "stock")
            found = [c for c in qualified if isinstance(c, Contract) and c.conId]
            if not found:
                return None
            self._stock = found[0]
        tickers = await self._call(self.ib.reqTickersAsync(self._stock), "underlying quote")
        if not tickers:
            return None
        mid = tickers[0].midpoint()
        return _dec(round(mid, 4)) if mid == mid else _dec(tickers[0].last)  # NaN != NaN

    async def place_combo(self, order: ComboOrder) -> OrderAck:
        """Send a combo limit or market order and wait for the acknowledgement."""
        return await self._send(self._bag(order.combo), order.order_ref, order.account, order.action, order.qty,
                                order.limit)

    async def place_single(self, order: SingleOrder) -> OrderAck:
        """Send an order for one option or the stock and wait for the acknowledgement."""
        contract = (Option(conId=order.con_id, exchange="SMART") if order.sec_type == "OPT"
                    else Contract(conId=order.con_id, secType=order.sec_type, exchange="SMART", currency="USD"))
        return await self._send(contract, order.order_ref, order.account, order.action, order.qty, order.limit)

    async def _send(self, contract: Contract, order_ref: str, account: str, action: str, qty: int,
                    limit: Decimal | None) -> OrderAck:
        await self.budget.slot()
        self._require()
        order = (MarketOrder(action, qty, account=account, orderRef=order_ref, tif="DAY", transmit=True)
                 if limit is None else LimitOrder(action, qty, float(limit), account=account, orderRef=order_ref,
                                                  tif="DAY", transmit=True))
        trade = self.ib.placeOrder(contract, order)
        self._trades[order_ref] = trade
        return await self._ack(trade, "place")

    async def to_market(self, order_ref: str) -> OrderAck:
        """Re-send the working order as a market order (same order id)."""
        await self.budget.slot()
        self._require()
        trade = self._trades.get(order_ref)
        if trade is None:
            raise BrokerDisconnected(f"{self.gateway_id}: {order_ref} unknown to this session; reconcile first")
        trade.order.orderType = "MKT"
        trade.order.lmtPrice = UNSET_DOUBLE
        self.ib.placeOrder(trade.contract, trade.order)
        return await self._ack(trade, "to market")

    async def exercise(self, account: str, con_id: int, qty: int, exchange: str) -> None:
        """``exerciseOptions(contract, exerciseAction=1, exerciseQuantity=qty, account, override=0)``."""
        await self.budget.slot()
        self._require()
        # IB refuses SMART here: the request goes to the option's listing exchange.
        self.ib.exerciseOptions(Option(conId=con_id, exchange=exchange), 1, qty, account, 0)

    async def account_pnl(self, account: str) -> AccountPnL | None:
        """The account's live ``reqPnL`` subscription (started on first use and again after a reconnect)."""
        self._require()
        live = self.ib.pnl(account)
        if not live:
            self.ib.reqPnL(account)
            return None
        pnl = live[0]
        daily, unrealized, realized = _dec(pnl.dailyPnL), _dec(pnl.unrealizedPnL), _dec(pnl.realizedPnL)
        if daily is None:
            return None
        return AccountPnL(daily, unrealized or Decimal(0), realized or Decimal(0))

    async def _ack(self, trade: Trade, what: str) -> OrderAck:
        order_id = trade.order.orderId
        waiter: asyncio.Future[OrderAck] = asyncio.get_running_loop().create_future()
        self._waiters[order_id] = waiter
        try:
            return await asyncio.wait_for(waiter, self.ack_timeout_s)
        except TimeoutError as exc:
            if not self.ib.isConnected():
                raise BrokerDisconnected(f"{self.gateway_id}: disconnected before the {what} ack") from exc
            raise AckTimeout(f"{self.gateway_id}: no {what} ack for order {order_id}") from exc
        finally:
            self._waiters.pop(order_id, None)

    def _resolve(self, trade: Trade, status: str) -> None:
        waiter = self._waiters.get(trade.order.orderId)
        if waiter is None or waiter.done():
            return
        if status in ACK_STATUSES:
            waiter.set_result(OrderAck(trade.order.orderRef, trade.order.orderId, trade.order.permId, status))
        elif status == "Inactive" or status in DONE_STATUSES:
            reason = self._errors.get(trade.order.orderId) or f"order {status.lower()} by the broker"
            waiter.set_exception(OrderRejected(reason))

    # ── events from ib_async (all on the loop) ─────────────────────────────────────────────────────────────────
    def _on_open_order(self, trade: Trade) -> None:
        if trade.order.whatIf or not trade.order.orderRef:
            return
        self._trades.setdefault(trade.order.orderRef, trade)
        status = trade.orderStatus.status if trade.orderStatus.status in ACK_STATUSES else "Submitted"
        self._resolve(trade, status)

    def _on_status(self, trade: Trade) -> None:
        if trade.order.whatIf or not trade.order.orderRef:
            return
        last = trade.log[-1] if trade.log else None
        code = last.errorCode if last is not None else 0
        if code and code not in REJECT_CODES:
            return  # ib_async's local guess after an error (e.g. 103); the order may well be live or filled
        status = "Inactive" if code in REJECT_CODES else trade.orderStatus.status
        self._resolve(trade, status)
        if status in ("PendingSubmit", "PendingCancel", "ValidationError"):
            return
        self.listener.on_order(self._update(trade, status))

    def _on_exec(self, trade: Trade, fill: IBFill) -> None:
        if fill.execution.orderRef:
            self.listener.on_execution(self._execution(fill))

    def _on_commission(self, trade: Trade, fill: IBFill, report: object) -> None:
        # IB reports the commission after the execution: pass the execution again, now with it
        if fill.execution.orderRef:
            self.listener.on_execution(self._execution(fill))

    def _on_error(self, req_id: int, code: int, message: str, contract: object) -> None:
        if code in CONNECTIVITY_CODES:
            self.listener.on_connection(code, message)
        elif req_id > 0:
            self._errors[req_id] = f"{code}: {message}"

    def _on_disconnected(self) -> None:
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(BrokerDisconnected(f"{self.gateway_id}: socket closed"))
        self._trades.clear()  # ib_async forgot them too; the next truth fetch brings them back
        self.listener.on_disconnected()

    # ── conversions ────────────────────────────────────────────────────────────────────────────────────────────
    def _update(self, trade: Trade, status: str | None = None) -> OrderUpdate:
        s = trade.orderStatus
        return OrderUpdate(order_ref=trade.order.orderRef, account=trade.order.account, order_id=trade.order.orderId,
                           perm_id=trade.order.permId or s.permId, status=status or s.status,
                           filled=int(s.filled or 0), remaining=int(s.remaining or 0),
                           limit=_dec(trade.order.lmtPrice), message=self._errors.get(trade.order.orderId, ""))

    def _completed(self, trade: Trade) -> OrderUpdate:
        filled = _dec(trade.order.filledQuantity)
        return OrderUpdate(order_ref=trade.order.orderRef, account=trade.order.account, order_id=trade.order.orderId,
                           perm_id=trade.order.permId, status=trade.orderStatus.status or "Cancelled",
                           filled=int(filled or 0), remaining=0, limit=_dec(trade.order.lmtPrice))

    def _execution(self, fill: IBFill) -> Execution:
        e, c = fill.execution, fill.contract
        at = e.time if isinstance(e.time, datetime) and e.time.tzinfo else datetime.now(UTC)
        return Execution(exec_id=e.execId, order_ref=e.orderRef, account=e.acctNumber, order_id=e.orderId,
                         perm_id=e.permId, con_id=c.conId, sec_type=c.secType, right=_right(c.right),
                         strike=_dec(c.strike) if c.strike else None, expiry=_expiry(c), side=e.side,
                         qty=int(e.shares), price=Decimal(str(e.price)),
                         at=at, commission=_dec(fill.commissionReport.commission) or Decimal(0))


def _right(value: str) -> Right | None:
    return {"P": Right.PUT, "PUT": Right.PUT, "C": Right.CALL, "CALL": Right.CALL}.get((value or "").upper())


def _expiry(contract: Contract) -> date | None:
    text = contract.lastTradeDateOrContractMonth or ""
    try:
        return datetime.strptime(text[:8], "%Y%m%d").replace(tzinfo=UTC).date() if len(text) >= 8 else None
    except ValueError:
        return None
