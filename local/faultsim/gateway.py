"""The broker side of one simulated IB Gateway: accounts, order books, executions, positions and the journal.

It outlives every executor process: a crashed process's orders rest here, and the next process's new connection
finds them. Semantics kept from IB (see FIELD-NOTES "Faults and identity"):
- order ids are a per-client-id sequence stored in the gateway (a restart can roll it back); ``permId`` is
  account-wide unique; ``orderRef`` stays with the order for life; a new order reusing an id that a live order of
  the same client holds gets error 103 and no acknowledgement;
- only the placing client id can modify or cancel (error 10147); modifying a done order gets error 104, cancelling
  one error 161, neither acknowledged;
- executions are per leg (plus IB's BAG-level report), execIds like ``0000e0d5.6554c5ab.01.01``; a correction repeats
  one with only the part after the last dot changed; the commission report follows the execution;
- during error 1100 the gateway keeps the orders it receives and submits them when the link returns; nothing fills;
- events go to the connection of the client id that placed the order (a manual or other client's order is seen
  only in a truth fetch).
``journal`` is the broker-side truth the invariants count: ``order`` for every order message received (modifies
have ``modify`` true and the same ``perm_id``), ``fill``, ``cancel``, ``reject``, ``error`` and ``fault`` lines.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from executor.broker import ComboLegSpec, ComboQuote, Execution, HeldPosition, Margin, OrderRequest, OrderUpdate
from spreadpilot.models import Right, execution_key

if TYPE_CHECKING:
    from faultsim.session import SimSession

COMMISSION_PER_CONTRACT = Decimal("0.65")
BAG_CON_ID = 28812380
LIVE = frozenset({"PreSubmitted", "Submitted"})


@dataclass
class BookOrder:
    """One order in the book."""

    perm_id: int
    order_id: int
    client_id: int  # 0 = entered by hand (TWS)
    account: str
    order_ref: str
    action: str
    qty: int
    limit: Decimal
    legs: tuple[ComboLegSpec, ...]
    status: str = "Submitted"
    filled: int = 0
    foreign: bool = False
    held: bool = False  # received during error 1100: submitted when the link returns

    @property
    def live(self) -> bool:
        """Still working at the broker."""
        return self.status in LIVE

    @property
    def closing(self) -> bool:
        """A close of the lifecycle (a SELL of the day's combo, or one contract): marketable, it fills at once."""
        return self.action == "SELL" or len(self.legs) == 1


@dataclass
class Market:
    """What the market gives on one gateway: the quote's mid credit and the credit each account can get filled at."""

    mid_credit: Decimal
    fill_credit: dict[str, Decimal] = field(default_factory=dict)
    partial: set[str] = field(default_factory=set)  # accounts that fill one spread per marketable order message
    funds: dict[str, Decimal] = field(default_factory=dict)
    width: Decimal = Decimal("0.10")  # quote bid/ask width of the combo
    underlying: Decimal = Decimal(490)  # QQQ: every signal's short strike is at least $2 out of the money
    time_value: Decimal = Decimal("0.60")  # per share, of every option (an exit is due once the short's is ≤ 0.10)

    def leg_mid(self, right: Right, strike: Decimal) -> Decimal:
        """One option's mid: its intrinsic value at ``underlying`` plus ``time_value``."""
        inner = strike - self.underlying if right is Right.PUT else self.underlying - strike
        return max(Decimal(0), inner) + self.time_value


@dataclass
class GatewayEvents:
    """How the gateway reaches the outside world: the clock, the trace, the fault plan, a seeded rng."""

    now: Callable[[], datetime]
    call_later: Callable[..., Any]
    rng: random.Random
    trace: Callable[[str, str], None]
    on_exec: Callable[[str], tuple[bool, float | None]]  # gateway id → (lose this execution's event, correct it
    #                                                     after n seconds)
    lose_commission: Callable[[str], bool]  # gateway id → lose this commission report


class SimGateway:
    """One gateway (advisor style: several managed accounts)."""

    def __init__(self, gateway_id: str, accounts: list[str], market: Market, events: GatewayEvents,
                 perm_base: int) -> None:
        self.gateway_id = gateway_id
        self.accounts = list(accounts)
        self.market = market
        self.ev = events
        self.journal: list[dict[str, Any]] = []
        self.up = True
        self.link_lost = False
        self.sessions: list[SimSession] = []
        self.next_ids: dict[int, int] = {}
        self.orders: dict[int, BookOrder] = {}  # perm id → order
        self.executions: list[Execution] = []  # every version, in order
        self.extra_positions: dict[tuple[str, int], HeldPosition] = {}
        self._perm = itertools.count(perm_base)
        self._exec_seq = itertools.count(1)

    # ── journal ─────────────────────────────────────────────────────────────────────────────────────────────────
    def write(self, event: str, account: str, **fields: Any) -> None:
        """One journal line (and one trace line)."""
        line = {"event": event, "ts": self.ev.now().isoformat(), "gateway": self.gateway_id, "account": account,
                **fields}
        self.journal.append(line)
        detail = " ".join(f"{k}={fields[k]}" for k in sorted(fields) if k not in ("legs",))
        self.ev.trace(f"gw:{self.gateway_id}", f"{event} {account} {detail}")

    def _record(self, order: BookOrder, *, modify: bool = False, what_if: bool = False) -> None:
        self.write("order", order.account, order_id=order.order_id, perm_id=order.perm_id,
                   order_ref=order.order_ref, what_if=what_if, modify=modify, action=order.action, qty=order.qty,
                   order_type="LMT", limit=str(order.limit), client_id=order.client_id, foreign=order.foreign,
                   held=order.held, legs=[{"con_id": leg.con_id, "strike": str(leg.strike), "right": str(leg.right),
                                           "expiry": leg.expiry.isoformat(), "action": leg.action,
                                           "ratio": leg.ratio} for leg in order.legs])

    # ── sessions ────────────────────────────────────────────────────────────────────────────────────────────────
    def owner(self, order: BookOrder) -> SimSession | None:
        """The live connection of the client id that placed ``order``."""
        for session in reversed(self.sessions):
            if session.client_id == order.client_id and session.connected:
                return session
        return None

    def live_order(self, client_id: int, order_id: int) -> BookOrder | None:
        """The live order of ``client_id`` with ``order_id``."""
        for order in self.orders.values():
            if order.client_id == client_id and order.order_id == order_id and order.live:
                return order
        return None

    def any_order(self, client_id: int, order_id: int) -> BookOrder | None:
        """The latest order of ``client_id`` with ``order_id``, live or done."""
        found = [o for o in self.orders.values() if o.client_id == client_id and o.order_id == order_id]
        return found[-1] if found else None

    # ── requests (called when a message from a connection arrives) ─────────────────────────────────────────────
    def place(self, session: SimSession, order_id: int, request: OrderRequest, *, exec_first: bool = False,
              ack: str = "normal") -> None:
        """A new order from ``session``."""
        cid = session.client_id
        self.next_ids[cid] = max(self.next_ids.get(cid, 1), order_id + 1)
        if self.live_order(cid, order_id) is not None:
            self.write("error", request.account, code=103, order_id=order_id, order_ref=request.order_ref,
                       client_id=cid, message="duplicate order id")
            session.push_error(order_id, 103)
            return
        order = BookOrder(next(self._perm), order_id, cid, request.account, request.order_ref, request.action,
                          request.qty, request.limit, request.combo.legs, held=self.link_lost)
        self.orders[order.perm_id] = order
        self._record(order)
        if not order.closing and \
                self._margin(request).init_margin_after > self.market.funds.get(request.account, Decimal(10**7)):
            order.status = "Inactive"
            self.write("reject", order.account, perm_id=order.perm_id, order_ref=order.order_ref, code=201)
            session.push_status(self.update(order, session), code=201,
                                message="201: Order rejected - reason: insufficient available funds")
            return
        if order.held:
            return  # IB Gateway keeps it and resubmits when the link returns
        if exec_first:
            self.match(order, force=True)
        if ack != "lost":
            session.push_ack(order, late=ack == "late")
        if not exec_first:
            self.ev.call_later(self.ev.rng.uniform(0.02, 0.4), self.match, order)

    def modify(self, session: SimSession, order_id: int, limit: Decimal, *, refuse: bool = False) -> None:
        """A new limit for ``session``'s order ``order_id``."""
        order = self.live_order(session.client_id, order_id)
        if order is None:
            done = self.any_order(session.client_id, order_id)
            code, text = (104, "cannot modify a filled order") if done else (103, "no such order")
            self.write("error", done.account if done else "", code=code, order_id=order_id,
                       client_id=session.client_id, message=text)
            return
        if refuse:
            self.write("fault", order.account, kind="broker.modify_refused", perm_id=order.perm_id,
                       order_ref=order.order_ref)
            session.push_status(self.update(order, session, status="Inactive"), code=201,
                                message="201: Order rejected - reason: modification refused")
            return
        order.limit = limit
        self._record(order, modify=True)
        if order.held:
            return
        session.push_ack(order)
        self.ev.call_later(self.ev.rng.uniform(0.02, 0.4), self.match, order)

    def cancel(self, session: SimSession, order_id: int) -> None:
        """Cancel ``session``'s order ``order_id``."""
        order = self.live_order(session.client_id, order_id)
        if order is None:
            self.write("error", "", code=161, order_id=order_id, client_id=session.client_id,
                       message="cancel attempted on an order that is not working")
            return
        order.status = "Cancelled"
        order.held = False  # a held order cancelled is done: nothing is resubmitted when the link returns
        self.write("cancel", order.account, perm_id=order.perm_id, order_ref=order.order_ref, filled=order.filled)
        session.push_status(self.update(order, session))

    def what_if(self, session: SimSession, order_id: int, request: OrderRequest) -> Margin:
        """A what-if: journaled like an order (it is one placeOrder), never booked."""
        cid = session.client_id
        self.next_ids[cid] = max(self.next_ids.get(cid, 1), order_id + 1)
        probe = BookOrder(0, order_id, cid, request.account, request.order_ref, request.action, request.qty,
                          request.limit, request.combo.legs)
        self._record(probe, what_if=True)
        return self._margin(request)

    def _margin(self, request: OrderRequest) -> Margin:
        width = abs(request.combo.legs[0].strike - request.combo.legs[1].strike)
        change = width * 100 * request.qty
        return Margin(init_margin_change=change, init_margin_after=change,
                      equity_with_loan_after=self.market.funds.get(request.account, Decimal(10**7)))

    def funds_left(self, account: str) -> tuple[Decimal, bool]:
        """(available funds after the margin of what filled, whether the account holds any position)."""
        used = Decimal(0)
        for order in self.orders.values():
            if order.account == account and order.filled and len(order.legs) == 2:
                used += abs(order.legs[0].strike - order.legs[1].strike) * 100 * order.filled
        held = any(p.account == account for p in self.positions())
        return self.market.funds.get(account, Decimal(10**7)) - used, held

    def quote(self) -> ComboQuote:
        """The combo's quote (BUY side: negative for a credit)."""
        mid = -self.market.mid_credit
        half = self.market.width / 2
        return ComboQuote(bid=mid - half, ask=mid + half, mid=mid)

    # ── truth (each part answered when its request arrives) ─────────────────────────────────────────────────────
    def open_orders(self, session: SimSession) -> list[OrderUpdate]:
        """Every live order with its orderRef, all clients (another client's or a manual one: order id 0)."""
        return [self.update(o, session) for o in self.orders.values() if o.live]

    def completed_orders(self, session: SimSession) -> list[OrderUpdate]:
        """API orders that are done (they carry no order id)."""
        return [replace(self.update(o, session), order_id=0, remaining=0)
                for o in self.orders.values() if not o.live and o.client_id != 0]

    def execution_list(self, session: SimSession) -> list[Execution]:
        """Executions since midnight, every client's (another client's carry order id 0)."""
        return [e if self._order_of(e).client_id == session.client_id else replace(e, order_id=0)
                for e in self.executions]

    def positions(self) -> list[HeldPosition]:
        """Non-zero positions of every account."""
        held: dict[tuple[str, int], HeldPosition] = dict(self.extra_positions)
        for e in self.executions:
            if e.sec_type == "BAG" or not e.exec_id.endswith(".01"):
                continue  # a correction replaces; it does not add
            key = (e.account, e.con_id)
            base = held.get(key) or HeldPosition(e.account, e.con_id, 0, e.sec_type, e.right, e.strike, e.expiry)
            held[key] = replace(base, qty=base.qty + (e.qty if e.side == "BOT" else -e.qty))
        return [p for _, p in sorted(held.items()) if p.qty]

    def daily_pnl(self, account: str) -> tuple[Decimal, Decimal]:
        """The account's P&L today as IB's ``reqPnL`` gives it: (realized, unrealized), in dollars.

        Cash of the day's option executions (each at its latest correction), less commissions, plus what the
        positions they leave are worth at the market's marks now. Positions held before the day are left out (the
        simulator does not move their prices)."""
        latest: dict[str, Execution] = {}
        for e in self.executions:
            if e.account == account and e.sec_type == "OPT":
                latest[execution_key(e.exec_id)] = e  # a correction replaces what it corrects
        cash: dict[int, Decimal] = {}
        qty: dict[int, int] = {}
        legs: dict[int, Execution] = {}
        commissions = Decimal(0)
        for e in latest.values():
            sign = 1 if e.side == "BOT" else -1
            cash[e.con_id] = cash.get(e.con_id, Decimal(0)) - sign * e.price * e.qty * 100
            qty[e.con_id] = qty.get(e.con_id, 0) + sign * e.qty
            legs[e.con_id] = e
            commissions += e.commission
        realized = sum((cash[c] for c in cash if qty[c] == 0), Decimal(0)) - commissions
        unrealized = Decimal(0)
        for c, held in qty.items():
            if held:
                leg = legs[c]
                assert leg.right is not None and leg.strike is not None
                unrealized += cash[c] + held * self.market.leg_mid(leg.right, leg.strike) * 100
        return realized, unrealized

    def _order_of(self, execution: Execution) -> BookOrder:
        return self.orders[execution.perm_id]

    def update(self, order: BookOrder, session: SimSession | None, status: str | None = None) -> OrderUpdate:
        """``order`` as ``session`` sees it (another client's order id shows as 0)."""
        own = session is not None and session.client_id == order.client_id
        return OrderUpdate(order.order_ref, order.account, order.order_id if own else 0, order.perm_id,
                           status or ("PreSubmitted" if order.held and order.live else order.status), order.filled,
                           order.qty - order.filled, order.limit)

    # ── the market ──────────────────────────────────────────────────────────────────────────────────────────────
    def match(self, order: BookOrder, force: bool = False) -> None:
        """Fill ``order`` if its credit is within what the market gives (all of it, or one spread if partial)."""
        if not order.live or order.held or self.link_lost:
            return
        if order.closing:  # the combo's price: what its legs are worth (negative when it pays out)
            price = sum((self.market.leg_mid(leg.right, leg.strike) * (1 if leg.action == "BUY" else -1)
                         for leg in order.legs), Decimal(0))
            self.execute(order, order.qty - order.filled, price)
            return
        credit = -order.limit if order.action == "BUY" else order.limit
        if not force and credit > self.market.fill_credit.get(order.account, Decimal(0)):
            return
        qty = 1 if order.account in self.market.partial else order.qty - order.filled
        self.execute(order, qty, credit)

    def execute(self, order: BookOrder, qty: int, credit: Decimal) -> list[Execution]:
        """Fill ``qty`` spreads of ``order`` at ``credit``: per-leg executions, the BAG report, status, commissions."""
        seq = next(self._exec_seq)
        at = self.ev.now()
        made = []
        long_price = Decimal("0.40") + Decimal(self.ev.rng.randint(0, 40)) / 100
        for i, leg in enumerate(order.legs, start=1):
            sells = (leg.action == "SELL") == (order.action == "BUY")  # a combo SELL trades each leg the other way
            if order.closing:
                price = self.market.leg_mid(leg.right, leg.strike)
            else:
                price = long_price + credit if leg.action == "SELL" else long_price
            made.append(Execution(
                exec_id=f"{order.perm_id:08x}.{seq:08x}.{i:02d}.01", order_ref=order.order_ref,
                account=order.account, order_id=order.order_id, perm_id=order.perm_id, con_id=leg.con_id,
                sec_type="OPT", right=leg.right, strike=leg.strike, expiry=leg.expiry,
                side="SLD" if sells else "BOT", qty=qty, price=price, at=at,
                commission=COMMISSION_PER_CONTRACT * qty))
        if len(order.legs) > 1:
            made.append(self._bag_report(order, seq, qty, credit, at))
        order.filled += qty
        if order.filled >= order.qty:
            order.status = "Filled"
        for e in made:
            self.executions.append(e)
            self.write("fill", e.account, order_ref=e.order_ref, perm_id=e.perm_id, exec_id=e.exec_id,
                       sec_type=e.sec_type, con_id=e.con_id, side=e.side, qty=e.qty, price=str(e.price),
                       foreign=order.foreign)
        self._report(order, made)
        if order.live and order.account in self.market.partial:
            pass  # the next marketable message (a ladder step) fills the next spread
        return made

    @staticmethod
    def _bag_report(order: BookOrder, seq: int, qty: int, credit: Decimal, at: datetime) -> Execution:
        return Execution(
            exec_id=f"{order.perm_id:08x}.{seq:08x}.00.01", order_ref=order.order_ref, account=order.account,
            order_id=order.order_id, perm_id=order.perm_id, con_id=BAG_CON_ID, sec_type="BAG", right=None,
            strike=None, expiry=None, side="BOT" if order.action == "BUY" else "SLD", qty=qty,
            price=-credit if order.action == "BUY" else credit, at=at)

    def _report(self, order: BookOrder, made: list[Execution]) -> None:
        session = self.owner(order)
        lost: set[str] = set()
        for e in made:
            lose, correct_after = self.ev.on_exec(self.gateway_id) if e.sec_type != "BAG" else (False, None)
            if correct_after is not None:
                self.ev.call_later(correct_after, self.correct, e)
            if lose:
                lost.add(e.exec_id)  # ib_async drops a commission report whose execution it never saw, too
            elif session is not None:
                session.push_execution(replace(e, commission=Decimal(0)))
        if session is not None:
            session.push_status(self.update(order, session))
            for e in made:
                if e.commission and e.exec_id not in lost and not self.ev.lose_commission(self.gateway_id):
                    session.push_execution(e, delay=self.ev.rng.uniform(0.01, 0.3))

    def correct(self, original: Execution) -> None:
        """IB corrects an execution: the same execId up to the last dot, a new version after it, a new price."""
        base, version = original.exec_id.rsplit(".", 1)
        corrected = replace(original, exec_id=f"{base}.{int(version) + 1:02d}", price=original.price + Decimal("0.01"),
                            at=self.ev.now())
        self.executions.append(corrected)
        self.write("fill", corrected.account, order_ref=corrected.order_ref, perm_id=corrected.perm_id,
                   exec_id=corrected.exec_id, sec_type=corrected.sec_type, con_id=corrected.con_id,
                   side=corrected.side, qty=corrected.qty, price=str(corrected.price), correction=True,
                   foreign=self._order_of(corrected).foreign)
        session = self.owner(self._order_of(corrected))
        if session is not None:
            session.push_execution(replace(corrected, commission=Decimal(0)))
            session.push_execution(corrected, delay=0.05)

    # ── faults from outside ─────────────────────────────────────────────────────────────────────────────────────
    def foreign_order(self, account: str, order_ref: str, client_id: int, legs: tuple[ComboLegSpec, ...], qty: int,
                      limit: Decimal, fill: bool) -> BookOrder:
        """An order entered by hand or by another client in a managed account (its events reach none of ours)."""
        order_id = 0 if client_id == 0 else self.next_ids.get(client_id, 1)
        self.next_ids[client_id] = order_id + 1
        order = BookOrder(next(self._perm), order_id, client_id, account, order_ref, "BUY", qty, limit, legs,
                          foreign=True)
        self.orders[order.perm_id] = order
        self._record(order)
        if fill:
            self.execute(order, qty, -limit)
        return order

    def drop(self, down_s: float, rollback: int = 0, why: str = "broker.drop") -> None:
        """The socket of every connection closes; the gateway refuses connections for ``down_s``."""
        self.write("fault", "", kind=why, down_s=round(down_s, 3), rollback=rollback)
        self.up = False
        for session in list(self.sessions):
            session.socket_closed()
        self.sessions.clear()
        if rollback:
            for cid in self.next_ids:
                self.next_ids[cid] = max(1, self.next_ids[cid] - rollback)
        self.ev.call_later(down_s, self.come_up)

    def come_up(self) -> None:
        """Accept connections again."""
        if not self.up:
            self.up = True
            self.write("fault", "", kind="broker.up")

    def lose_link(self, lost_s: float, restore_code: int) -> None:
        """IB's servers unreachable (1100) for ``lost_s``, then 1101 or 1102."""
        self.write("fault", "", kind="broker.code_1100", lost_s=round(lost_s, 3), restore=restore_code)
        self.link_lost = True
        for session in self.sessions:
            session.push_code(1100, "Connectivity between IB and Trader Workstation has been lost.")
        self.ev.call_later(lost_s, self.restore_link, restore_code)

    def restore_link(self, code: int) -> None:
        """The link is back: say so, submit what was held, and let the market see every live order again."""
        if not self.link_lost:
            return
        self.link_lost = False
        self.write("fault", "", kind=f"broker.code_{code}")
        for session in self.sessions:
            text = "data lost" if code == 1101 else "data maintained"
            session.push_code(code, f"Connectivity between IB and Trader Workstation has been restored - {text}.")
        for order in list(self.orders.values()):
            if order.held and order.live:
                order.held = False
                owner = self.owner(order)
                if owner is not None:
                    owner.push_ack(order)
            if order.live:
                self.ev.call_later(self.ev.rng.uniform(0.02, 0.4), self.match, order)
