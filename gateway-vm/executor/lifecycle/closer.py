"""Closing orders: a whole spread as ONE combo (marketable limit, then market), a single leg, the stock.

Every close is an ``OrderIntent`` (kind exit / close_orphan / flatten) recorded create-if-absent before its order
goes out, tracked in the executor's intent book (so its fills land in ``fills`` and reconciliation covers it) and
driven to a final state. Never an over-close:
- a close is keyed by (follower, position, trigger): ``{kind}-{signal}-{follower}-{conId}-{trigger}-{n}``; the same
  trigger again (a retry, a redelivery, a restart) finds its own close and joins it; ``n`` counts closes of the
  same key after the previous one ended with the position still held (a partial fill);
- one follower's closes go one at a time: a second trigger (a flatten during a time-value exit) waits for the close
  in flight, and for the broker's positions to show its fill, then looks at what is still held;
- right before an order is sent its quantity is checked against the broker's positions: never more than is held.
The monitor asks ``busy`` before it triggers anything, which covers closes resumed after a restart too.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from executor.broker import (
    AckTimeout,
    BrokerDisconnected,
    Combo,
    ComboLegSpec,
    ComboQuote,
    HeldPosition,
    OrderAck,
    OrderRejected,
)
from executor.lifecycle.context import Context, sleep_or_stop
from executor.lifecycle.holdings import HeldSpread
from executor.lifecycle.ports import ComboOrder, LifecycleBroker, SingleOrder
from executor.outcome import settle
from executor.pricing import to_cents
from spreadpilot.models import (
    Follower,
    IntentKind,
    IntentState,
    OrderIntent,
    Right,
    Severity,
    Spread,
    StateChange,
    Strategy,
)

log = logging.getLogger(__name__)
QUOTE_TTL_S = 5.0  # business seconds a combo quote is reused by other followers' closes
BUSY_STATES = frozenset({IntentState.SUBMITTED, IntentState.WORKING, IntentState.UNKNOWN})
MAX_CLOSES_PER_KEY = 20  # closes of one (follower, position, trigger): partial fills re-close the rest
CATCH_UP_S = 10.0  # business seconds the broker's positions may take to show a close's fill
CATCH_UP_POLL_S = 0.5
ID_LIMIT = 128
TRIGGERS = {IntentKind.EXIT: "exit", IntentKind.CLOSE_ORPHAN: "orphan", IntentKind.FLATTEN: "flatten"}


class PositionsLag(RuntimeError):
    """The broker's positions do not show a close's fill yet: closing again now could over-close."""


class CloseInFlight(RuntimeError):
    """A close of the follower has no final outcome yet: nothing else is sent for it until it has."""


@dataclass(frozen=True)
class CloseTarget:
    """What one close order closes, and what it is recorded against."""

    follower: Follower
    signal_id: str
    spread: Spread
    expiry: date
    qty: int
    kind: IntentKind
    reason: str
    combo: HeldSpread | None = None  # a whole spread (one combo order)
    leg: HeldPosition | None = None  # or one contract (an orphan option or the stock)
    leg_qty: int = 0  # signed quantity held of ``leg``
    trigger: str = ""  # what asked for it (an operator action's id, "assignment"); default: the kind's own

    @property
    def symbol(self) -> str:
        """The underlying of what is closed."""
        if self.combo is not None:
            return self.combo.symbol
        return self.leg.symbol if self.leg is not None else "QQQ"

    @property
    def con_id(self) -> int:
        """The position's conId (the short leg of a spread)."""
        if self.combo is not None:
            return self.combo.short.con_id
        return self.leg.con_id if self.leg is not None else 0

    def held(self, positions: Sequence[HeldPosition]) -> int:
        """How much of this close's position the account holds in ``positions`` (0 if nothing is left)."""
        mine = {p.con_id: p.qty for p in positions if p.account == self.follower.ibkr_account}
        if self.combo is not None:
            return max(0, min(-mine.get(self.combo.short.con_id, 0), mine.get(self.combo.long.con_id, 0)))
        if self.leg is None:
            return 0
        qty = mine.get(self.leg.con_id, 0)
        return max(0, -qty if self.leg_qty < 0 else qty)


