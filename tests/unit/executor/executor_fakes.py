"""In-memory stand-ins for the executor's ports: a broker with a journal, a store, a publisher.

Fakes record what happened (``FakeBroker.journal`` is the broker-side truth, like the simulator's JSONL journal);
tests assert on outcomes.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from decimal import Decimal

from executor.broker import (
    AccountState,
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
    NotModifiable,
    OrderAck,
    OrderRejected,
    OrderRequest,
    OrderUpdate,
    OutcomeUnknown,
)
from executor.checks import Controls
from executor.lease import LeaseLost, LeaseRecord, next_record
from spreadpilot.envelopes import AlertMessage, Message
from spreadpilot.errors import Rejected
from spreadpilot.models import (
    Fill,
    Follower,
    FollowerState,
    Gateway,
    GatewayRestartWanted,
    IntentState,
    OrderIntent,
    Right,
    execution_key,
)
from spreadpilot.store import Malformed

COMMISSION = Decimal("0.65")


@dataclass
class SimOrder:
    request: OrderRequest
    order_id: int
    perm_id: int
    limit: Decimal
    status: str = "Submitted"
    filled: int = 0


@dataclass
class FakeBroker:
    """One gateway: fills a BUY credit combo when its credit is at most ``fill_credit[account]``."""

    accounts: list[str]
    mid_credit: Decimal = Decimal("1.00")
    fill_credit: dict[str, Decimal] = field(default_factory=dict)
    default_fill_credit: Decimal = Decimal("1.00")
    funds: dict[str, Decimal] = field(default_factory=dict)
    partial: set[str] = field(default_factory=set)  # accounts that fill one spread per marketable message
    reject: set[str] = field(default_factory=set)
    journal: list[dict[str, object]] = field(default_factory=list)
    orders: dict[int, SimOrder] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    connected: bool = False
    connect_failures: int = 0
    swallow_next_place: bool = False  # the next order silently vanishes: no ack, nothing at the broker
    lose_next_ack: bool = False  # the next order reaches the broker but its ack is lost
    doubt_next_place: str = ""  # the next order is answered with this code and not placed (e.g. 103 duplicate id)
    exec_before_ack: bool = False
    listed: bool = True
    what_ifs: int = 0
    account_reads: int = 0
    truth_timeouts: int = 0  # the next n truth fetches time out
    quote_timeouts: int = 0  # the next n quotes time out (no order is sent)
    refuse_modifies: int = 0  # the next n modifies are refused while the order stays live
    foreign_client: set[str] = field(default_factory=set)  # accounts whose orders another client id placed
    budget_gate: asyncio.Event | None = None  # an order message waits here (the message budget) before it is sent
    next_order_id: int = 1
    listener: BrokerListener = field(default_factory=BrokerListener)
    _perm: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _exec: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def set_listener(self, listener: BrokerListener) -> None:
        self.listener = listener

    def is_connected(self) -> bool:
        return self.connected

    async def connect(self) -> list[str]:
        await asyncio.sleep(0)
        if self.connect_failures > 0:
            self.connect_failures -= 1
            raise BrokerDisconnected("connection refused")
        self.connected = True
        return list(self.accounts)

    async def disconnect(self) -> None:
        self.connected = False

    def drop_connection(self, next_order_id: int | None = None) -> None:
        """The socket closes; optionally the next order id rolls back (gateway restart)."""
        self.connected = False
        if next_order_id is not None:
            self.next_order_id = next_order_id
        self.listener.on_disconnected()

    def _require(self) -> None:
        if not self.connected:
            raise BrokerDisconnected("not connected")

    async def truth(self) -> BrokerTruth:
        self._require()
        await asyncio.sleep(0)
        if self.truth_timeouts > 0:
            self.truth_timeouts -= 1
            raise AckTimeout("open orders: no answer in 10 s")
        opened = tuple(self._update(o) for o in self.orders.values() if o.status == "Submitted")
        done = tuple(self._update(o) for o in self.orders.values() if o.status != "Submitted")
        self.next_order_id = max([self.next_order_id, *(o.order_id + 1 for o in self.orders.values())])
        positions: dict[tuple[str, int], int] = {}
        for e in self.executions:
            key = (e.account, e.con_id)
            positions[key] = positions.get(key, 0) + (e.qty if e.side == "BOT" else -e.qty)
        return BrokerTruth(open_orders=opened, completed_orders=done, executions=tuple(self.executions),
                           positions=tuple(HeldPosition(a, c, q) for (a, c), q in positions.items()),
                           max_order_id=self.next_order_id - 1)

    async def qualify(self, symbol: str, expiry: date, right: Right, short_strike: Decimal,
                      long_strike: Decimal) -> Combo:
        self._require()
        if not self.listed:
            raise Rejected(f"{symbol} {expiry} {right} {short_strike}/{long_strike} is not listed")
        legs = (ComboLegSpec(_con_id(short_strike, right), "SELL", right, short_strike, expiry),
                ComboLegSpec(_con_id(long_strike, right), "BUY", right, long_strike, expiry))
        return Combo(symbol, legs)

    async def quote(self, combo: Combo) -> ComboQuote | None:
        self._require()
        if self.quote_timeouts > 0:
            self.quote_timeouts -= 1
            raise AckTimeout("quote: no answer in 10 s")
        mid = -self.mid_credit
        return ComboQuote(bid=mid - Decimal("0.05"), ask=mid + Decimal("0.05"), mid=mid)

    def account_state(self, account: str) -> AccountState | None:
        self.account_reads += 1
        held = any(e.account == account for e in self.executions)
        funds = self.funds.get(account, Decimal(100000))
        return AccountState(available_funds=funds, excess_liquidity=funds, holds_positions=held)

    async def what_if(self, request: OrderRequest) -> Margin:
        self.what_ifs += 1
        self._require()
        width = abs(request.combo.legs[0].strike - request.combo.legs[1].strike)
        change = width * 100 * request.qty
        equity = self.funds.get(request.account, Decimal(100000))
        return Margin(init_margin_change=change, init_margin_after=change, equity_with_loan_after=equity)

    async def _slot(self) -> None:
        """Like the IB adapter: wait for the message budget, then ask whether the gateway may still be sent to."""
        if self.budget_gate is not None:
            await self.budget_gate.wait()
        self._require()
        if not self.listener.may_send():
            raise BrokerDisconnected("not reconciled since the last reconnect")

    async def place(self, request: OrderRequest) -> OrderAck:
        self._require()
        await self._slot()
        self.journal.append({"event": "order", "order_ref": request.order_ref, "account": request.account,
                             "symbol": request.combo.symbol,
                             "action": request.action, "qty": request.qty, "limit": request.limit,
                             "legs": [(leg.action, leg.strike, leg.right) for leg in request.combo.legs]})
        if self.swallow_next_place:
            self.swallow_next_place = False
            self.journal.pop()
            raise AckTimeout("no acknowledgement")
        if self.doubt_next_place:  # as the IB adapter answers a code that leaves the order's fate open
            code, self.doubt_next_place = self.doubt_next_place, ""
            self.journal.pop()
            raise OutcomeUnknown(f"{code} (reconcile code)")
        if request.account in self.reject:
            self.journal[-1]["event"] = "rejected"
            raise OrderRejected("201: order rejected - insufficient permissions")
        order = SimOrder(request, self.next_order_id, next(self._perm), request.limit)
        self.next_order_id += 1
        self.orders[order.order_id] = order
        if self.lose_next_ack:
            self.lose_next_ack = False
            raise AckTimeout("no acknowledgement")
        if self.exec_before_ack:
            self._match(order)
            await asyncio.sleep(0)
            return OrderAck(request.order_ref, order.order_id, order.perm_id, order.status)
        ack = OrderAck(request.order_ref, order.order_id, order.perm_id, "Submitted")
        asyncio.get_running_loop().call_soon(self._match, order)
        return ack

    def _by_ref(self, order_ref: str) -> SimOrder:
        live = [o for o in self.orders.values() if o.request.order_ref == order_ref and o.status == "Submitted"]
        if not live:
            raise OrderRejected(f"no working order {order_ref}")
        return live[0]

    async def modify(self, order_ref: str, limit: Decimal) -> OrderAck:
        self._require()
        await self._slot()
        order = self._by_ref(order_ref)
        if order.request.account in self.foreign_client:
            raise NotModifiable(f"{order_ref} was placed by another client (10147)")
        if self.refuse_modifies > 0:
            self.refuse_modifies -= 1
            raise OrderRejected("201: modify rejected")
        order.limit = limit
        self.journal.append({"event": "modify", "order_ref": order_ref, "limit": limit})
        asyncio.get_running_loop().call_soon(self._match, order)
        return OrderAck(order_ref, order.order_id, order.perm_id, "Submitted")

    async def cancel(self, order_ref: str) -> None:
        self._require()
        order = self._by_ref(order_ref)
        self.journal.append({"event": "cancel", "order_ref": order_ref})
        order.status = "Cancelled"
        asyncio.get_running_loop().call_soon(self.listener.on_order, self._update(order))

    def _update(self, order: SimOrder) -> OrderUpdate:
        return OrderUpdate(order.request.order_ref, order.request.account, order.order_id, order.perm_id,
                           order.status, order.filled, order.request.qty - order.filled, order.limit)

    def _match(self, order: SimOrder) -> None:
        if order.status != "Submitted" or not self.connected:
            return
        credit = -order.limit
        if credit > self.fill_credit.get(order.request.account, self.default_fill_credit):
            self.listener.on_order(self._update(order))
            return
        qty = 1 if order.request.account in self.partial else order.request.qty - order.filled
        for leg in order.request.combo.legs:
            price = Decimal("1.50") + credit if leg.action == "SELL" else Decimal("1.50")
            execution = Execution(
                exec_id=f"x{next(self._exec)}", order_ref=order.request.order_ref, account=order.request.account,
                order_id=order.order_id, perm_id=order.perm_id, con_id=leg.con_id, sec_type="OPT", right=leg.right,
                strike=leg.strike, expiry=leg.expiry, side="SLD" if leg.action == "SELL" else "BOT", qty=qty,
                price=price, at=datetime(2026, 3, 17, 14, 0, tzinfo=UTC))
            self.journal.append({"event": "fill", "order_ref": order.request.order_ref, "exec_id": execution.exec_id,
                                 "qty": qty})
            self.listener.on_execution(execution)
            # like IB, the commission report follows the execution
            execution = replace(execution, commission=COMMISSION * qty)
            self.executions.append(execution)
            asyncio.get_running_loop().call_soon(self.listener.on_execution, execution)
        order.filled += qty
        if order.filled >= order.request.qty:
            order.status = "Filled"
        self.listener.on_order(self._update(order))

    def orders_for(self, order_ref: str) -> list[dict[str, object]]:
        """New orders the broker received for one orderRef (modifies excluded)."""
        return [e for e in self.journal if e["event"] == "order" and e["order_ref"] == order_ref]


def _con_id(strike: Decimal, right: Right) -> int:
    return int(strike * 10) * 10 + (1 if right is Right.PUT else 2)


class Killed(BaseException):
    """The process died (SIGKILL): nothing after this point happens."""


class StoreDown(Exception):
    """A Firestore call failed (like ``google.api_core.exceptions.ServiceUnavailable``)."""


class IoLane:
    """A model of the executor's I/O thread pool: ``workers`` calls at a time, first come first served, each taking
    ``call_s`` (a call queued behind a thousand others waits for all of them, as it does in the real pool)."""

    def __init__(self, workers: int, call_s: float) -> None:
        self.slots = asyncio.Semaphore(workers)
        self.call_s = call_s

    async def call(self) -> None:
        async with self.slots:
            await asyncio.sleep(self.call_s)


class MemoryStore:
    """``ExecutorStore`` in memory; ``create_intent`` is atomic like Firestore's ``create()``.

    ``kill_at = n`` makes the n-th write and every later one die with ``Killed`` (as if the process were killed).
    ``fail[op] = n`` makes the next n calls of ``op`` fail before they take effect; ``fail_after[op] = n`` makes them
    take effect and then fail (the commit landed, its answer was lost). ``malformed_docs`` are reported once by
    ``malformed()`` as documents a read skipped. With ``lane``, every read and write queues for an ``IoLane``.
    """

    def __init__(self, followers: Iterable[Follower], gateways: Iterable[Gateway]) -> None:
        self.followers = {f.id: f for f in followers}
        self.gateway_docs = {g.id: g for g in gateways}
        self.intents: dict[str, OrderIntent] = {}
        self.epochs: dict[str, int] = {}
        self.fills: dict[str, Fill] = {}
        self.claims: dict[str, str] = {}
        self.control_docs: dict[str, dict[str, object]] = {}
        self.heartbeats: list[dict[str, object]] = []
        self.malformed_docs: list[Malformed] = []
        self.fail: dict[str, int] = {}
        self.fail_after: dict[str, int] = {}
        self.held: dict[str, asyncio.Event] = {}  # intent id → its create waits for the event (a slow write)
        self.lane: IoLane | None = None
        self.writes = 0
        self.kill_at: int | None = None
        self.dead = False

    async def _io(self) -> None:
        if self.lane is None:
            await asyncio.sleep(0)
        else:
            await self.lane.call()

    def _write(self) -> None:
        self.writes += 1
        if self.kill_at is not None and self.writes >= self.kill_at:
            self.dead = True
        if self.dead:
            raise Killed

    def _before(self, op: str) -> None:
        if self.fail.get(op, 0) > 0:
            self.fail[op] -= 1
            raise StoreDown(f"{op}: 503 service unavailable")

    def _after(self, op: str) -> None:
        if self.fail_after.get(op, 0) > 0:
            self.fail_after[op] -= 1
            raise StoreDown(f"{op}: deadline exceeded (the write landed)")

    def malformed(self) -> list[Malformed]:
        found, self.malformed_docs = self.malformed_docs, []
        return found

    async def enabled_followers(self) -> list[Follower]:
        await asyncio.sleep(0)
        self._before("enabled_followers")
        return [f for f in self.followers.values() if f.enabled and f.state is FollowerState.ACTIVE]

    async def gateways(self) -> dict[str, Gateway]:
        await asyncio.sleep(0)
        self._before("gateways")
        return dict(self.gateway_docs)

    async def want_restart(self, gateway_id: str, wanted: GatewayRestartWanted) -> None:
        await asyncio.sleep(0)
        self._before("want_restart")
        if gateway_id in self.gateway_docs:
            self.gateway_docs[gateway_id] = self.gateway_docs[gateway_id].model_copy(update={"restart_wanted": wanted})

    async def controls(self, follower_ids: Iterable[str]) -> tuple[Controls, dict[str, Controls]]:
        await asyncio.sleep(0)
        return (Controls.from_doc(self.control_docs.get("global")),
                {fid: Controls.from_doc(self.control_docs.get(fid)) for fid in follower_ids})

    async def get_intents(self, intent_ids: Iterable[str]) -> dict[str, OrderIntent]:
        await self._io()
        self._before("get_intents")
        ids = list(intent_ids)
        if any("/" in i for i in ids):
            raise ValueError("A document must have an even number of path elements")  # what Firestore says
        return {i: self.intents[i] for i in ids if i in self.intents}

    async def create_intent(self, intent: OrderIntent, epoch: int | None = None) -> bool:
        await self._io()
        if intent.intent_id in self.held:
            await self.held[intent.intent_id].wait()
        self._write()
        self._before("create_intent")
        if intent.intent_id in self.intents:
            return False
        self.intents[intent.intent_id] = intent
        self.epochs[intent.intent_id] = epoch or 0
        self._after("create_intent")
        return True

    async def save_intent(self, intent: OrderIntent, epoch: int | None = None) -> None:
        await self._io()
        self._write()
        self._before("save_intent")
        if epoch is not None:  # like FirestoreExecutorStore: None = no leases
            if epoch == 0 or self.epochs.get(intent.intent_id, 0) > epoch:
                raise LeaseLost(f"{intent.intent_id}: not held, or written under a newer epoch")
            self.epochs[intent.intent_id] = epoch
        self.intents[intent.intent_id] = intent
        self._after("save_intent")

    async def open_intents(self) -> list[OrderIntent]:
        await asyncio.sleep(0)
        self._before("open_intents")
        return [i for i in self.intents.values() if not i.state.final]

    async def claim_entry_day(self, intent: OrderIntent) -> str:
        await self._io()
        self._before("claim_entry_day")
        return self.claims.setdefault(f"{intent.follower_id}:{intent.expiry}", intent.intent_id)

    async def put_fill(self, fill: Fill) -> None:
        await self._io()
        self._write()
        self._before("put_fill")
        key = execution_key(fill.exec_id)  # like fills/{execution_key}: a correction replaces
        known = self.fills.get(key)
        if known is not None and known.commission and not fill.commission:
            fill = fill.model_copy(update={"commission": known.commission})  # merge keeps a stored commission
        self.fills[key] = fill

    async def write_heartbeat(self, doc: dict[str, object]) -> None:
        self.heartbeats.append(doc)

    def states(self) -> dict[str, IntentState]:
        return {i.follower_id: i.state for i in self.intents.values()}


class MemoryLeases:
    """``LeaseStore`` in memory with the same rules as Firestore's (``executor.lease.next_record``)."""

    def __init__(self) -> None:
        self.records: dict[str, LeaseRecord] = {}
        self.down = False

    async def take(self, gateway_id: str, holder: str, now: datetime, expires_at: datetime,
                   fresh: bool = False) -> int | None:
        await asyncio.sleep(0)
        if self.down:
            raise StoreDown("leases: unavailable")
        wanted = next_record(self.records.get(gateway_id), holder, now, expires_at, fresh)
        if wanted is None:
            return None
        self.records[gateway_id] = wanted
        return wanted.epoch

    async def give_up(self, gateway_id: str, holder: str, epoch: int) -> None:
        current = self.records.get(gateway_id)
        if current is not None and current.holder == holder and current.epoch == epoch:
            self.records[gateway_id] = replace(current, expires_at=datetime(2000, 1, 1, tzinfo=UTC))


class RecordingPublisher:
    """``Publisher`` that keeps what was published."""

    def __init__(self) -> None:
        self.published: list[tuple[str, Message]] = []

    def publish(self, topic: str, message: Message, *, ordering_key: str = "") -> str:
        self.published.append((topic, message))
        return str(len(self.published))

    def alert_types(self) -> list[str]:
        return [m.alert.type for _, m in self.published if isinstance(m, AlertMessage)]
