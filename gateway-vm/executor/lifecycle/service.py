"""The lifecycle loops started and stopped with the executor, sharing its gateways, book, alerts and clock.

``executor.service.serve`` builds ``Lifecycle`` after ``Engine.start`` and stops it before ``Engine.shutdown``:
the position monitor, MTM (with the breaker) and the commands subscription. Closes resumed after a restart
(recorded, not final) are followed to their outcome here; the entry runner leaves them alone.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from executor.engine import Engine
from executor.lifecycle.assignment import AssignmentDesk
from executor.lifecycle.breaker import Breaker
from executor.lifecycle.closer import Closer
from executor.lifecycle.commands import CommandDesk
from executor.lifecycle.context import Context
from executor.lifecycle.monitor import Monitor
from executor.lifecycle.mtm import MarkToMarket
from executor.lifecycle.ports import LifecycleStore
from executor.lifecycle.settings import LifecycleSettings
from executor.lifecycle.store import FirestoreLifecycleStore
from executor.lifecycle.subscriber import CommandSubscriber
from spreadpilot.models import IntentKind
from spreadpilot.store import Store

log = logging.getLogger(__name__)


class Lifecycle:
    """Monitor, MTM, breaker and commands of one executor process."""

    def __init__(self, engine: Engine, store: LifecycleStore, settings: LifecycleSettings) -> None:
        self.settings = settings
        self.ctx = Context(links=engine.links, book=engine.book, intents=engine.store, store=store,
                           alerts=engine.alerts, settings=settings, clock=engine.clock, stop=engine.stop)
        self.closer = Closer(self.ctx)
        self.assignments = AssignmentDesk(self.ctx, self.closer)
        self.monitor = Monitor(self.ctx, self.closer, self.assignments)
        self.breaker = Breaker(self.ctx, self.monitor.flatten)
        self.mtm = MarkToMarket(self.ctx, self.breaker)
        self.commands = CommandDesk(self.ctx, self.monitor.flatten)
        self.subscriber: CommandSubscriber | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @classmethod
    def for_service(cls, engine: Engine, store: Store, pool: ThreadPoolExecutor,
                    settings: LifecycleSettings) -> Lifecycle:
        """The lifecycle over Firestore (the executor's own ``Store`` and thread pool)."""
        return cls(engine, FirestoreLifecycleStore(store, pool), settings)

    async def start(self, *, subscribe: bool = True) -> None:
        """Resume unrepaired assignments and unfinished closes, start the loops and the commands subscription."""
        if not self.settings.lifecycle_enabled:
            log.warning("lifecycle disabled (SPREADPILOT_LIFECYCLE_ENABLED=false): no exits, MTM or commands")
            return
        await self.assignments.load()
        loop = asyncio.get_running_loop()
        for t in list(self.ctx.book.tracked.values()):
            if t.intent.kind is not IntentKind.ENTRY and not t.intent.state.final:
                self._tasks.append(loop.create_task(self._follow(t.intent.intent_id), name="close:resumed"))
        self._tasks += [loop.create_task(self.monitor.run(), name="lifecycle:monitor"),
                        loop.create_task(self.mtm.run(), name="lifecycle:mtm")]
        if subscribe:
            self.subscriber = CommandSubscriber(self.settings.project, self.settings.commands_subscription,
                                                self.commands.handle, loop, self.ctx.alerts,
                                                self.settings.max_command_messages)
            self.subscriber.start()
        log.info("lifecycle running", extra={"assigned": len(self.assignments.assigned)})

    async def _follow(self, intent_id: str) -> None:
        """Wait for a close recorded by an earlier process to end (reconciliation brings its broker status)."""
        intent = self.ctx.book.get(intent_id)
        link = self.ctx.links.get(intent.gateway_id)
        if link is not None:
            await link.ready.wait()
        await self.closer.follow(intent_id)

    async def stop(self) -> None:
        """Stop taking commands and end the loops (working closes rest at the broker; a restart follows them)."""
        if self.subscriber is not None:
            await self.subscriber.stop()
        for task in [*self._tasks, *self.closer.tasks]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self.closer.tasks, return_exceptions=True)
        log.info("lifecycle stopped")
