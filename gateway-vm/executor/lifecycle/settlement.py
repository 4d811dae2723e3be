"""Settlement events into the account ledger: assignment, exercise and expiry, and the broker's readings.

Executions reach the ledger as they happen (``executor.ledger``); settlements never do (an assignment or exercise
is not an execution of an order). So, per follower account, the desk keeps the positions the ledger explains
(``expected``: the broker's positions when it first looked, plus every execution since, plus every settlement it
recorded) and, every ``monitor_s``:
- an option position that differs from ``expected`` the same way on two passes in a row while nothing of the
  follower is in flight (no entry, no close) has settled: a short that shrank was assigned, a long that shrank was
  exercised. The event gives the quantity, the strike and the stock delivered at it; any other difference is a
  CRITICAL alert (the ledger does not explain the account), never silently accepted;
- at the session close (16:00, 13:00 on half days, from the exchange calendar) every option of that expiry still in
  ``expected`` is settled from its own underlying's closing price: in the money by at least $0.01 it is exercised
  or assigned by exception (stock at the strike), otherwise it expires worthless;
- ``CLOSE_READING_DELAY`` after the close it writes the broker's ``close`` reading (reqPnL realized, positions and
  their marks) and, before the next session opens, the ``open`` reading (positions after overnight settlement),
  for the daily reconciliation (``functions/pnl``). The ``open`` positions confirm the expiries: a difference from
  what the ledger booked is a CRITICAL alert.
Events are written create-if-absent (``settlements/{event_id}``), retried until they land. After a restart the
desk starts again from the broker's positions; what happened while it was down shows in the daily reconciliation.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Protocol

from executor.broker import HeldPosition
from executor.ledger import ExecutionLedger
from executor.lifecycle.context import Context, sleep_or_stop
from executor.lifecycle.ports import LifecycleBroker
from spreadpilot.clock import NEW_YORK, new_york
from spreadpilot.ledger import (
    BrokerReading,
    HeldLine,
    SettlementEvent,
    SettlementKind,
    Side,
    delivered_shares,
    in_the_money,
    position_key,
    signed_qty,
)
from spreadpilot.market_calendar import is_trading_day, session_close
from spreadpilot.models import Fill, Follower, Right, Severity, execution_key

log = logging.getLogger(__name__)

CLOSE_READING_DELAY = timedelta(minutes=20)  # after the close: late fills of the day are in, the rollup is at 16:30
SESSION_OPEN = time(9, 30)
LOOKBACK = timedelta(days=4)  # settlements loaded at start (a long weekend's expiries still to confirm)


class SettlementStore(Protocol):
    """Where settlement events and broker readings go."""

    async def settlements_since(self, start: datetime) -> list[SettlementEvent]:
        """Every settlement event from ``start`` on."""
        ...

    async def record_settlement(self, event: SettlementEvent) -> bool:
        """Create ``settlements/{event_id}``; False if it was there already."""
        ...

    async def confirm_settlement(self, event_id: str, confirmed: bool, note: str) -> None:
        """Note on the event whether the broker's positions confirmed it."""
        ...

    async def write_reading(self, reading: BrokerReading) -> None:
        """Write ``broker_readings/{follower_id}:{date}:{phase}``."""
        ...


@dataclass(frozen=True)
class OptionMeta:
    """What an option position is, as far as settling it needs."""

    con_id: int
    right: Right
    strike: Decimal
    expiry: date
    symbol: str  # the underlying: its stock is what settling delivers, its closing price what decides


@dataclass
class AccountBook:
    """One account's positions as the ledger explains them."""

    follower: Follower
    expected: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    counted: dict[str, tuple[str, int]] = field(default_factory=dict)  # execution key → (position, signed qty)
    options: dict[str, OptionMeta] = field(default_factory=dict)
    suspect: dict[str, int] = field(default_factory=dict)  # position → difference seen on the last pass
    alerted: set[tuple[str, int]] = field(default_factory=set)
    expired: set[date] = field(default_factory=set)
    unconfirmed: list[SettlementEvent] = field(default_factory=list)
    readings: set[tuple[date, str]] = field(default_factory=set)

    def apply(self, event: SettlementEvent) -> None:
        """Book a settlement: the option out, the stock in."""
        self.expected[position_key("OPT", event.symbol, event.con_id)] += event.option_qty
        self.expected[position_key("STK", event.symbol, 0)] += event.shares


def broker_positions(positions: Iterable[HeldPosition]) -> dict[str, int]:
    """Net quantity per position of one account's broker positions."""
    held: dict[str, int] = defaultdict(int)
    for p in positions:
        held[position_key(p.sec_type, p.symbol, p.con_id)] += p.qty
    return {k: q for k, q in held.items() if q}


