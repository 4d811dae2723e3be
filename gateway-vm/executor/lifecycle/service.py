"""The lifecycle loops started and stopped with the executor, sharing its gateways, book, alerts and clock.

``executor.service.serve`` builds ``Lifecycle`` after ``Engine.start`` and stops it before ``Engine.shutdown``:
the position monitor, MTM (with the breaker) and the commands subscription. Before they start, what an earlier
process left unfinished is taken up: closes (recorded, not final) are followed to their outcome (the entry runner
leaves them alone), unrepaired assignments resumed, operator actions in progress (a flatten, a breaker trip) driven
on to their end.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from executor.engine import Engine
from executor.lifecycle.actions import ActionDesk
from executor.lifecycle.assignment import AssignmentDesk
from executor.lifecycle.breaker import Breaker
from executor.lifecycle.closer import Closer
from executor.lifecycle.commands import CommandDesk
from executor.lifecycle.context import Context, sleep_or_stop
from executor.lifecycle.flatten import Flattener
from executor.lifecycle.foreign import ForeignWatch
from executor.lifecycle.monitor import Monitor
from executor.lifecycle.mtm import MarkToMarket
from executor.lifecycle.operations import Operations
from executor.lifecycle.ports import LifecycleStore
from executor.lifecycle.settings import LifecycleSettings
from executor.lifecycle.store import FirestoreLifecycleStore
from executor.lifecycle.subscriber import CommandSubscriber
from spreadpilot.models import IntentKind
from spreadpilot.store import Store

log = logging.getLogger(__name__)


class LifecycleParts:
    """The lifecycle's pieces over one ``Context``, wired to each other (the executor's and the tests' wiring)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.closer = Closer(ctx)
        self.flattener = Flattener(ctx, self.closer)
        self.assignments = AssignmentDesk(ctx, self.closer)
        self.monitor = Monitor(ctx, self.closer, self.assignments, self.flattener)
        self.operations = Operations(ctx, self.flattener)
        self.actions = ActionDesk(ctx, ctx.store, self.operations.perform, self.operations.here)
        self.breaker = Breaker(ctx, self.actions)
        self.foreign = ForeignWatch(ctx, self.actions)
        self.mtm = MarkToMarket(ctx, self.breaker)
        self.commands = CommandDesk(ctx, self.actions)
        self._follows: list[asyncio.Task[object]] = []

    async def resume(self) -> None:
        """Take up what an earlier process left: assignments, closes not final, operator actions in progress."""
        await self.assignments.load()
        for t in list(self.ctx.book.tracked.values()):
            if t.intent.kind is not IntentKind.ENTRY and not t.intent.state.final:
                self._follows.append(asyncio.ensure_future(self._follow(t.intent.intent_id)))
        resumed = await self.actions.resume()
        log.info("lifecycle resumed", extra={"assigned": len(self.assignments.assigned), "actions": resumed,
                                             "closes": len(self._follows)})

    async def _follow(self, intent_id: str) -> object:
        """Wait for a close recorded by an earlier process to end (reconciliation brings its broker status)."""
        intent = self.ctx.book.get(intent_id)
        link = self.ctx.links.get(intent.gateway_id)
        if link is not None:
            await link.ready.wait()
        return await self.closer.follow_once(intent_id)

    def tasks(self) -> list[asyncio.Task[object]]:
        """Everything of the lifecycle running now besides its loops: closes, follow-ups, operator actions."""
        running: list[asyncio.Task[object]] = [*self.closer.tasks, *self.closer.following(), *self.actions.tasks(),
                                               *self._follows, *self.foreign.tasks]
        return [t for t in running if not t.done()]


class Lifecycle:
    """Monitor, MTM, breaker and commands of one executor process."""

    def __init__(self, engine: Engine, store: LifecycleStore, settings: LifecycleSettings) -> None:
        self.settings = settings
        self.ctx = Context(links=engine.links, book=engine.book, intents=engine.store, store=store,
                           alerts=engine.alerts, settings=settings, clock=engine.clock, stop=engine.stop,
                           events=engine.events)
        self.parts = LifecycleParts(self.ctx)
        self.monitor = self.parts.monitor
        self.mtm = self.parts.mtm
        self.commands = self.parts.commands
        self.subscriber: CommandSubscriber | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._engine = engine

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
        await self.parts.resume()
        self._engine.watch_foreign(self.parts.foreign.seen)  # what the engine found before now comes first
        loop = asyncio.get_running_loop()
        self._tasks += [loop.create_task(self.monitor.run(), name="lifecycle:monitor"),
                        loop.create_task(self.mtm.run(), name="lifecycle:mtm"),
                        loop.create_task(self._adopt_actions(), name="lifecycle:actions")]
        if subscribe:
            self.subscriber = CommandSubscriber(self.settings.project, self.settings.commands_subscription,
                                                self.commands.handle, loop, self.ctx.alerts,
                                                self.settings.max_command_messages)
            self.subscriber.start()
        log.info("lifecycle running")

    async def _adopt_actions(self) -> None:
        """Take up parts of operator actions handed to this process (it holds their gateway), every ``monitor_s``
        (one query a pass; the executor that handed a part waits ``HANDED_WAIT_S``, longer than a pass)."""
        while not self.ctx.stop.is_set():
            try:
                await self.parts.actions.adopt()
            except Exception:  # one failed look (Firestore hiccup) must not end the loop
                log.exception("looking for handed operator action parts failed")
            await sleep_or_stop(self.ctx, self.settings.monitor_s)

    async def stop(self) -> None:
        """Stop taking commands and end the loops (working closes rest at the broker; a restart follows them)."""
        if self.subscriber is not None:
            await self.subscriber.stop()
        running = [*self._tasks, *self.parts.tasks()]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        log.info("lifecycle stopped")
