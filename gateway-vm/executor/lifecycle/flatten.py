"""One follower's part of a flatten (an operator's flatten or close_follower, the breaker's flatten).

Done only when the account is flat at the broker and nothing of the follower is still on its way:
1. every entry of the follower that has not ended is cancelled (SUBMITTED ones too, not only WORKING) and waited for
   until it ends, so a late fill is closed with the rest instead of staying open (an entry left ``unknown`` with no
   order at the broker after its gateway reconciled never ends: what it left in the account is closed as it is);
2. the closes of the follower in flight (a time-value exit, a close resumed after a restart) are joined, not doubled;
3. what the broker holds of the day's options and the stock is closed (spreads as one combo each, orphan legs, the
   stock; an option of another expiry is the follower's own and stays), each close keyed by
   (follower, position, this action), and the positions are read again until they are flat, twice
   ``flatten_settle_s`` apart when anything ended meanwhile (positions arrive apart from fills).
Anything that goes wrong raises: the action retries the part (it finds its own closes again by their keys).
"""

from __future__ import annotations

import logging
from collections import Counter

from executor.book import IntentBook
from executor.broker import BrokerDisconnected, NotModifiable, OutcomeUnknown
from executor.lifecycle.assignment import SpreadRecord, record_of
from executor.lifecycle.closer import Closer, CloseTarget
from executor.lifecycle.context import Context, SharedRead, sleep_or_stop
from executor.lifecycle.holdings import Holdings, classify
from executor.lifecycle.ports import LifecycleBroker
from executor.outcome import settle
from spreadpilot.clock import new_york
from spreadpilot.models import Follower, IntentKind, IntentState, OrderIntent

log = logging.getLogger(__name__)
MAX_ROUNDS = 5  # rounds of "read positions, close what is held" in one attempt
RECORDS_TTL_S = 30.0  # business seconds the day's entries (what positions are recorded against) are reused
ENTRY_POLL_S = 0.5


class NotFlat(RuntimeError):
    """The account still holds something (or an entry is still on its way); the part is tried again."""


