"""The executor's core wired together, independent of where signals come from and which broker sits behind.

``service`` builds it with the real adapters (ib_async, Firestore, Pub/Sub); the unit tests with in-memory fakes.
Start-up order matters: unfinished intents are loaded first, so that each gateway's first reconciliation (which
precedes any order on it) already covers them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from executor.alerts import Alerts
from executor.book import IntentBook
from executor.broker import Broker, BrokerTruth, Execution
from executor.entry import EntryRunner
from executor.fanout import SignalHandler
from executor.gateways import GatewayLink
from executor.intents import ExecutorStore
from executor.reconcile import reconcile
from executor.settings import ExecutorSettings
from spreadpilot.clock import Clock
from spreadpilot.models import IntentKind, Signal
from spreadpilot.publisher import Publisher

log = logging.getLogger(__name__)


class Engine:
    """Gateways, intents, entries and alerts of one executor process."""

    def __init__(self, store: ExecutorStore, brokers: Mapping[str, Broker], publisher: Publisher,
                 settings: ExecutorSettings, clock: Clock, pool: ThreadPoolExecutor | None = None) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.started_at = clock.now()
        self.stop = asyncio.Event()
        self.book = IntentBook(store, clock)
        self.alerts = Alerts(publisher, settings.alerts_topic, clock, pool)
        self.links = {
            gateway_id: GatewayLink(
                gateway_id, broker, clock=clock, alerts=self.alerts, reconciler=self._reconcile,
                on_order=self.book.on_order, on_execution=self._on_execution,
                backoff=(settings.reconnect_min_s, settings.reconnect_max_s), down_alert_s=settings.down_alert_s,
            )
            for gateway_id, broker in brokers.items()
        }
        self.runner = EntryRunner(self.book, store, self.links, self.alerts, settings, clock, self.stop)
        self.handler = SignalHandler(store, self.book, self.runner, self.alerts, settings, clock)
        self._link_tasks: list[asyncio.Task[None]] = []
        self._fill_tasks: set[asyncio.Task[bool]] = set()

    async def start(self) -> None:
        """Load unfinished intents, connect every gateway (each reconciles first), resume the intents."""
        resumed = await self.handler.resume_open()
        loop = asyncio.get_running_loop()
        self._link_tasks = [loop.create_task(link.run(self.stop), name=f"gateway:{gid}")
                            for gid, link in self.links.items()]
        for intent_id in resumed:
            if self.book.get(intent_id).kind is IntentKind.ENTRY:  # closes are followed by executor.lifecycle
                self.handler.spawn(intent_id)
        log.info("engine started", extra={"gateways": list(self.links), "resumed": len(resumed)})

    async def handle_signal(self, signal: Signal) -> list[str]:
        """Record the signal's intents and start its entries (returns when the intents are durable)."""
        if self.stop.is_set():
            raise RuntimeError("the executor is stopping")
        return await self.handler.handle(signal)

    async def idle(self) -> None:
        """Wait until no entry and no fill recording is running."""
        while self.handler.tasks or self._fill_tasks:
            await asyncio.gather(*self.handler.tasks, *self._fill_tasks, return_exceptions=True)

    async def shutdown(self, grace_s: float = 20.0) -> None:
        """Stop taking work, let entries reach a safe point (orders rest at the broker), record, disconnect."""
        self.stop.set()
        pending = [*self.handler.tasks, *self._fill_tasks]
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        for task in self._link_tasks:
            task.cancel()
        await asyncio.gather(*self._link_tasks, return_exceptions=True)
        for link in self.links.values():
            await link.close()
        log.info("engine stopped", extra={"in_flight": self.book.in_flight()})

    def heartbeat(self) -> dict[str, object]:
        """The ``heartbeats/executor`` document."""
        return {
            "at": self.clock.now().isoformat(), "started_at": self.started_at.isoformat(),
            "gateways": {gid: link.status() for gid, link in self.links.items()},
            "in_flight": self.book.in_flight(), "version": self.settings.version,
            "stopping": self.stop.is_set(),
        }

    def _on_execution(self, execution: Execution) -> None:
        task = asyncio.get_running_loop().create_task(self.book.on_execution(execution))
        self._fill_tasks.add(task)
        task.add_done_callback(self._fill_done)

    def _fill_done(self, task: asyncio.Task[bool]) -> None:
        self._fill_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # the next reconciliation records it from broker truth
            log.error("recording a fill failed", exc_info=task.exception())

    async def _reconcile(self, gateway_id: str, truth: BrokerTruth) -> None:
        await asyncio.gather(*self._fill_tasks, return_exceptions=True)
        await reconcile(self.book, self.alerts, gateway_id, truth)
