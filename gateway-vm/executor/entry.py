"""One follower's entry, from a planned intent to a final state: checks → order → limit ladder → outcome.

``EntryRunner.run`` is the only code that sends orders for an intent, and at most one run per intent is active.
It sends only through a gateway that is ``ready`` (owned, connected and reconciled), and after any doubt
(disconnect, lost acknowledgement, a refused modify, a local view in doubt) it lets reconciliation decide from
broker truth before doing anything else.

What goes wrong is told apart by what the caller must do:
- a quote, qualification or what-if that does not answer sent no order: the entry asks again after
  ``market_retry_s``, and is skipped with an alert after ``market_attempts``;
- an order message without acknowledgement may have reached the broker: the intent is ``unknown`` until
  reconciliation finds it;
- a Firestore error changed nothing in memory (the book writes first): the entry retries after ``store_retry_s``
  and alerts once it keeps failing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from decimal import Decimal

from executor.alerts import Alerts
from executor.book import IntentBook, Tracked
from executor.broker import (
    AckTimeout,
    BrokerDisconnected,
    MarketDataTimeout,
    NotModifiable,
    OrderRejected,
    OrderRequest,
    OutcomeUnknown,
)
from executor.checks import (
    MarginDecision,
    credit_reason,
    entry_window_reason,
    kill_switch_reason,
    local_margin_decision,
    margin_decision,
    seconds_until_window,
    stale_reason,
)
from executor.gateways import GatewayLink
from executor.intents import ExecutorStore
from executor.ladder import ladder_exhausted, next_limit
from executor.lease import LeaseLost
from executor.market import MarketCache, market_data
from executor.outcome import settle
from executor.price_path import PricePath
from executor.pricing import combo_limit, credit_of, to_cents
from executor.settings import ExecutorSettings
from spreadpilot.clock import Clock
from spreadpilot.errors import Rejected
from spreadpilot.models import IntentState, OrderIntent, Severity

log = logging.getLogger(__name__)
ACTION = "BUY"  # a credit spread is bought as a BAG at a negative price (see pricing)
QUOTE_TTL_STEPS = 2  # a quote is shared for two ladder steps' worth of business time
STORE_ALERT_AFTER = 3  # Firestore errors in a row before an entry alerts


class EntryRunner:
    """Drives intents to a final state."""

    def __init__(self, book: IntentBook, store: ExecutorStore, links: dict[str, GatewayLink], alerts: Alerts,
                 settings: ExecutorSettings, clock: Clock, stop: asyncio.Event) -> None:
        self.book = book
        self.store = store
        self.links = links
        self.alerts = alerts
        self.settings = settings
        self.clock = clock
        self.stop = stop
        self.markets = MarketCache(clock, QUOTE_TTL_STEPS * settings.ladder_step_s)
        self.prechecked: set[str] = set()  # kill switches already read for these intents at planning
        self.paths: dict[str, PricePath] = {}  # signal id → the price path every follower's ladder follows

    async def run(self, intent_id: str) -> None:
        """Drive one intent until it is final, unknown, or the service stops (its order then rests at the broker)."""
        tracked = self.book.tracked[intent_id]
        if tracked.running():
            return
        tracked.runner = asyncio.current_task()
        try:
            await self._drive(intent_id, tracked)
        finally:
            tracked.runner = None

    async def _drive(self, intent_id: str, tracked: Tracked) -> None:
        market_attempts = store_failures = 0
        while not self.stop.is_set():
            if self.book.tracked.get(intent_id) is not tracked:
                return  # dropped: another process drives its gateway now
            link = self.links[self.book.get(intent_id).gateway_id]
            if not await self._until_ready(link):
                return
            intent = self.book.get(intent_id)  # as the last reconciliation left it
            if intent.state.final or intent.state is IntentState.UNKNOWN:
                return
            try:
                if intent.state is IntentState.PLANNED:
                    await self._submit(intent, link)
                elif intent.state is IntentState.WORKING:
                    await self._ladder(intent_id, link)
                else:  # submitted by an attempt whose outcome nobody saw: broker truth decides
                    await link.resync(f"outcome of {intent_id} unknown")
                store_failures = 0
            except BrokerDisconnected:
                log.warning("disconnected mid-entry; waiting for reconciliation", extra={"order_ref": intent_id})
            except LeaseLost:
                return
            except MarketDataTimeout as exc:  # no order was sent: ask again, for a while
                market_attempts += 1
                if market_attempts >= self.settings.market_attempts:
                    await self._skip_no_market(intent_id, str(exc))
                    return
                log.warning("market data slow; asking again", extra={"order_ref": intent_id, "error": str(exc)})
                await self._sleep(self.settings.market_retry_s)
            except (AckTimeout, OutcomeUnknown) as exc:
                if self.book.get(intent_id).state.final:
                    return
                if self.book.get(intent_id).state is IntentState.SUBMITTED:  # sent, and its fate is the broker's
                    why = "no acknowledgement" if isinstance(exc, AckTimeout) else "outcome unknown"
                    await self.book.move(intent_id, IntentState.UNKNOWN, f"{why}: {exc}")
                await link.resync(f"{exc} ({intent_id})")
            except Rejected as exc:  # the broker refused the order, or the spread is not listed there
                await self._reject(intent_id, exc.reason)
                return
            except Exception as exc:  # a store error: nothing changed in memory, so trying again is safe
                store_failures += 1
                log.warning("entry step failed; retrying", exc_info=exc, extra={"order_ref": intent_id})
                if store_failures == STORE_ALERT_AFTER:
                    intent = self.book.get(intent_id)
                    await self.alerts.send("executor.entry_stalled", Severity.CRITICAL,
                                           f"entry keeps failing ({store_failures} times): {exc!r}",
                                           follower_id=intent.follower_id, signal_id=intent.signal_id,
                                           order_ref=intent_id)
                await self._sleep(self.settings.store_retry_s * min(store_failures, 10))

    async def _skip_no_market(self, ref: str, why: str) -> None:
        reason = f"no market data for the spread after {self.settings.market_attempts} attempts ({why})"
        intent = await self.book.move(ref, IntentState.SKIPPED, reason, reason=reason)
        await self.alerts.send("order.no_market_data", Severity.WARNING, reason, follower_id=intent.follower_id,
                               signal_id=intent.signal_id, order_ref=ref)

    async def _sleep(self, seconds: float) -> bool:
        """Sleep ``seconds`` of business time; False if the service is stopping."""
        waits = [asyncio.ensure_future(self.clock.sleep(seconds)), asyncio.ensure_future(self.stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        return not self.stop.is_set()

    async def _until_ready(self, link: GatewayLink) -> bool:
        if link.ready.is_set():
            return True
        waits = [asyncio.ensure_future(link.ready.wait()), asyncio.ensure_future(self.stop.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        return link.ready.is_set() and not self.stop.is_set()

    async def _submit(self, intent: OrderIntent, link: GatewayLink) -> None:
        """Checks, then the first order of the ladder; the intent is SUBMITTED before anything is sent."""
        ref = intent.intent_id
        wait = seconds_until_window(self.clock.now(), self.settings.entry_start)
        if wait > 0 and stale_reason(intent.expiry, self.clock.now()) is None:
            if not await self._sleep(wait):
                return  # stopping: the intent stays planned and a restart picks it up
            self.prechecked.discard(ref)  # kill switches are read again at the open
        reason = stale_reason(intent.expiry, self.clock.now()) or entry_window_reason(
            self.clock.now(), self.settings.entry_start, self.settings.entry_end)
        if reason is None and ref not in self.prechecked:
            global_controls, per_follower = await self.store.controls([intent.follower_id])
            reason = kill_switch_reason(global_controls, per_follower[intent.follower_id])
        self.prechecked.discard(ref)
        if reason is not None:  # decided without market data
            await self.book.move(ref, IntentState.SKIPPED, reason, reason=reason)
            return
        market = await market_data(self.markets.get(link, intent))
        path = self.paths.setdefault(intent.signal_id, PricePath(
            to_cents(credit_of(ACTION, market.quote.mid)), self.clock.now().timestamp(), self.settings.ladder_step_s))
        reason = credit_reason(path.mid_credit, self.settings.min_credit)
        if reason is not None:
            await self.book.move(ref, IntentState.SKIPPED, reason, reason=reason)
            return
        step = path.step_at(self.clock.now().timestamp(), self.settings.ladder_max_steps)
        credit = path.credit(step, self.settings.min_credit, self.settings.ladder_tick)
        contracts = intent.contracts
        request = OrderRequest(ref, intent.account, market.combo, ACTION, contracts, combo_limit(ACTION, credit))
        if self.settings.what_if:
            decision = await self._margin(request, link)
            if decision.contracts == 0:
                await self.book.move(ref, IntentState.SKIPPED, decision.reason, reason=decision.reason)
                await self.alerts.send("order.margin_skip", Severity.WARNING, decision.reason,
                                       follower_id=intent.follower_id, signal_id=intent.signal_id, order_ref=ref)
                return
            if decision.contracts != contracts:
                contracts = decision.contracts
                request = OrderRequest(ref, intent.account, market.combo, ACTION, contracts, request.limit)
                await self.alerts.send("order.margin_reduced", Severity.WARNING, decision.reason,
                                       follower_id=intent.follower_id, signal_id=intent.signal_id, order_ref=ref)
        await self.book.move(ref, IntentState.SUBMITTED, f"sending at {request.limit}", contracts=contracts,
                             limit=request.limit, ladder_step=step, signal_mid=path.mid_credit)
        if not link.ready.is_set():
            raise BrokerDisconnected(f"gateway {link.gateway_id} not ready")
        async with self._sending(ref):
            ack = await link.broker.place(request)
        if self.book.get(ref).state is IntentState.SUBMITTED:
            await self.book.move(ref, IntentState.WORKING, f"acknowledged ({ack.status})", order_id=ack.order_id,
                                 perm_id=ack.perm_id or None)

    async def _ladder(self, ref: str, link: GatewayLink) -> None:
        """Concede a tick every step until filled, done at the broker, or the ladder is exhausted."""
        step_s = self.settings.ladder_step_s
        path = self.paths.get(self.book.get(ref).signal_id)
        # on the signal's common schedule; an order resumed after a restart steps from now
        next_step_at = (path.step_time(self.book.get(ref).ladder_step + 1) if path is not None
                        else self.clock.now().timestamp() + step_s)
        while True:
            intent = self.book.get(ref)
            if intent.state.final or intent.state is IntentState.UNKNOWN:
                return  # done, or left to reconciliation and an operator
            update = self.book.last_update(ref)
            if intent.filled_qty >= intent.contracts > 0:
                await self.book.move(ref, IntentState.FILLED, "all spreads filled")
                return
            if update is not None and update.done:
                await settle(self.book, self.alerts, update)
                return
            remaining = next_step_at - self.clock.now().timestamp()
            if remaining > 0:
                await self.book.wait_changed(ref, remaining, self.stop)
                if self.stop.is_set():
                    return  # parked: the order rests at the broker at its last limit; a restart resumes it
                continue
            next_step_at += step_s
            await self._concede(intent, link)

    async def _concede(self, intent: OrderIntent, link: GatewayLink) -> None:
        if self.book.tracked[intent.intent_id].held:
            return
        step = intent.ladder_step + 1
        if ladder_exhausted(step, self.settings.ladder_max_steps):
            await self._cancel_remainder(intent, link)
            return
        current = credit_of(ACTION, intent.limit or Decimal(0))
        path = self.paths.get(intent.signal_id)
        mid = path.mid_credit if path is not None else current + self.settings.ladder_tick * intent.ladder_step
        credit = next_limit(step, mid, self.settings.min_credit, self.settings.ladder_tick)
        if credit == current:
            await self.book.update(intent.intent_id, ladder_step=step)
            return
        if not link.ready.is_set():
            raise BrokerDisconnected(f"gateway {link.gateway_id} not ready")
        try:
            async with self._sending(intent.intent_id):
                ack = await link.broker.modify(intent.intent_id, combo_limit(ACTION, credit))
        except NotModifiable as exc:  # the order rests at its limit; its own outcome ends the entry
            await self._hold(intent, exc.reason)
            return
        except OrderRejected as exc:  # only the modify was refused: the order may well be live (or just filled)
            log.warning("modify refused; reconciling", extra={"order_ref": intent.intent_id, "reason": exc.reason})
            await self.book.update(intent.intent_id, ladder_step=step)
            raise OutcomeUnknown(f"modify refused: {exc.reason}") from exc
        await self.book.update(intent.intent_id, ladder_step=step, limit=combo_limit(ACTION, credit),
                               order_id=ack.order_id)

    async def _margin(self, request: OrderRequest, link: GatewayLink) -> MarginDecision:
        """The margin decision: local when it is clear (one message per follower), else the broker's what-if."""
        legs = request.combo.legs
        width = abs(legs[0].strike - legs[1].strike)
        local = local_margin_decision(request.qty, width, link.broker.account_state(request.account),
                                      self.settings.margin_band_pct, self.settings.margin_mode)
        if local.decision is not None:
            return local.decision
        log.info("margin asked of the broker", extra={"order_ref": request.order_ref, "why": local.why_ask})
        margin = await market_data(link.broker.what_if(request))
        return margin_decision(request.qty, margin, self.settings.margin_mode)

    async def _hold(self, intent: OrderIntent, why: str) -> None:
        """An order this client cannot change (placed by another client id) rests at its limit: no more ladder
        steps, no cancel from here; its intent is ``unknown`` until an operator manages it in TWS."""
        self.book.tracked[intent.intent_id].held = True
        note = (f"the order rests at the broker at {intent.limit} but this executor cannot modify or cancel it "
                f"({why}); manage it in TWS (or the gateway's pinned client id is misconfigured)")
        await self.book.move(intent.intent_id, IntentState.UNKNOWN, note)
        await self.alerts.send("order.not_modifiable", Severity.CRITICAL, note, follower_id=intent.follower_id,
                               signal_id=intent.signal_id, order_ref=intent.intent_id)

    async def _cancel_remainder(self, intent: OrderIntent, link: GatewayLink) -> None:
        ref = intent.intent_id
        if not link.ready.is_set():
            raise BrokerDisconnected(f"gateway {link.gateway_id} not ready")
        try:
            await link.broker.cancel(ref)
        except NotModifiable as exc:
            await self._hold(intent, exc.reason)
            return
        deadline = asyncio.get_running_loop().time() + self.settings.ack_timeout_s
        while not ((u := self.book.last_update(ref)) is not None and u.done):
            if self.book.get(ref).state.final:
                return  # settled meanwhile (e.g. by a reconciliation)
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise AckTimeout(f"no cancel confirmation for {ref}")
            t = self.book.tracked[ref]
            t.changed.clear()
            try:
                await asyncio.wait_for(t.changed.wait(), timeout=left)
            except TimeoutError:
                continue
        note = f"ladder exhausted after {self.settings.ladder_max_steps} steps; remainder cancelled"
        final = await settle(self.book, self.alerts, u, note)
        await self.alerts.send("order.ladder_exhausted", Severity.WARNING,
                               f"{note}: filled {final.filled_qty}/{final.contracts}", follower_id=final.follower_id,
                               signal_id=final.signal_id, order_ref=ref)

    @contextlib.asynccontextmanager
    async def _sending(self, ref: str) -> AsyncIterator[None]:
        """Mark a message for ``ref`` in flight, so a concurrent reconciliation leaves its outcome to the answer."""
        tracked = self.book.tracked[ref]
        tracked.sending = True
        try:
            yield
        finally:
            tracked.sending = False

    async def _reject(self, ref: str, reason: str) -> None:
        intent = await self.book.move(ref, IntentState.REJECTED, reason, reason=reason)
        await self.alerts.send("order.rejected", Severity.WARNING, f"order rejected: {reason}",
                               follower_id=intent.follower_id, signal_id=intent.signal_id, order_ref=ref)
