"""A signal fanned out to every enabled follower: intents recorded first, then every entry at once.

``SignalHandler.handle`` returns once every follower's intent is durably recorded (the moment the Pub/Sub message
may be acked); the entries then run concurrently, one task per follower. A follower's failure is isolated here,
the only broad ``except`` of the executor, and alerted.
"""

from __future__ import annotations

import asyncio
import logging

from executor.alerts import Alerts
from executor.book import IntentBook
from executor.checks import entry_window_reason, kill_switch_reason, seconds_until_window
from executor.entry import EntryRunner
from executor.intents import ExecutorStore
from executor.settings import ExecutorSettings
from executor.sizing import contracts_for
from spreadpilot.clock import Clock
from spreadpilot.models import IntentState, OrderIntent, Severity, Signal, StateChange, make_intent_id

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

    async def handle(self, signal: Signal) -> list[str]:
        """Record every enabled follower's intent (create-if-absent) and start the entries; the started ids."""
        to_run = await self.plan(signal)
        for intent_id in to_run:
            self.spawn(intent_id)
        log.info("signal planned", extra={"signal_id": signal.signal_id, "entries": len(to_run)})
        return to_run

    async def plan(self, signal: Signal) -> list[str]:
        """Create the intents of ``signal``; intents to run (new ones and unfinished ones nobody is running)."""
        followers = await self.store.enabled_followers()
        ids = {f.id: make_intent_id(signal.signal_id, f.id) for f in followers}
        existing, (global_controls, per_follower) = await asyncio.gather(
            self.store.get_intents(ids.values()), self.store.controls(ids))
        now = self.clock.now()
        # a signal found before the window opens (the poller starts at 09:27) waits for it; after it closes, skip
        early = seconds_until_window(now, self.settings.entry_start) > 0
        window = None if early else entry_window_reason(now, self.settings.entry_start, self.settings.entry_end)
        to_run: list[str] = []
        planned: list[OrderIntent] = []
        for follower in followers:
            intent_id = ids[follower.id]
            if intent_id in self.book.tracked:
                continue  # a duplicate delivery: this process already has it
            if intent_id in existing:
                # Recorded by an earlier delivery. If it is unfinished, its owner runs it: this process (tracked
                # at start-up by ``resume_open``) or another live one; starting a second runner could double-send.
                continue
            contracts = contracts_for(signal.qty_per_leg, follower.multiplier, follower.max_contracts)
            reason = ("sized to 0 contracts" if contracts == 0 else None) or window or kill_switch_reason(
                global_controls, per_follower[follower.id])
            if follower.gateway_id not in self.runner.links:
                reason = f"gateway {follower.gateway_id} is not configured"
            intent = OrderIntent(
                intent_id=intent_id, signal_id=signal.signal_id, follower_id=follower.id,
                gateway_id=follower.gateway_id, account=follower.ibkr_account, spread=signal.spread,
                expiry=signal.date, contracts=contracts, history=(StateChange(state=IntentState.PLANNED, at=now),),
                created_at=now, updated_at=now,
            )
            if reason:
                intent = intent.moved_to(IntentState.SKIPPED, now, reason, reason=reason)
            planned.append(intent)
        created = await asyncio.gather(*(self.store.create_intent(i) for i in planned))
        for intent, fresh in zip(planned, created, strict=True):
            if not fresh:
                continue  # another delivery recorded it first; that delivery runs it
            self.book.track(intent)
            if not intent.state.final:
                self.runner.prechecked.add(intent.intent_id)
                to_run.append(intent.intent_id)
        if window and planned:
            await self.alerts.send("signal.outside_window", Severity.WARNING, f"signal not traded: {window}",
                                   signal_id=signal.signal_id)
        return to_run

    def spawn(self, intent_id: str) -> None:
        """Run one entry as its own task, isolated from every other follower's."""
        self._keep(asyncio.get_running_loop().create_task(self._isolated(intent_id), name=f"entry:{intent_id}"))

    async def resume_open(self) -> list[str]:
        """Track every unfinished intent in the store (after a restart) and resume each; the resumed ids."""
        resumed = []
        for intent in await self.store.open_intents():
            if intent.intent_id in self.book.tracked:
                continue
            self.book.track(intent)
            resumed.append(intent.intent_id)
        return resumed

    async def _isolated(self, intent_id: str) -> None:
        try:
            intent = self.book.get(intent_id)
            if intent.gateway_id not in self.runner.links:
                raise LookupError(f"gateway {intent.gateway_id} is not configured")
            await self.runner.run(intent_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the fan-out isolates one follower's failure from the others
            log.exception("entry failed", extra={"order_ref": intent_id})
            intent = self.book.get(intent_id)
            await self.alerts.send("executor.entry_failed", Severity.CRITICAL, f"entry failed: {exc!r}",
                                   follower_id=intent.follower_id, signal_id=intent.signal_id, order_ref=intent_id)

    def _keep(self, task: asyncio.Task[None]) -> None:
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