def close_key(target: CloseTarget) -> str:
    """``{kind}-{signal}-{follower}-{conId}-{trigger}``, the key of every close of one position for one trigger."""
    trigger = target.trigger or TRIGGERS.get(target.kind, str(target.kind))
    key = f"{target.kind}-{target.signal_id}-{target.follower.id}-{target.con_id}-{trigger}"
    if len(key) + 4 > ID_LIMIT:  # room for "-{n}"; a long trigger is shortened to its digest
        digest = hashlib.sha256(trigger.encode()).hexdigest()[:12]
        key = f"{target.kind}-{target.signal_id}-{target.follower.id}-{target.con_id}-{digest}"[:ID_LIMIT - 4]
    return key


def record_spread(right: Right, short_strike: Decimal, long_strike: Decimal) -> Spread:
    """A ``Spread`` for the record of legs without a known signal (strikes ordered as the strategy requires)."""
    low, high = sorted((short_strike, long_strike))
    high = high if high != low else low + 1
    if right is Right.PUT:
        return Spread(strategy=Strategy.BULL_PUT, short_strike=high, long_strike=low)
    return Spread(strategy=Strategy.BEAR_CALL, short_strike=low, long_strike=high)


class Closer:
    """Sends and follows closing orders."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.tasks: set[asyncio.Task[None]] = set()
        self.running: set[str] = set()
        self.pending: dict[str, int] = {}  # follower id → closes spawned and not finished
        self.last_close: dict[str, datetime] = {}  # follower id → when its last close was recorded
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._following: dict[str, asyncio.Task[OrderIntent]] = {}
        self._quotes: dict[tuple[str, tuple[int, ...]], tuple[float, asyncio.Future[ComboQuote | None]]] = {}

    def busy(self, follower_id: str) -> bool:
        """A close of this follower is in flight, queued, or its outcome is unknown."""
        if self.pending.get(follower_id) or self._locks[follower_id].locked():
            return True
        return any(t.intent.follower_id == follower_id and t.intent.kind is not IntentKind.ENTRY
                   and (t.intent.intent_id in self.running or t.intent.state in BUSY_STATES)
                   for t in self.ctx.book.tracked.values())

    def spawn(self, target: CloseTarget) -> None:
        """Record and drive one close as its own task (a failure is alerted, never raised)."""
        follower_id = target.follower.id
        self.pending[follower_id] = self.pending.get(follower_id, 0) + 1
        task = asyncio.get_running_loop().create_task(self._isolated(target), name=f"close:{follower_id}")
        self.tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self.tasks.discard(t)
            self.pending[follower_id] -= 1

        task.add_done_callback(done)

    async def close(self, target: CloseTarget) -> OrderIntent | None:
        """Close what is still held of ``target``'s position, after any close of the follower in flight ended; the
        final intent (None when nothing was left to close). Raises on broker or store trouble: try again."""
        async with self._locks[target.follower.id]:
            await self.wait_idle(target.follower.id)
            broker = self.ctx.broker(target.follower.gateway_id)
            if broker is None:
                raise BrokerDisconnected(f"gateway {target.follower.gateway_id} not ready")
            held = target.held(await broker.positions(target.follower.ibkr_account))
            if held == 0:
                log.info("nothing left to close", extra={"follower_id": target.follower.id, "reason": target.reason})
                return None
            intent = await self._record(target, min(held, target.qty))
            if intent.state is IntentState.PLANNED:
                final = await self.drive(intent.intent_id, target)
            else:  # a close of this key already went out (an earlier attempt or process): follow it
                final = await self.follow_once(intent.intent_id)
            if final.filled_qty > 0:
                await self._caught_up(broker, target, held - final.filled_qty)
            return final

    async def wait_idle(self, follower_id: str) -> None:
        """Follow every close of the follower not final yet (resumed after a restart, or in doubt) to its end;
        ``CloseInFlight`` if one still has no final outcome (its gateway is away, the broker has not answered)."""
        open_refs = self._open_closes(follower_id)
        for ref in open_refs:
            if self.ctx.stop.is_set():
                return
            await self.follow_once(ref)
        still = [ref for ref in open_refs if ref in self._open_closes(follower_id)]
        if still:
            raise CloseInFlight(f"close {', '.join(still)} has no final outcome yet")

    def _open_closes(self, follower_id: str) -> list[str]:
        return [t.intent.intent_id for t in list(self.ctx.book.tracked.values())
                if t.intent.follower_id == follower_id and t.intent.kind is not IntentKind.ENTRY
                and not t.intent.state.final and t.intent.intent_id not in self.running]

    def follow_once(self, ref: str) -> asyncio.Future[OrderIntent]:
        """``follow(ref)``, once however many wait for it (a joiner's cancellation leaves it running)."""
        task = self._following.get(ref)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self.follow(ref), name=f"close:follow:{ref}")
            self._following[ref] = task
            task.add_done_callback(lambda _: self._following.pop(ref, None))
        return asyncio.shield(task)

    def following(self) -> list[asyncio.Task[OrderIntent]]:
        """Follow-ups running now."""
        return list(self._following.values())

    async def _caught_up(self, broker: LifecycleBroker, target: CloseTarget, expected: int) -> None:
        """Wait until the broker's positions show the fill (held ≤ ``expected``); ``PositionsLag`` if they do not."""
        deadline = self.ctx.clock.now().timestamp() + CATCH_UP_S
        while True:
            held = target.held(await broker.positions(target.follower.ibkr_account))
            if held <= max(expected, 0):
                return
            if self.ctx.clock.now().timestamp() >= deadline or self.ctx.stop.is_set():
                raise PositionsLag(f"positions still show {held} after a close of {target.follower.id} "
                                   f"(expected at most {expected})")
            await sleep_or_stop(self.ctx, CATCH_UP_POLL_S)

    async def _isolated(self, target: CloseTarget) -> None:
        try:
            await self.close(target)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one follower's close must not stop the monitor or the other closes
            log.exception("close failed", extra={"follower_id": target.follower.id})
            await self.ctx.alerts.send("position.close_failed", Severity.CRITICAL,
                                       f"closing {target.kind} failed: {exc!r}", follower_id=target.follower.id,
                                       signal_id=target.signal_id)

    async def _record(self, target: CloseTarget, qty: int) -> OrderIntent:
        """This close's intent: a new one of its key, or the one of its key that has not ended yet (joined)."""
        now = self.ctx.clock.now()
        self.last_close[target.follower.id] = now
        key = close_key(target)
        for n in range(1, MAX_CLOSES_PER_KEY + 1):
            ref = f"{key}-{n}"
            tracked = self.ctx.book.tracked.get(ref)
            if tracked is not None:
                if not tracked.intent.state.final:
                    return tracked.intent
                continue
            intent = OrderIntent(
                intent_id=ref, kind=target.kind, signal_id=target.signal_id, follower_id=target.follower.id,
                gateway_id=target.follower.gateway_id, account=target.follower.ibkr_account, symbol=target.symbol,
                spread=target.spread,
                expiry=target.expiry, contracts=qty,
                history=(StateChange(state=IntentState.PLANNED, at=now, note=target.reason),), reason=target.reason,
                created_at=now, updated_at=now)
            if await self.ctx.intents.create_intent(intent, self.ctx.book.epoch(intent.gateway_id)):
                self.ctx.book.track(intent)
                log.info("close recorded", extra={"order_ref": ref, "follower_id": target.follower.id,
                                                  "kind": str(target.kind), "reason": target.reason})
                return intent
            # recorded before (an attempt whose answer was lost, or an earlier process): that one, if not ended
            stored = (await self.ctx.intents.get_intents([ref])).get(ref)
            if stored is not None and not stored.state.final:
                return self.ctx.book.track(stored).intent
        raise RuntimeError(f"{MAX_CLOSES_PER_KEY} closes of {key} and the position is still held")

    async def drive(self, ref: str, target: CloseTarget) -> OrderIntent:
        """Send the close (limit, then market after ``exit_market_after_s``) and wait for its outcome."""
        broker = self.ctx.broker(target.follower.gateway_id)
        if broker is None:
            return await self.ctx.book.move(ref, IntentState.CANCELLED, "gateway not ready; the next pass retries",
                                            reason="gateway not ready")
        self.running.add(ref)
        doubt = False  # the broker's answer was lost: reconciliation decides, then the close is followed
        try:
            limit = await self._limit(broker, target)
            # the last look before the order goes: never more than the account holds right now
            held = target.held(await broker.positions(target.follower.ibkr_account))
            if held == 0:
                return await self.ctx.book.move(ref, IntentState.CANCELLED, "nothing left to close at the broker",
                                                reason="nothing left to close")
            qty = min(held, self.ctx.book.get(ref).contracts)
            await self.ctx.book.move(ref, IntentState.SUBMITTED, f"closing {qty} at {limit or 'market'}",
                                     limit=limit, contracts=qty)
            async with self._sending(ref):
                ack = await self._send(broker, ref, target, limit, qty)
            await self.ctx.book.move(ref, IntentState.WORKING, f"acknowledged ({ack.status})", order_id=ack.order_id,
                                     perm_id=ack.perm_id or None)
            if await self._wait_final(ref, self.ctx.settings.exit_market_after_s):
                return self.ctx.book.get(ref)
            if limit is not None:
                async with self._sending(ref):
                    await broker.to_market(ref)
                await self.ctx.book.update(ref, limit=None)
                log.info("close turned to market", extra={"order_ref": ref})
            if not await self._wait_final(ref, self.ctx.settings.exit_done_timeout_s):
                await self.ctx.alerts.send("position.close_unfilled", Severity.CRITICAL,
                                           f"close order {ref} not filled at market", follower_id=target.follower.id,
                                           order_ref=ref)
        except OrderRejected as exc:
            await self.ctx.book.move(ref, IntentState.REJECTED, exc.reason, reason=exc.reason)
            await self.ctx.alerts.send("position.close_rejected", Severity.CRITICAL, f"close rejected: {exc.reason}",
                                       follower_id=target.follower.id, order_ref=ref)
        except AckTimeout as exc:
            await self.ctx.book.move(ref, IntentState.UNKNOWN, f"no acknowledgement: {exc}")
            link = self.ctx.links[target.follower.gateway_id]
            await link.resync(f"no acknowledgement for {ref}")
            doubt = True
        except BrokerDisconnected:
            log.warning("disconnected mid-close; reconciliation decides", extra={"order_ref": ref})
            doubt = True
        finally:
            self.running.discard(ref)
        if doubt and not self.ctx.stop.is_set():
            return await self.follow_once(ref)
        return self.ctx.book.get(ref)

    async def follow(self, ref: str) -> OrderIntent:
        """Follow a close whose outcome is open (sent by an earlier process, or before a disconnect or a lost
        acknowledgement): once its gateway is reconciled, market it if it still rests as a limit, wait for its end."""
        self.running.add(ref)
        try:
            while not self.ctx.stop.is_set():
                intent = self.ctx.book.get(ref)
                if intent.state.final:
                    break
                if intent.state is IntentState.PLANNED:  # recorded, never sent (SUBMITTED is written before sending)
                    # whoever triggered it looks again at what is held: the monitor on its next pass, an operator
                    # action on its part's next attempt
                    await self.ctx.book.move(ref, IntentState.CANCELLED, "never reached the broker",
                                             reason="never reached the broker")
                    break
                link = self.ctx.links.get(intent.gateway_id)
                if link is None:
                    break
                if not link.ready.is_set():
                    await sleep_or_stop(self.ctx, 1.0)
                    continue
                try:
                    if intent.state is IntentState.WORKING and intent.limit is not None \
                            and not await self._wait_final(ref, self.ctx.settings.exit_market_after_s):
                        await self._to_market(ref)
                    if not await self._wait_final(ref, self.ctx.settings.exit_done_timeout_s):
                        await self.ctx.alerts.send("position.close_unfilled", Severity.CRITICAL,
                                                   f"close order {ref} has no final outcome", order_ref=ref,
                                                   follower_id=intent.follower_id)
                    break
                except (BrokerDisconnected, AckTimeout):
                    log.warning("following a close: broker unavailable; waiting for reconciliation",
                                extra={"order_ref": ref})
        finally:
            self.running.discard(ref)
        return self.ctx.book.get(ref)

    async def _to_market(self, ref: str) -> None:
        broker = self.ctx.broker(self.ctx.book.get(ref).gateway_id)
        if broker is None:
            raise BrokerDisconnected("gateway not ready")
        async with self._sending(ref):
            await broker.to_market(ref)
        await self.ctx.book.update(ref, limit=None)
        log.info("close turned to market", extra={"order_ref": ref})

    @contextlib.asynccontextmanager
    async def _sending(self, ref: str) -> AsyncIterator[None]:
        """Mark a message for ``ref`` in flight, so a concurrent reconciliation leaves its outcome to the answer."""
        tracked = self.ctx.book.tracked[ref]
        tracked.sending = True
        try:
            yield
        finally:
            tracked.sending = False

    async def _limit(self, broker: LifecycleBroker, target: CloseTarget) -> Decimal | None:
        """A marketable limit for a combo close (the far side plus slack) or a stock sale (the mid plus slack);
        None = market (a single option leg, no quote)."""
        if target.combo is None:
            if target.leg is None or target.leg.sec_type != "STK":
                return None
            mid = await broker.underlying_price(target.leg.symbol)
            if mid is None:
                return None
            slack = self.ctx.settings.stock_limit_slack
            # selling long stock asks a little less than the mid, buying back short stock bids a little more
            return to_cents(mid - slack if target.leg_qty > 0 else mid + slack)
        quote = await self._quote(broker, target.follower.gateway_id, _combo(target.combo))
        if quote is None:
            return None
        # SELLing the credit combo back: its BUY-side bid is where it sells now; asking less makes it marketable.
        return to_cents(quote.bid - self.ctx.settings.exit_limit_slack)

    async def _quote(self, broker: LifecycleBroker, gateway_id: str, combo: Combo) -> ComboQuote | None:
        """The combo's quote, asked once per gateway and combo within ``QUOTE_TTL_S`` however many followers close it
        (a flatten of hundreds of followers must not queue hundreds of quote requests before its orders)."""
        key = (gateway_id, tuple(leg.con_id for leg in combo.legs))
        now = self.ctx.clock.now().timestamp()
        cached = self._quotes.get(key)
        if cached is None or now - cached[0] > QUOTE_TTL_S or (
                cached[1].done() and (cached[1].cancelled() or cached[1].exception() is not None)):
            cached = (now, asyncio.ensure_future(broker.quote(combo)))
            self._quotes[key] = cached
        return await asyncio.shield(cached[1])

    async def _send(self, broker: LifecycleBroker, ref: str, target: CloseTarget, limit: Decimal | None,
                    qty: int) -> OrderAck:
        account = target.follower.ibkr_account
        if target.combo is not None:
            return await broker.place_combo(ComboOrder(ref, account, _combo(target.combo), "SELL", qty, limit))
        assert target.leg is not None, "a close names a spread or a leg"
        action = "BUY" if target.leg_qty < 0 else "SELL"
        return await broker.place_single(SingleOrder(ref, account, target.leg.con_id, target.leg.sec_type, action,
                                                     qty, limit, target.leg.symbol))

    async def _wait_final(self, ref: str, seconds: float) -> bool:
        """Wait up to ``seconds`` (business) for the close to end; True once it is final."""
        deadline = self.ctx.clock.now().timestamp() + seconds
        while True:
            intent = self.ctx.book.get(ref)
            if intent.state.final:
                return True
            update = self.ctx.book.last_update(ref)
            if intent.contracts > 0 and intent.filled_qty >= intent.contracts:
                await self.ctx.book.move(ref, IntentState.FILLED, "closed")
                return True
            if update is not None and update.done:
                await settle(self.ctx.book, self.ctx.alerts, update)
                return True
            left = deadline - self.ctx.clock.now().timestamp()
            if left <= 0 or self.ctx.stop.is_set():
                return False
            await self.ctx.book.wait_changed(ref, left, self.ctx.stop)


def _combo(spread: HeldSpread) -> Combo:
    """The held spread as the combo it was opened as (sell the short, buy the long); SELLing it closes it."""
    short, long_ = spread.short, spread.long
    return Combo(spread.symbol, (
        ComboLegSpec(short.con_id, "SELL", spread.right, spread.short_strike, short.expiry or date.min),
        ComboLegSpec(long_.con_id, "BUY", spread.right, spread.long_strike, long_.expiry or date.min),
    ))
