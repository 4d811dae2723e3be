"""Closing orders: a whole spread as ONE combo (marketable limit, then market), a single leg, the stock; exercise.

Every close is an ``OrderIntent`` (kind exit / close_orphan / flatten) recorded create-if-absent before its order
goes out, tracked in the executor's intent book (so its fills land in ``fills`` and reconciliation covers it) and
driven to a final state by one task. A follower with a close in flight gets no second one: the monitor asks
``busy`` first, which also covers closes resumed after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
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
    make_intent_id,
)

log = logging.getLogger(__name__)
QUOTE_TTL_S = 5.0  # business seconds a combo quote is reused by other followers' closes
BUSY_STATES = frozenset({IntentState.SUBMITTED, IntentState.WORKING, IntentState.UNKNOWN})


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
        self._quotes: dict[tuple[str, tuple[int, ...]], tuple[float, asyncio.Future[ComboQuote | None]]] = {}

    def busy(self, follower_id: str) -> bool:
        """A close of this follower is in flight (or its outcome is unknown)."""
        if self.pending.get(follower_id):
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
        """Record the close intent and drive its order to a final state; the final intent (None if not sent)."""
        intent = await self._record(target)
        if intent is None:
            return None
        return await self.drive(intent.intent_id, target)

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

    async def _record(self, target: CloseTarget) -> OrderIntent | None:
        now = self.ctx.clock.now()
        self.last_close[target.follower.id] = now
        base = make_intent_id(target.signal_id, target.follower.id, target.kind)
        con_id = target.combo.short.con_id if target.combo is not None else target.leg.con_id if target.leg else 0
        intent = OrderIntent(
            intent_id=f"{base}-{now:%H%M%S}-{con_id}", kind=target.kind, signal_id=target.signal_id,
            follower_id=target.follower.id, gateway_id=target.follower.gateway_id,
            account=target.follower.ibkr_account, spread=target.spread, expiry=target.expiry, contracts=target.qty,
            history=(StateChange(state=IntentState.PLANNED, at=now, note=target.reason),), reason=target.reason,
            created_at=now, updated_at=now)
        if not await self.ctx.intents.create_intent(intent, self.ctx.book.epoch(intent.gateway_id)):
            return None  # the same close was recorded this very second: that one runs
        self.ctx.book.track(intent)
        log.info("close recorded", extra={"order_ref": intent.intent_id, "follower_id": target.follower.id,
                                          "kind": str(target.kind), "reason": target.reason})
        return intent

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
            await self.ctx.book.move(ref, IntentState.SUBMITTED, f"closing at {limit or 'market'}", limit=limit)
            async with self._sending(ref):
                ack = await self._send(broker, ref, target, limit)
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
            return await self.follow(ref)
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
                if intent.state is IntentState.PLANNED:  # reconciliation: the broker never got it
                    await self.ctx.book.move(ref, IntentState.CANCELLED, "not at the broker after reconciliation",
                                             reason="never reached the broker")
                    if intent.kind is IntentKind.FLATTEN:  # the monitor redoes exits and orphans, not a flatten
                        await self.ctx.alerts.send("position.flatten_lost", Severity.CRITICAL,
                                                   f"flatten close {ref} never reached the broker: flatten again",
                                                   follower_id=intent.follower_id, order_ref=ref)
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
        """A marketable limit for a combo close (the far side plus slack); None = market (single legs, no quote)."""
        if target.combo is None:
            return None
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

    async def _send(self, broker: LifecycleBroker, ref: str, target: CloseTarget, limit: Decimal | None) -> OrderAck:
        account = target.follower.ibkr_account
        if target.combo is not None:
            return await broker.place_combo(ComboOrder(ref, account, _combo(target.combo), "SELL", target.qty, limit))
        assert target.leg is not None, "a close names a spread or a leg"
        action = "BUY" if target.leg_qty < 0 else "SELL"
        return await broker.place_single(SingleOrder(ref, account, target.leg.con_id, target.leg.sec_type, action,
                                                     target.qty, limit))

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
    return Combo("QQQ", (
        ComboLegSpec(short.con_id, "SELL", spread.right, spread.short_strike, short.expiry or date.min),
        ComboLegSpec(long_.con_id, "BUY", spread.right, spread.long_strike, long_.expiry or date.min),
    ))