class Flattener:
    """Makes one follower's account flat."""

    def __init__(self, ctx: Context, closer: Closer) -> None:
        self.ctx = ctx
        self.closer = closer
        self.active: Counter[str] = Counter()  # follower id → flatten parts running (the monitor keeps off)
        self._records = SharedRead(ctx.clock, RECORDS_TTL_S, self._read_records)

    def flattening(self, follower_id: str) -> bool:
        """A flatten of this follower is running."""
        return self.active[follower_id] > 0

    async def flatten(self, follower: Follower, reason: str, trigger: str) -> str:
        """Make the follower's account flat; a note on what it took. Raises if it is not flat yet."""
        broker = self.ctx.broker(follower.gateway_id)
        if broker is None:
            raise BrokerDisconnected(f"gateway {follower.gateway_id} not ready")
        self.active[follower.id] += 1
        try:
            ended = await self._stop_entries(follower, broker)
            closed = 0
            for _ in range(MAX_ROUNDS):
                await self.closer.wait_idle(follower.id)
                holdings = await self._holdings(broker, follower)
                if holdings.flat:
                    if (ended or closed) and self.ctx.settings.flatten_settle_s > 0:
                        ended = closed = 0  # look once more after the positions had time to arrive
                        await sleep_or_stop(self.ctx, self.ctx.settings.flatten_settle_s)
                        continue
                    return "flat" if not closed else f"flat ({closed} close(s))"
                for target in await self._targets(follower, holdings, reason, trigger):
                    if self.ctx.stop.is_set():
                        raise NotFlat("the executor is stopping")
                    final = await self.closer.close(target)
                    closed += 1 if final is not None and final.filled_qty > 0 else 0
            raise NotFlat(f"still holds {_describe(holdings)} after {MAX_ROUNDS} rounds of closes")
        finally:
            self.active[follower.id] -= 1

    async def _stop_entries(self, follower: Follower, broker: LifecycleBroker) -> int:
        """Cancel the follower's entries that have not ended and wait until they have; how many there were."""
        book = self.ctx.book
        deadline = self.ctx.clock.now().timestamp() + self.ctx.settings.flatten_entry_wait_s
        asked: set[str] = set()
        seen: set[str] = set()
        while True:
            entries = self._on_their_way(follower.id)
            seen |= {i.intent_id for i in entries}
            if not entries:
                return len(seen)
            for intent in entries:
                ref = intent.intent_id
                update = book.last_update(ref)
                if update is not None and update.done:  # the broker ended it; record that as the runner would
                    await settle(book, self.ctx.alerts, update)
                elif intent.state in (IntentState.SUBMITTED, IntentState.WORKING) and ref not in asked:
                    asked.add(ref)
                    try:
                        await broker.cancel(ref)
                        log.info("flatten cancelled an entry", extra={"order_ref": ref, "follower_id": follower.id})
                    except (NotModifiable, OutcomeUnknown) as exc:  # its own outcome ends it; we wait for that
                        log.warning("entry not cancellable from here", extra={"order_ref": ref, "error": str(exc)})
            left = self._on_their_way(follower.id)
            if not left:
                continue
            if self.ctx.clock.now().timestamp() >= deadline or self.ctx.stop.is_set():
                refs = ", ".join(sorted(i.intent_id for i in left))
                raise NotFlat(f"entry {refs} still on its way")
            await sleep_or_stop(self.ctx, ENTRY_POLL_S)

    def _on_their_way(self, follower_id: str) -> list[OrderIntent]:
        """The follower's entries that have not ended, less those left unknown with nothing at the broker."""
        return [i for i in _open_entries(self.ctx.book, follower_id) if not self._left_unknown(i)]

    def _left_unknown(self, intent: OrderIntent) -> bool:
        """An entry reconciliation left ``unknown`` (alerted) with no order of it at the broker: it never ends by
        itself, and nothing of it can fill any more, so the flatten closes what the account holds without it.
        Only once its gateway reconciled after it went unknown: until then its order may still be on its way."""
        if intent.state is not IntentState.UNKNOWN:
            return False
        t = self.ctx.book.tracked.get(intent.intent_id)
        link = self.ctx.links.get(intent.gateway_id)
        if t is None or link is None or t.sending or not link.ready.is_set() or link.since is None:
            return False
        return link.since >= intent.updated_at and (t.last_update is None or t.last_update.done)

    async def _holdings(self, broker: LifecycleBroker, follower: Follower) -> Holdings:
        records = await self._day_records()
        day = new_york(self.ctx.clock.now()).date()  # the day's options only: nothing of the follower's own
        return classify(follower.ibkr_account, await broker.positions(follower.ibkr_account),
                        [r.spread for r in [records.get(follower.id)] if r], day)

    async def _targets(self, follower: Follower, holdings: Holdings, reason: str, trigger: str) -> list[CloseTarget]:
        day = new_york(self.ctx.clock.now()).date()
        record = (await self._day_records()).get(follower.id) or record_of(holdings, day)
        if record is None:
            return []
        kind = IntentKind.FLATTEN

        def target(qty: int, **what: object) -> CloseTarget:
            return CloseTarget(follower, record.signal_id, record.spread, record.expiry, qty, kind, reason,
                               trigger=trigger, **what)  # type: ignore[arg-type]

        targets = [target(s.qty, combo=s) for s in holdings.spreads]
        targets += [target(abs(o.qty), leg=o.position, leg_qty=o.qty) for o in holdings.orphans]
        if holdings.stock is not None:
            targets.append(target(abs(holdings.stock.qty), leg=holdings.stock, leg_qty=holdings.stock.qty))
        return targets

    async def _day_records(self) -> dict[str, SpreadRecord]:
        """Each follower's entry of today (one read shared by the parts running: a flatten of hundreds reads once)."""
        return await self._records.get()

    async def _read_records(self) -> dict[str, SpreadRecord]:
        day = new_york(self.ctx.clock.now()).date()
        return records_by_follower(await self.ctx.store.entries_for(day))


def records_by_follower(intents: list[OrderIntent]) -> dict[str, SpreadRecord]:
    """The spread each follower entered today (its latest filled entry)."""
    found: dict[str, SpreadRecord] = {}
    for i in sorted(intents, key=lambda i: i.created_at):
        if i.kind is IntentKind.ENTRY and i.filled_qty > 0:
            found[i.follower_id] = SpreadRecord(i.signal_id, i.spread, i.expiry, i.symbol)
    return found


def _open_entries(book: IntentBook, follower_id: str) -> list[OrderIntent]:
    return [t.intent for t in list(book.tracked.values()) if t.intent.follower_id == follower_id
            and t.intent.kind is IntentKind.ENTRY and not t.intent.state.final]


def _describe(holdings: Holdings) -> str:
    parts = [f"{s.qty} {s.right} spread(s) {s.short_strike}/{s.long_strike}" for s in holdings.spreads]
    parts += [f"orphan {o.position.right} {o.position.strike} x{o.qty}" for o in holdings.orphans]
    if holdings.stock is not None:
        parts.append(f"{holdings.stock.qty} shares")
    return ", ".join(parts) or "nothing"
