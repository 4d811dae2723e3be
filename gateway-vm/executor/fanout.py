"""A signal fanned out to every enabled follower: each follower's intent recorded, and its entry started at once.

``SignalHandler.handle`` returns once every follower's intent is durably recorded (the moment the Pub/Sub message
may be acked); each entry runs as its own task from the moment its own intent is recorded. Each follower is
isolated, in outcome and in time: one intent that cannot be recorded (or is slow to be), one malformed document or
one failing entry never stops or delays the others (the failure is alerted, and the message redelivered while
anything is left unrecorded).

Who runs an intent is decided by the gateway, not by who recorded it: the process holding the gateway's lease
adopts every unfinished intent on it (``adopt_open``), so an intent recorded by a delivery that failed later, or by
another executor process, is run all the same, and by one process only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from executor.alerts import Alerts
from executor.book import IntentBook
from executor.checks import entry_window_reason, kill_switch_reason, seconds_until_window
from executor.entry import EntryRunner
from executor.intents import ExecutorStore
from executor.lease import LeaseLost
from executor.price_path import daily_order
from executor.settings import ExecutorSettings
from executor.sizing import contracts_for
from spreadpilot.clock import Clock
from spreadpilot.errors import Retryable
from spreadpilot.models import (
    IntentKind,
    IntentState,
    OrderIntent,
    Severity,
    Signal,
    StateChange,
    make_intent_id,
)

log = logging.getLogger(__name__)


class SignalHandler:
    """Plans a signal's intents and runs the entries."""

    def __init__(self, store: ExecutorStore, book: IntentBook, runner: EntryRunner, alerts: Alerts,
                 settings: ExecutorSettings, clock: Clock) -> None:
        self.store = store
        self.book = book
        self.runner = runner
        self.alerts = alerts
        self.settings = settings
        self.clock = clock
        self.tasks: set[asyncio.Task[None]] = set()
        self.accounts: dict[str, str] = {}  # account → follower id, kept current by every fan-out
        self._alerted_malformed: set[tuple[str, str]] = set()
        self._alerted_second: set[str] = set()

    async def handle(self, signal: Signal) -> list[str]:
        """Record every enabled follower's intent (create-if-absent) and start the entries; the started ids.

        Raises ``Retryable`` (after starting what was recorded) when some intents could not be recorded, so the
        message is redelivered and the rest are recorded then; nothing recorded is ever left unrun.
        """
        to_run, failed = await self.plan(signal, start=self.spawn)
        log.info("signal planned", extra={"signal_id": signal.signal_id, "entries": len(to_run),
                                          "not_recorded": len(failed)})
        if failed:
            raise Retryable(f"{len(failed)} intent(s) of {signal.signal_id} not recorded yet: {failed[0]}")
        return to_run

    async def plan(self, signal: Signal, start: Callable[[str], None] | None = None) -> tuple[list[str], list[str]]:
        """Record the intents of ``signal``; the intents to run here, and what could not be recorded (and why).

        With ``start``, each entry to run here is started the moment its own intent is recorded: a slow or failed
        write of another follower's intent never holds it back. Intents are recorded (so, mostly, started) in the
        day's order, so nobody is always last.
        """
        followers = daily_order(await self.store.enabled_followers(), signal.date)
        await self.alert_malformed()
        self.accounts.update({f.ibkr_account: f.id for f in followers})
        ids = {f.id: make_intent_id(signal.signal_id, f.id) for f in followers}
        existing, (global_controls, per_follower) = await asyncio.gather(
            self.store.get_intents(ids.values()), self.store.controls(ids))
        now = self.clock.now()
        # a signal found before the window opens (the poller starts at 09:27) waits for it; after it closes, skip
        early = seconds_until_window(now, self.settings.entry_start) > 0
        window = None if early else entry_window_reason(now, self.settings.entry_start, self.settings.entry_end)
        earlier: list[OrderIntent] = []
        planned: list[OrderIntent] = []
        for follower in followers:
            intent_id = ids[follower.id]
            if intent_id in self.book.tracked:
                continue  # a duplicate delivery: this process already has it
            if intent_id in existing:
                earlier.append(existing[intent_id])  # recorded by an earlier delivery: run it if it is ours
                continue
            contracts = contracts_for(signal.qty_per_leg, follower.multiplier, follower.max_contracts)
            reason = ("sized to 0 contracts" if contracts == 0 else None) or window or kill_switch_reason(
                global_controls, per_follower[follower.id])
            if follower.gateway_id not in self.runner.links:
                reason = f"gateway {follower.gateway_id} is not configured"
            if signal.ticker not in self.settings.tickers:
                reason = (f"{signal.ticker} is not traded here (SPREADPILOT_ALLOWED_TICKERS="
                          f"{','.join(sorted(self.settings.tickers))})")
            intent = OrderIntent(
                intent_id=intent_id, signal_id=signal.signal_id, follower_id=follower.id,
                gateway_id=follower.gateway_id, account=follower.ibkr_account, symbol=signal.ticker,
                spread=signal.spread,
                expiry=signal.date, contracts=contracts, history=(StateChange(state=IntentState.PLANNED, at=now),),
                created_at=now, updated_at=now,
            )
            if reason:
                intent = intent.moved_to(IntentState.SKIPPED, now, reason, reason=reason)
            planned.append(intent)
        to_run: list[str] = []

        def run(ready: list[str]) -> None:
            to_run.extend(ready)
            if start is not None:
                for intent_id in ready:
                    start(intent_id)

        # a bounded number of intent writes in flight: the writes of entries already started (their first write
        # comes before their order) never queue behind the whole fan-out's in the I/O pool
        recording = asyncio.Semaphore(max(1, self.settings.io_threads // 4))

        async def record_and_run(intent: OrderIntent) -> None:
            async with recording:
                recorded = await self._record(intent)
            run(self.adopt([recorded], prechecked=True))  # recorded under this process's epoch: fenced already

        run(await self.adopt_fenced(earlier, prechecked=True))  # recorded by another delivery, maybe another owner
        results = await asyncio.gather(*(record_and_run(i) for i in planned), return_exceptions=True)
        failed: list[str] = []
        for intent, result in zip(planned, results, strict=True):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result  # cancelled, or the process is going down
            if isinstance(result, Exception):  # isolated: the others go ahead, the redelivery retries it
                log.warning("intent not recorded", extra={"order_ref": intent.intent_id, "error": repr(result)})
                failed.append(f"{intent.follower_id}: {result!r}")
        if signal.ticker not in self.settings.tickers and planned:
            await self.alerts.send("signal.ticker_not_traded", Severity.CRITICAL,
                                   f"signal for {signal.ticker} not traded: the executor trades "
                                   f"{', '.join(sorted(self.settings.tickers))}", signal_id=signal.signal_id)
        if window and planned:
            await self.alerts.send("signal.outside_window", Severity.WARNING, f"signal not traded: {window}",
                                   signal_id=signal.signal_id)
        return to_run, failed

    def adopt(self, intents: list[OrderIntent], *, prechecked: bool = False) -> list[str]:
        """Track the intents on gateways this process holds; the unfinished entries among them, to run."""
        to_run = []
        for intent in intents:
            link = self.runner.links.get(intent.gateway_id)
            if link is None or not link.owned:
                continue  # another process holds its gateway: that one runs it
            tracked = self.book.tracked.get(intent.intent_id)
            if tracked is not None:
                # tracked here already: its runner must be alive (one that ended on a doubt is started again)
                live = tracked.intent
                if live.kind is IntentKind.ENTRY and not live.state.final and not tracked.running() \
                        and live.state is not IntentState.UNKNOWN:
                    to_run.append(live.intent_id)
                continue
            self.book.track(intent)
            if intent.kind is IntentKind.ENTRY and not intent.state.final:
                if prechecked:
                    self.runner.prechecked.add(intent.intent_id)
                to_run.append(intent.intent_id)
        return to_run

    async def _record(self, intent: OrderIntent) -> OrderIntent:
        """Claim the follower's day and create the intent (create-if-absent); the intent as recorded."""
        holder = await self.store.claim_entry_day(intent)
        if holder != intent.intent_id and not intent.state.final:
            # one spread a day per follower, whatever reaches the executor (the poller guards the sheet, not us)
            reason = f"the follower already has today's entry {holder}"
            intent = intent.moved_to(IntentState.SKIPPED, self.clock.now(), reason, reason=reason)
            if intent.signal_id not in self._alerted_second:
                self._alerted_second.add(intent.signal_id)
                await self.alerts.send("signal.second_for_day", Severity.CRITICAL,
                                       f"a second signal for {intent.expiry} reached the executor; not traded "
                                       f"for followers that already have today's entry", signal_id=intent.signal_id)
        if await self.store.create_intent(intent, self.book.epoch(intent.gateway_id)):
            self.book.notify(intent, intent.reason or "recorded")
            return intent
        # there already: an earlier delivery, or this very write committed although the client saw an error
        stored = (await self.store.get_intents([intent.intent_id])).get(intent.intent_id)
        if stored is None:
            await self.alert_malformed()
            raise Retryable(f"intent {intent.intent_id} exists but cannot be read")
        return stored

    async def alert_malformed(self) -> None:
        """One alert per malformed document the store skipped (an operator must fix it in the console)."""
        for bad in self.store.malformed():
            key = (bad.path, bad.error)
            if key in self._alerted_malformed:
                continue
            self._alerted_malformed.add(key)
            await self.alerts.send("document.malformed", Severity.CRITICAL,
                                   f"document {bad.path} is malformed and was skipped (not traded, not followed): "
                                   f"{bad.error}", document=bad.path)

    def spawn(self, intent_id: str) -> None:
        """Run one entry as its own task, isolated from every other follower's."""
        self._keep(asyncio.get_running_loop().create_task(self._isolated(intent_id), name=f"entry:{intent_id}"))

    async def adopt_open(self) -> list[str]:
        """Track every unfinished intent on a gateway this process holds (after a restart, a takeover, or a
        fan-out whose delivery failed part-way); the entries to run."""
        open_intents = await self.store.open_intents()
        await self.alert_malformed()
        return await self.adopt_fenced(open_intents)

    async def adopt_fenced(self, intents: list[OrderIntent], *, prechecked: bool = False) -> list[str]:
        """``adopt``, then stamp this process's lease epoch on each intent it did not track before, final ones
        included, so a late write of the previous owner is refused from now on (reconciliation then brings each
        open one in line with the broker). One that cannot be stamped is not tracked: the adoption loop, or the
        signal's redelivery, finds it again."""
        known = set(self.book.tracked)
        to_run = self.adopt(intents, prechecked=prechecked)
        for intent_id in [i for i in self.book.tracked if i not in known]:
            try:
                await self.book.stamp(intent_id)
            except Exception as exc:
                self.book.tracked.pop(intent_id, None)
                to_run = [i for i in to_run if i != intent_id]
                if not isinstance(exc, LeaseLost):
                    log.warning("adopting an intent failed", extra={"order_ref": intent_id, "error": repr(exc)})
        return to_run

    async def _isolated(self, intent_id: str) -> None:
        try:
            intent = self.book.get(intent_id)
            if intent.gateway_id not in self.runner.links:
                raise LookupError(f"gateway {intent.gateway_id} is not configured")
            await self.runner.run(intent_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # one follower's failure is isolated from the others, logged and alerted
            log.exception("entry failed", extra={"order_ref": intent_id})
            intent = self.book.get(intent_id)
            await self.alerts.send("executor.entry_failed", Severity.CRITICAL, f"entry failed: {exc!r}",
                                   follower_id=intent.follower_id, signal_id=intent.signal_id, order_ref=intent_id)

    def _keep(self, task: asyncio.Task[None]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
