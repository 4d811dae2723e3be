"""The wire under a simulated broker connection: pacing, message order, acknowledgement waits, event delivery.

``SimSession`` is to ``faultsim.broker.SimBroker`` what ``executor.ib.session.IBSession`` is to the real adapter:
the session bookkeeping every operation shares. Messages each way are delivered strictly in order (a late
message holds up the ones behind it, as on a socket); a closed socket fails every waiter at once; events reach the
listener on the loop, in the context of the process that owns the connection, and never after it died.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

from executor import broker as contract
from executor.broker import (
    ACK_STATUSES,
    AckTimeout,
    BrokerDisconnected,
    BrokerListener,
    Combo,
    Execution,
    OrderAck,
    OrderRejected,
    OrderRequest,
    OrderUpdate,
)
from spreadpilot.models import Right

if TYPE_CHECKING:
    from faultsim.gateway import BookOrder, SimGateway
    from faultsim.vloop import VirtualLoop

T = TypeVar("T")
RATE_PER_S = 45
HANG = object()  # a request the gateway never answers


@dataclass(frozen=True)
class BrokerInjection:
    """What the fault plan does to one broker call."""

    drop: bool = False  # the order never reaches the book
    ack: str = "normal"  # normal | lost | late
    exec_first: bool = False  # executions before the acknowledgement
    hang: bool = False  # the request is never answered
    missing: bool = False  # a quote without a price
    refuse: bool = False  # a modify refused with 201, the order stays live
    kill_before: Callable[[], None] | None = None  # the calling process dies before the message goes out
    kill_after: Callable[[], None] | None = None  # … or right after the gateway got it


BrokerFaults = Callable[[str, str, str], BrokerInjection | None]  # (gateway id, op, pid) → injection


@dataclass
class Trade:
    order_ref: str
    order_id: int
    perm_id: int
    client_id: int
    request: OrderRequest
    done: bool = False  # ib_async's local view: done after a final status, or after an order error (201, 103)


def con_id_of(strike: Decimal, right: Right) -> int:
    """A stable conId per listed option."""
    return 700_000_000 + int(strike * 10) * 10 + (1 if right is Right.PUT else 2)


def option_of(con_id: int) -> tuple[Right, Decimal]:
    """The right and strike of a conId ``con_id_of`` made."""
    n = con_id - 700_000_000
    return (Right.PUT if n % 10 == 1 else Right.CALL), Decimal(n // 10) / 10


class SimSession:
    """One process's connection to one ``SimGateway``: the shared session machinery."""

    def __init__(self, gateway: SimGateway, client_id: int, pid: str, loop: VirtualLoop, *, ack_timeout_s: float,
                 faults: BrokerFaults, sent: list[dict[str, Any]]) -> None:
        self.gateway = gateway
        self.client_id = client_id
        self.pid = pid
        self.loop = loop
        self.ack_timeout_s = ack_timeout_s
        self.faults = faults
        self.sent = sent  # order messages that left this client (shared by the run: the invariants read it)
        self.listener = BrokerListener()
        self.connected = False
        self.generation = 0
        self.next_id = 1
        self.message_times: list[float] = []
        self._slots: deque[float] = deque(maxlen=RATE_PER_S)
        self._up_at = 0.0  # FIFO on the wire, each direction
        self._down_at = 0.0
        self._trades: dict[str, Trade] = {}
        self._waiters: dict[int, asyncio.Future[OrderAck]] = {}
        self._pending: set[asyncio.Future[Any]] = set()
        self._ctx = loop.context_of(pid)
        self._market_timeout: type[Exception] = getattr(contract, "MarketDataTimeout", AckTimeout)
        self._not_modifiable: type[Exception] | None = getattr(contract, "NotModifiable", None)
        self._outcome_unknown: type[Exception] = getattr(contract, "OutcomeUnknown", AckTimeout)

    def set_listener(self, listener: BrokerListener) -> None:
        """Where updates go."""
        self.listener = listener

    def is_connected(self) -> bool:
        """True while the socket is up."""
        return self.connected

    # ── from the gateway (scheduled in order, delivered on the loop as this process) ───────────────────────────
    def push_ack(self, order: BookOrder, late: bool = False) -> None:
        """openOrder + orderStatus(Submitted) for ``order``."""
        update = self.gateway.update(order, self)
        # a late ack holds up everything behind it on the socket, as a slow gateway would
        delay = self.ack_timeout_s + self.loop.rng.uniform(0.1, 2.0) if late else 0.0
        self._from_gateway(self._on_status, update, 0, "", delay=delay)

    def push_status(self, update: OrderUpdate, code: int = 0, message: str = "") -> None:
        """An orderStatus (``code`` 201: ib_async's rejection of the order or of its modification)."""
        self._from_gateway(self._on_status, update, code, message)

    def push_execution(self, execution: Execution, delay: float = 0.0) -> None:
        """execDetails (commission 0) or a commission report (the execution again, with its commission)."""
        self._from_gateway(self._on_execution, execution, delay=delay)

    def push_error(self, order_id: int, code: int) -> None:
        """An order error (e.g. 103): ib_async marks the trade done locally; nothing reaches the listener."""
        self._from_gateway(self._on_order_error, order_id, code)

    def push_code(self, code: int, message: str) -> None:
        """A connectivity error code (1100/1101/1102)."""
        self._from_gateway(self.listener_code, code, message)

    def listener_code(self, code: int, message: str) -> None:
        """Deliver a connectivity code to the listener."""
        self.listener.on_connection(code, message)

    def socket_closed(self) -> None:
        """The gateway closed the socket: every waiter fails, the listener hears of it on the loop."""
        if not self.connected:
            return
        self._close()
        self.loop.call_soon(self._deliver_disconnect, context=self._ctx)

    def abandon(self) -> None:
        """The process died: the OS closes its socket; nobody is listening any more (its waiters never finish)."""
        if self.connected:
            self._close(fail_waiters=False)

    # ── internals ───────────────────────────────────────────────────────────────────────────────────────────────
    def _deliver_disconnect(self) -> None:
        if self.pid not in self.loop.dead:
            self.listener.on_disconnected()

    def _close(self, fail_waiters: bool = True) -> None:
        self.connected = False
        self.generation += 1
        if self in self.gateway.sessions:
            self.gateway.sessions.remove(self)
        for future in [*self._waiters.values(), *self._pending] if fail_waiters else []:
            if not future.done():
                future.set_exception(BrokerDisconnected(f"{self.gateway.gateway_id}: socket closed"))
        self._trades.clear()  # ib_async forgets them too; the next truth fetch brings them back

    def _require(self) -> None:
        if not self.connected:
            raise BrokerDisconnected(f"{self.gateway.gateway_id}: not connected")

    def _may_send(self) -> None:
        may_send = getattr(self.listener, "may_send", None)
        if may_send is not None and not may_send():
            raise BrokerDisconnected(f"{self.gateway.gateway_id}: not reconciled; message not sent")

    def _known(self, order_ref: str) -> Trade:
        trade = self._trades.get(order_ref)
        if trade is None:
            raise BrokerDisconnected(f"{self.gateway.gateway_id}: {order_ref} unknown to this session; reconcile first")
        return trade

    def _take_id(self) -> int:
        order_id = self.next_id
        self.next_id += 1
        return order_id

    def _injection(self, op: str) -> BrokerInjection | None:
        return self.faults(self.gateway.gateway_id, op, self.pid)

    def _note_sent(self, op: str, order_ref: str, order_id: int, *, dropped: bool) -> None:
        self.sent.append({"t": round(self.loop.time(), 6), "gateway": self.gateway.gateway_id, "pid": self.pid,
                          "client_id": self.client_id, "op": op, "order_ref": order_ref, "order_id": order_id,
                          "dropped": dropped})

    async def _slot(self, messages: int = 1) -> None:
        """Reserve pacing slots (FIFO, 45 per virtual second) and wait for the last one."""
        now = self.loop.time()
        at = now
        for _ in range(messages):
            at = max(now, self._slots[0] + 1.0) if len(self._slots) == RATE_PER_S else now
            at = max(at, self._slots[-1]) if self._slots else at
            self._slots.append(at)
            self.message_times.append(at)
        if at > now:
            await asyncio.sleep(at - now)

    def _to_gateway(self, arrive: Callable[[], None]) -> None:
        generation = self.generation
        # strictly later than the previous message: timers due at the same instant may run in any order
        at = max(self.loop.time() + self.loop.rng.uniform(0.001, 0.008), self._up_at + 1e-6)
        self._up_at = at

        def deliver() -> None:
            if self.connected and self.generation == generation and self.gateway.up:
                arrive()

        self.loop.call_at(at, deliver)

    def _from_gateway(self, handler: Callable[..., None], *args: Any, delay: float = 0.0) -> None:
        generation = self.generation
        at = max(self.loop.time() + self.loop.rng.uniform(0.001, 0.008) + delay, self._down_at + 1e-6)
        self._down_at = at

        def deliver() -> None:
            if self.connected and self.generation == generation and self.pid not in self.loop.dead:
                handler(*args)

        self.loop.call_at(at, deliver, context=self._ctx)

    async def _call(self, what: str, messages: int, answer: Callable[[], Any],
                    timeout_error: type[Exception] = AckTimeout, hang: bool = False) -> Any:
        """A request that the gateway answers (or, hanging, never does), within ``ack_timeout_s``."""
        self._require()
        future: asyncio.Future[Any] = self.loop.create_future()
        self._pending.add(future)

        async def request() -> Any:
            await self._slot(messages)
            self._require()

            def arrive() -> None:
                result = HANG if hang else answer()
                if result is not HANG:
                    self._from_gateway(_settle, future, result)

            self._to_gateway(arrive)
            return await future

        try:
            return await asyncio.wait_for(request(), self.ack_timeout_s)
        except TimeoutError as exc:
            if not self.connected:
                raise BrokerDisconnected(f"{self.gateway.gateway_id}: {what}: disconnected") from exc
            raise timeout_error(f"{self.gateway.gateway_id}: {what}: no answer in {self.ack_timeout_s} s") from exc
        finally:
            self._pending.discard(future)

    def _arrive_place(self, order_id: int, request: OrderRequest, injection: BrokerInjection) -> None:
        if injection.drop:
            self.gateway.write("fault", request.account, kind="broker.order_dropped", order_ref=request.order_ref,
                               order_id=order_id)
            return
        self.gateway.place(self, order_id, request, exec_first=injection.exec_first, ack=injection.ack)

    async def _send_order(self, order_id: int, what: str, injection: BrokerInjection,
                          arrive: Callable[[], None]) -> OrderAck:
        waiter: asyncio.Future[OrderAck] = self.loop.create_future()
        self._waiters[order_id] = waiter

        def arrive_then() -> None:
            arrive()
            if injection.kill_after is not None:
                injection.kill_after()

        self._to_gateway(arrive_then)
        try:
            return await asyncio.wait_for(waiter, self.ack_timeout_s)
        except TimeoutError as exc:
            if not self.connected:
                raise BrokerDisconnected(f"{self.gateway.gateway_id}: disconnected before the {what} ack") from exc
            raise AckTimeout(f"{self.gateway.gateway_id}: no {what} ack for order {order_id}") from exc
        finally:
            if self._waiters.get(order_id) is waiter:
                del self._waiters[order_id]

    def _on_status(self, update: OrderUpdate, code: int, message: str) -> None:
        waiter = self._waiters.get(update.order_id)
        status = "Inactive" if code == 201 else update.status
        if waiter is not None and not waiter.done():
            if status in ACK_STATUSES:
                waiter.set_result(OrderAck(update.order_ref, update.order_id, update.perm_id, status))
            elif status in contract.DONE_STATUSES:
                waiter.set_exception(OrderRejected(message or f"order {status.lower()} by the broker"))
        trade = self._trades.get(update.order_ref)
        if trade is not None and trade.order_id == update.order_id and status in contract.DONE_STATUSES:
            trade.done = True
        if status in ("PendingSubmit", "PendingCancel"):
            return
        if update.order_ref:
            self.listener.on_order(OrderUpdate(update.order_ref, update.account, update.order_id, update.perm_id,
                                               status, update.filled, update.remaining, update.limit, message))

    def _on_order_error(self, order_id: int, code: int) -> None:
        for trade in self._trades.values():
            if trade.order_id == order_id:
                trade.done = True

    def _on_execution(self, execution: Execution) -> None:
        if execution.order_ref:
            self.listener.on_execution(execution)


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def request_of(order: BookOrder) -> OrderRequest:
    return OrderRequest(order.order_ref, order.account, Combo("QQQ", order.legs), order.action, order.qty,
                        order.limit)
