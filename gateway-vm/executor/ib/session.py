"""One ``ib_async.IB`` session: connect, the truth fetch, acknowledgements and the events ib_async raises.

``IBSession`` is the base that ``orders.EntryOrders`` and ``lifecycle.LifecycleOperations`` build on; the quirks it
handles are listed in the package docstring.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import TypeVar

from ib_async import IB, AccountValue, Contract, StartupFetch, Trade
from ib_async import Fill as IBFill

from executor.broker import (
    ACK_STATUSES,
    DONE_STATUSES,
    AccountState,
    AckTimeout,
    BrokerDisconnected,
    BrokerListener,
    BrokerTruth,
    HeldPosition,
    MarketDataTimeout,
    NotModifiable,
    OrderAck,
    OrderRejected,
    OrderUpdate,
    OutcomeUnknown,
)
from executor.farms import FARM_CODES
from executor.ib.codes import CONNECTIVITY_LINK, REFUSALS, Kind, classify
from executor.ib.convert import completed_update, decimal_or_none, execution, expiry_of, order_update, right_of
from executor.throttle import MessageBudget

log = logging.getLogger(__name__)
T = TypeVar("T")


class IBSession:
    """The connection to one gateway and the order bookkeeping every operation shares."""

    def __init__(self, gateway_id: str, host: str, port: int, client_id: int, *, connect_timeout_s: float = 10.0,
                 ack_timeout_s: float = 10.0, symbols: frozenset[str] = frozenset({"QQQ"})) -> None:
        self.gateway_id = gateway_id
        self.symbols = symbols  # the underlyings traded (the allowed tickers): the lifecycle follows these only
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
        # account → tag → value, from the account-summary subscription (read per follower: a lookup, not a scan)
        self._funds: dict[str, dict[str, str]] = {}
        self._account_updates: set[str] = set()  # accounts with an account-updates subscription in this session
        self._stocks: dict[str, Contract] = {}  # each underlying, qualified once (per session object) for quotes
        self.ib.accountSummaryEvent += self._on_summary
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
        self._funds.clear()  # the new session's subscription brings them again (ib_async resets its own copy too)
        self._account_updates.clear()
        try:
            await self.ib.connectAsync(self.host, self.port, clientId=self.client_id,
                                       timeout=self.connect_timeout_s, fetchFields=StartupFetch(0))
        except (OSError, TimeoutError, ConnectionError) as exc:
            raise BrokerDisconnected(f"{self.gateway_id}: connect failed: {exc!r}") from exc
        try:  # one account-summary subscription per session keeps every account's funds current
            await self._call(self.ib.reqAccountSummaryAsync(), "account summary", MarketDataTimeout)
        except MarketDataTimeout:
            log.warning("account summary not answered; margin falls back to what-if",
                        extra={"gateway_id": self.gateway_id})
        return list(self.ib.managedAccounts())

    def account_state(self, account: str) -> AccountState | None:
        """Funds from the account-summary subscription and positions from the position stream (no request)."""
        values = self._funds.get(account, {})
        available = decimal_or_none(values.get("AvailableFunds"))
        excess = decimal_or_none(values.get("ExcessLiquidity"))
        if available is None or excess is None:
            return None
        held = any(p.position for p in self.ib.positions(account))
        return AccountState(available_funds=available, excess_liquidity=excess, holds_positions=held)

    def _on_summary(self, value: AccountValue) -> None:
        self._funds.setdefault(value.account, {})[value.tag] = value.value

    async def disconnect(self) -> None:
        """Close the socket."""
        self.ib.disconnect()

    def _require(self) -> None:
        if not self.ib.isConnected():
            raise BrokerDisconnected(f"{self.gateway_id}: not connected")

    async def _call(self, awaitable: Awaitable[T], what: str,
                    timeout_error: type[AckTimeout] | type[MarketDataTimeout] = AckTimeout) -> T:
        """Await a request with a hard timeout (ib_async's own ``RequestTimeout`` defaults to none)."""
        self._require()
        try:
            return await asyncio.wait_for(awaitable, self.ack_timeout_s)
        except ConnectionError as exc:
            raise BrokerDisconnected(f"{self.gateway_id}: {what}: {exc!r}") from exc
        except TimeoutError as exc:
            if not self.ib.isConnected():
                raise BrokerDisconnected(f"{self.gateway_id}: {what}: disconnected") from exc
            raise timeout_error(f"{self.gateway_id}: {what}: no answer in {self.ack_timeout_s} s") from exc

    async def _slot(self) -> None:
        """Wait for the message budget, then make sure the gateway may still be sent to (it may have reconnected,
        unreconciled, while this message waited)."""
        await self.budget.slot()
        self._require()
        if not self.listener.may_send():
            raise BrokerDisconnected(f"{self.gateway_id}: not reconciled since the last reconnect")

    def _changeable(self, order_ref: str) -> Trade:
        """The trade of a working order this client may modify or cancel."""
        trade = self._known(order_ref)
        if not trade.order.orderId or (trade.order.clientId and trade.order.clientId != self.client_id):
            # placing it again would send a NEW order (id 0), or be refused with 10147 (another client's)
            raise NotModifiable(f"{order_ref} was placed by another client (order id {trade.order.orderId}, "
                                f"client {trade.order.clientId})")
        if trade.isDone():
            # ib_async marks an order done locally after an error; placing it again asserts. Broker truth decides.
            raise OutcomeUnknown(f"{order_ref} is {trade.orderStatus.status} in the local view")
        return trade

    async def truth(self) -> BrokerTruth:
        """Positions, open orders (all clients), completed API orders, executions; raise the next order id.
        Positions first: whatever fills meanwhile is then among the executions, so every position held is explained
        by the day's executions (``executor.foreign``), never seen before the trade that made it."""
        positions = await self._call(self.ib.reqPositionsAsync(), "positions")
        open_trades = await self._call(self.ib.reqAllOpenOrdersAsync(), "open orders")
        completed = await self._call(self.ib.reqCompletedOrdersAsync(apiOnly=True), "completed orders")
        fills = await self._call(self.ib.reqExecutionsAsync(), "executions")
        opened = []
        for trade in open_trades:  # with an orderRef or without: foreign activity is looked for there too
            if trade.order.orderRef:
                self._trades[trade.order.orderRef] = trade
            opened.append(self._update(trade))
        done = [completed_update(t) for t in completed if t.order.orderRef]
        executions = [execution(f) for f in fills]
        ids = [t.order.orderId for t in (*open_trades, *completed)] + [f.execution.orderId for f in fills]
        max_id = max([0, *ids])
        self.ib.client.updateReqId(max_id + 1)  # type: ignore[no-untyped-call]  # ib_async leaves it untyped
        held = [HeldPosition(p.account, p.contract.conId, int(p.position), p.contract.secType,
                             right_of(p.contract.right), decimal_or_none(p.contract.strike), expiry_of(p.contract),
                             p.contract.symbol)
                for p in positions if p.position]
        return BrokerTruth(tuple(opened), tuple(done), tuple(executions), tuple(held), max_id)

    def _known(self, order_ref: str) -> Trade:
        trade = self._trades.get(order_ref)
        if trade is None:
            raise BrokerDisconnected(f"{self.gateway_id}: {order_ref} unknown to this session; reconcile first")
        return trade

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

    def _update(self, trade: Trade, status: str | None = None) -> OrderUpdate:
        return order_update(trade, status, self._errors.get(trade.order.orderId, ""))

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
        refused = code in REFUSALS and trade.orderStatus.status != "ValidationError"
        if code and not refused:
            # ib_async's local guess after an error (e.g. 103), or a warning on a live order (110 or 321 on a
            # modify): the order may well be live or filled; ``_on_error`` settles a pending acknowledgement
            return
        if refused:
            # ib_async reports the order's end before the error that ended it: keep the broker's reason now
            assert last is not None
            self._errors[trade.order.orderId] = f"{code}: {last.message.split(': ', 1)[-1]}"
        status = "Inactive" if refused else trade.orderStatus.status
        self._resolve(trade, status)
        if status in ("PendingSubmit", "PendingCancel", "ValidationError"):
            return
        self.listener.on_order(self._update(trade, status))

    def _on_exec(self, trade: Trade, fill: IBFill) -> None:
        if fill.execution.orderRef:
            self.listener.on_execution(execution(fill))

    def _on_commission(self, trade: Trade, fill: IBFill, report: object) -> None:
        # IB reports the commission after the execution: pass the execution again, now with it
        if fill.execution.orderRef:
            self.listener.on_execution(execution(fill))

    def _on_error(self, req_id: int, code: int, message: str, contract: object) -> None:
        """Every IB code through the catalogue (``executor.ib.codes``); one on a pending placement or modify ends
        it: refused (terminal), or in doubt (anything else that is not informational, unknown codes included)."""
        known = classify(code)
        if code in CONNECTIVITY_LINK:
            self.listener.on_connection(code, message)
            return
        if code in FARM_CODES:
            self.listener.on_farm(code, message)
        level = logging.INFO if known.kind is Kind.INFORMATIONAL else logging.WARNING
        log.log(level, "IB message", extra={"gateway_id": self.gateway_id, "req_id": req_id, "code": code,
                                            "kind": known.label,
                                            "ib_message": message})
        if req_id <= 0:
            return
        self._errors[req_id] = f"{code}: {message}"
        waiter = self._waiters.get(req_id)
        if waiter is None or waiter.done() or known.kind is Kind.INFORMATIONAL:
            return
        if known.kind is Kind.TERMINAL:
            waiter.set_exception(OrderRejected(f"{code}: {message}"))
        else:  # never resent blind: reconciliation reads what the broker has
            waiter.set_exception(OutcomeUnknown(f"{code}: {message} ({known.label} code)"))

    def _on_disconnected(self) -> None:
        for waiter in self._waiters.values():
            if not waiter.done():
                waiter.set_exception(BrokerDisconnected(f"{self.gateway_id}: socket closed"))
        self._trades.clear()  # ib_async forgot them too; the next truth fetch brings them back
        self.listener.on_disconnected()