def option_meta(p: HeldPosition | Fill) -> OptionMeta | None:
    """An option's settlement terms, when the position or fill carries them."""
    if p.sec_type != "OPT" or p.right is None or p.strike is None or p.expiry is None:
        return None
    return OptionMeta(p.con_id, p.right, p.strike, p.expiry, p.symbol)


def settlement_of(book: AccountBook, key: str, difference: int, at: datetime,
                  recorded_at: datetime) -> SettlementEvent | None:
    """The assignment or exercise a stable difference means, or None if it means neither."""
    meta = book.options.get(key)
    held = book.expected.get(key, 0)
    if meta is None:
        return None
    side: Side
    if held < 0 < difference:
        kind, side, qty = SettlementKind.ASSIGNMENT, "short", min(difference, -held)
    elif held > 0 > difference:
        kind, side, qty = SettlementKind.EXERCISE, "long", min(-difference, held)
    else:
        return None
    f = book.follower
    return SettlementEvent(
        event_id=f"{kind}-{f.ibkr_account}-{meta.con_id}-{at:%Y%m%dT%H%M%S}", kind=kind, follower_id=f.id,
        account=f.ibkr_account, con_id=meta.con_id, symbol=meta.symbol, right=meta.right, strike=meta.strike,
        expiry=meta.expiry, side=side, qty=qty,
        shares=delivered_shares(meta.right, side, qty), at=at, recorded_at=recorded_at,
    )


def expiring(book: AccountBook, day: date) -> list[tuple[OptionMeta, int]]:
    """Every option of ``day``'s expiry (or earlier) still held, with its signed quantity."""
    found = []
    for key, qty in sorted(book.expected.items()):
        meta = book.options.get(key)
        if qty and meta is not None and meta.expiry <= day:
            found.append((meta, qty))
    return found


def expiries(book: AccountBook, day: date, closing: Mapping[str, Decimal], at: datetime,
             recorded_at: datetime) -> list[SettlementEvent]:
    """Every option of ``day``'s expiry (or earlier) still held, settled from its underlying's closing price
    (``closing`` by symbol: every expiring option's underlying must be there)."""
    events = []
    f = book.follower
    for meta, qty in expiring(book, day):
        side: Side = "long" if qty > 0 else "short"
        itm = in_the_money(meta.right, meta.strike, closing[meta.symbol])
        events.append(SettlementEvent(
            event_id=f"expiry-{f.ibkr_account}-{meta.con_id}-{meta.expiry:%Y%m%d}", kind=SettlementKind.EXPIRY,
            follower_id=f.id, account=f.ibkr_account, con_id=meta.con_id, symbol=meta.symbol, right=meta.right,
            strike=meta.strike, expiry=meta.expiry, side=side, qty=abs(qty),
            shares=delivered_shares(meta.right, side, abs(qty)) if itm else 0,
            closing_price=closing[meta.symbol], at=at, recorded_at=recorded_at,
            note="exercised or assigned by exception" if itm else "expired worthless",
        ))
    return events


class SettlementDesk:
    """Settlement events and broker readings for every follower account this process drives."""

    def __init__(self, ctx: Context, ledger: ExecutionLedger, store: SettlementStore,
                 busy: Callable[[str], bool]) -> None:
        self.ctx = ctx
        self.ledger = ledger
        self.store = store
        self.busy = busy
        self.books: dict[str, AccountBook] = {}
        self.to_write: list[SettlementEvent] = []
        self.loaded: list[SettlementEvent] | None = None

    async def run(self) -> None:
        """A pass now and every ``monitor_s`` until the executor stops."""
        while not self.ctx.stop.is_set():
            try:
                await self.pass_once(self.ctx.clock.now())
            except Exception:  # one failed pass (Firestore hiccup, gateway drop) must not end the desk
                log.exception("settlement pass failed")
            await sleep_or_stop(self.ctx, self.ctx.settings.monitor_s)

    async def pass_once(self, now: datetime) -> list[SettlementEvent]:
        """One pass over every follower on a connected gateway; the events recorded."""
        if self.loaded is None:
            self.loaded = await self.store.settlements_since(now - LOOKBACK)
        recorded: list[SettlementEvent] = []
        by_gateway: dict[str, list[Follower]] = defaultdict(list)
        for f in await self.ctx.store.followers():
            by_gateway[f.gateway_id].append(f)
        fills = self._fills_by_account()
        for gateway_id, followers in by_gateway.items():
            broker = self.ctx.broker(gateway_id)
            if broker is None:
                continue
            positions = await broker.positions()
            for f in followers:
                held = [p for p in positions if p.account == f.ibkr_account]
                try:
                    recorded += await self._account(broker, f, held, fills.get(f.ibkr_account, []), now)
                except Exception as exc:  # isolate one follower; the others are settled all the same
                    log.exception("settlement check failed", extra={"follower_id": f.id})
                    await self.ctx.alerts.send("ledger.settlement_check_failed", Severity.WARNING,
                                               f"settlement check failed: {exc!r}", follower_id=f.id)
        await self._flush()
        return recorded

    def _fills_by_account(self) -> dict[str, list[Fill]]:
        found: dict[str, list[Fill]] = defaultdict(list)
        for fill in [*self.ledger.written.values(), *self.ledger.pending.values()]:
            found[fill.account].append(fill)
        return found

    def _book(self, follower: Follower, held: list[HeldPosition], fills: list[Fill]) -> AccountBook:
        book = AccountBook(follower)
        for key, qty in broker_positions(held).items():
            book.expected[key] = qty
        for fill in fills:
            book.counted[execution_key(fill.exec_id)] = (position_key(fill.sec_type, fill.symbol, fill.con_id),
                                                         signed_qty(fill))
        for event in self.loaded or []:
            if event.account != follower.ibkr_account:
                continue
            if event.kind is SettlementKind.EXPIRY:
                book.expired.add(event.expiry)
                book.unconfirmed.append(event)
        self.books[follower.ibkr_account] = book
        log.info("settlement desk started from the broker's positions",
                 extra={"follower_id": follower.id, "positions": dict(book.expected)})
        return book

    async def _account(self, broker: LifecycleBroker, follower: Follower, held: list[HeldPosition],
                       fills: list[Fill], now: datetime) -> list[SettlementEvent]:
        busy = self.busy(follower.id) or self.ctx.entry_in_flight(follower.id)
        book = self.books.get(follower.ibkr_account)
        if book is None:
            if busy:
                return []  # a fill may be between the broker's positions and the ledger: start next pass
            book = self._book(follower, held, fills)
        for p in held:
            if (meta := option_meta(p)) is not None:
                book.options[position_key("OPT", p.symbol, p.con_id)] = meta
        self._count(book, fills)
        day = new_york(now).date()
        recorded: list[SettlementEvent] = []
        close = session_close(day) if is_trading_day(day) else None
        if close is not None and now >= close and day not in book.expired and not busy:
            closing = {s: await broker.underlying_price(s) for s in sorted({m.symbol for m, _ in expiring(book, day)})}
            known = {s: price for s, price in closing.items() if price is not None}
            if len(known) == len(closing):  # a price missing: the whole expiry waits for the next pass
                recorded += self._record(book, expiries(book, day, known, close, now))
                book.expired.add(day)
        recorded += await self._differences(book, broker_positions(held), now, close, busy)
        await self._readings(broker, book, held, day, close, now)
        return recorded

    def _count(self, book: AccountBook, fills: list[Fill]) -> None:
        """Apply new executions (and corrections of counted ones) to what the ledger explains."""
        for fill in fills:
            if fill.sec_type == "BAG":
                continue
            key = execution_key(fill.exec_id)
            now = (position_key(fill.sec_type, fill.symbol, fill.con_id), signed_qty(fill))
            before = book.counted.get(key)
            if before == now:
                continue
            if before is not None:
                book.expected[before[0]] -= before[1]
            book.expected[now[0]] += now[1]
            book.counted[key] = now
            if (meta := option_meta(fill)) is not None:
                book.options.setdefault(now[0], meta)

    def _record(self, book: AccountBook, events: list[SettlementEvent]) -> list[SettlementEvent]:
        for event in events:
            book.apply(event)
            if event.kind is SettlementKind.EXPIRY:
                book.unconfirmed.append(event)
            self.to_write.append(event)
            log.info("settlement recorded", extra={"follower_id": event.follower_id, "kind": str(event.kind),
                                                   "con_id": event.con_id, "qty": event.qty,
                                                   "shares": event.shares})
        return events

    async def _differences(self, book: AccountBook, broker: dict[str, int], now: datetime,
                           close: datetime | None, busy: bool) -> list[SettlementEvent]:
        """Settle option positions that differ from the ledger's the same way on two passes in a row."""
        day = new_york(now).date()
        after_close = close is not None and now >= close
        recorded: list[SettlementEvent] = []
        keys = {k for k in (*book.expected, *broker) if not k.startswith("STK:")}
        differences = {k: broker.get(k, 0) - book.expected.get(k, 0) for k in keys}
        for key, difference in sorted(differences.items()):
            meta = book.options.get(key)
            expiring = meta is not None and meta.expiry <= day and after_close
            if not difference or expiring or busy:
                book.suspect.pop(key, None)
                continue
            if book.suspect.get(key) != difference:
                book.suspect[key] = difference  # seen once: it must hold on the next pass too
                continue
            del book.suspect[key]
            event = settlement_of(book, key, difference, now, now)
            if event is not None:
                recorded += self._record(book, [event])
                continue
            if (key, difference) not in book.alerted:
                book.alerted.add((key, difference))
                await self.ctx.alerts.send(
                    "ledger.position_mismatch", Severity.CRITICAL,
                    f"{book.follower.ibkr_account}: {key} is {broker.get(key, 0)} at the broker, "
                    f"{book.expected.get(key, 0)} by the ledger, and no settlement explains it",
                    follower_id=book.follower.id)
        return recorded

    async def _readings(self, broker: LifecycleBroker, book: AccountBook, held: list[HeldPosition], day: date,
                        close: datetime | None, now: datetime) -> None:
        f = book.follower
        if close is not None and now >= close + CLOSE_READING_DELAY and (day, "close") not in book.readings:
            pnl = await broker.account_pnl(f.ibkr_account)
            if pnl is not None:
                lines, underlying = await self._marked(broker, held)
                await self.store.write_reading(BrokerReading(
                    follower_id=f.id, account=f.ibkr_account, date=day, phase="close", at=now,
                    realized_pnl=pnl.realized, positions=lines, underlying=underlying))
                book.readings.add((day, "close"))
        opening = datetime.combine(day, SESSION_OPEN, NEW_YORK)
        if close is not None and now < opening and (day, "open") not in book.readings:
            lines = tuple(_line(p, None) for p in held)
            await self.store.write_reading(BrokerReading(follower_id=f.id, account=f.ibkr_account, date=day,
                                                         phase="open", at=now, positions=lines))
            book.readings.add((day, "open"))
            await self._confirm(book, broker_positions(held), day)

    async def _confirm(self, book: AccountBook, broker: dict[str, int], day: date) -> None:
        """Before the session opens: do the broker's positions show the earlier expiries as booked?"""
        due = [e for e in book.unconfirmed if e.expiry < day]
        if not due:
            return
        book.unconfirmed = [e for e in book.unconfirmed if e.expiry >= day]
        expected = {k: q for k, q in book.expected.items() if q}
        differences = [f"{k}: broker {broker.get(k, 0)}, ledger {expected.get(k, 0)}"
                       for k in sorted(set(expected) | set(broker)) if broker.get(k, 0) != expected.get(k, 0)]
        note = "; ".join(differences)
        for event in due:
            await self.store.confirm_settlement(event.event_id, not differences, note)
        if differences:
            await self.ctx.alerts.send(
                "ledger.expiry_unconfirmed", Severity.CRITICAL,
                f"{book.follower.ibkr_account}: the positions after expiry differ from the ledger ({note})",
                follower_id=book.follower.id)
            for key, qty in broker.items():  # take the broker's word from here; the reconciliation keeps the gap
                book.expected[key] = qty
            for key in [k for k in book.expected if k not in broker]:
                book.expected[key] = 0

    async def _marked(self, broker: LifecycleBroker,
                      held: list[HeldPosition]) -> tuple[tuple[HeldLine, ...], Decimal | None]:
        symbols = list(dict.fromkeys(p.symbol for p in held))  # the account's underlyings, the first one's in front
        prices = {s: await broker.underlying_price(s) for s in symbols}
        options = [p.con_id for p in held if p.sec_type == "OPT"]
        quotes = await broker.option_quotes(options) if options else {}
        marks = {c: q.mid for c, q in quotes.items()}
        lines = tuple(_line(p, prices[p.symbol] if p.sec_type == "STK" else marks.get(p.con_id)) for p in held)
        return lines, prices[symbols[0]] if symbols else None

    async def _flush(self) -> None:
        """Write what was recorded; what fails is tried again next pass."""
        batch, self.to_write = self.to_write, []
        results = await asyncio.gather(*(self.store.record_settlement(e) for e in batch), return_exceptions=True)
        for event, result in zip(batch, results, strict=True):
            if isinstance(result, BaseException):
                if not isinstance(result, Exception):
                    raise result
                log.warning("settlement not written yet; retrying", extra={"event_id": event.event_id,
                                                                           "error": repr(result)})
                self.to_write.append(event)


def _line(p: HeldPosition, mark: Decimal | None) -> HeldLine:
    return HeldLine(con_id=p.con_id, symbol=p.symbol, sec_type=p.sec_type, right=p.right, strike=p.strike,
                    expiry=p.expiry, qty=p.qty, mark=mark)


def start_settlements(ctx: Context, ledger: ExecutionLedger, store: SettlementStore,
                      busy: Callable[[str], bool]) -> asyncio.Task[None] | None:
    """The desk's loop as a task of the running executor (None when the lifecycle is off: nothing watches)."""
    if not ctx.settings.lifecycle_enabled:
        return None
    desk = SettlementDesk(ctx, ledger, store, busy)
    return asyncio.get_running_loop().create_task(desk.run(), name="lifecycle:settlements")
