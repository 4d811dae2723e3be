"""The lifecycle wired as the executor wires it, over the in-memory broker and stores, with Pub/Sub's redelivery."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from lifecycle_broker import MemoryBroker
from lifecycle_fakes import FixedClock, MemoryLifecycleStore, RecordingPublisher, context, option

from executor.events import ExecutorEvents
from executor.gateways import GatewayLink
from executor.lease import GatewayLease
from executor.lifecycle.context import Context
from executor.lifecycle.service import LifecycleParts
from spreadpilot.events import MemoryEvents
from spreadpilot.models import Command, CommandKind, Follower

REDELIVERIES = 5
REDELIVERY_S = 10.0


@dataclass
class Rig:
    ctx: Context
    broker: MemoryBroker
    store: MemoryLifecycleStore
    parts: LifecycleParts

    @property
    def events(self) -> MemoryEvents:
        assert self.ctx.events is not None
        sink = self.ctx.events.sink
        assert isinstance(sink, MemoryEvents)
        return sink

    @property
    def alerts(self) -> RecordingPublisher:
        publisher = self.ctx.alerts.publisher
        assert isinstance(publisher, RecordingPublisher)
        return publisher

    async def start(self) -> None:
        """What ``Lifecycle.start`` does before its loops: resume what an earlier process left unfinished."""
        await self.parts.resume()

    async def settle(self) -> None:
        """Let every close, follow-up and operator action of this process run to its end."""
        for _ in range(100):
            tasks = self.parts.tasks()
            if not tasks:
                return
            await asyncio.gather(*tasks, return_exceptions=True)


def link_for(ctx: Context, broker: MemoryBroker) -> GatewayLink:
    async def reconciler(gateway_id: str, truth: object) -> None:
        return None

    link = GatewayLink("gw-advisor", broker, clock=ctx.clock, alerts=ctx.alerts, reconciler=reconciler,
                       on_order=ctx.book.on_order, on_execution=lambda e: None)
    link.ready.set()
    return link


def rig(broker: MemoryBroker, followers: list[Follower], clock: FixedClock | None = None,
        store: MemoryLifecycleStore | None = None, **overrides: object) -> Rig:
    store = store or MemoryLifecycleStore(followers_=followers)
    ctx = context(store, clock, **{"action_retry_s": 1.0, **overrides})
    ctx.links = {"gw-advisor": link_for(ctx, broker)}
    ctx.events = ExecutorEvents(MemoryEvents(), ThreadPoolExecutor(max_workers=1))
    return Rig(ctx, broker, store, LifecycleParts(ctx))


def standby(owner: Rig) -> Rig:
    """A second executor over the same Firestore and broker that does not hold the gateway (another process has its
    lease): it takes commands from the same subscription, but sends nothing on the gateway."""
    ctx = context(owner.store, FixedClock(owner.ctx.clock.now()), **{"action_retry_s": 1.0})
    link = link_for(ctx, MemoryBroker([]))  # not connected to the gateway: the owner's connection gets its events
    link.lease = GatewayLease(None, "gw-advisor", "standby", ctx.clock)  # type: ignore[arg-type]  # never taken
    ctx.links = {"gw-advisor": link}
    return Rig(ctx, owner.broker, owner.store, LifecycleParts(ctx))


def restart(old: Rig) -> Rig:
    """A new process over the same Firestore and broker (nothing of the old one's memory survives)."""
    ctx = context(old.store, FixedClock(old.ctx.clock.now()))
    ctx.settings = old.ctx.settings
    ctx.links = {"gw-advisor": link_for(ctx, old.broker)}
    return Rig(ctx, old.broker, old.store, LifecycleParts(ctx))


def spreads(*accounts: int, qty: int = 2) -> MemoryBroker:
    """A broker where each ``DU00n`` holds ``qty`` short 485 / long 480 put spreads."""
    positions = []
    for n in accounts:
        positions += [option(f"DU{n:03d}", 485, -qty), option(f"DU{n:03d}", 480, qty)]
    return MemoryBroker(positions)


def cmd(command_id: str, kind: CommandKind, scope: str = "all", code: str | None = None) -> Command:
    return Command(command_id=command_id, kind=kind, scope=scope, issued_by="ops@example.com",
                   issued_at=datetime(2026, 3, 17, 14, 0, tzinfo=UTC), source="telegram", reason="why",
                   confirm_code=code)


async def deliver(r: Rig, command: Command) -> str | None:
    """Hand ``command`` to the executor as Pub/Sub does: an exception is a nack, and the message comes again
    ``REDELIVERY_S`` later."""
    status = None
    for _ in range(REDELIVERIES):
        try:
            status = await r.parts.commands.handle(command)
            break
        except Exception:  # a nack: Pub/Sub redelivers
            clock = r.ctx.clock
            assert isinstance(clock, FixedClock)
            clock.at += timedelta(seconds=REDELIVERY_S)
            await asyncio.sleep(0)
    return status


async def spin(times: int = 200) -> None:
    """Let the loop run the tasks in flight for a while (the fixed clock never moves by itself)."""
    for _ in range(times):
        await asyncio.sleep(0)


def held(broker: MemoryBroker, account: str) -> dict[int, int]:
    """conId → quantity the broker holds in ``account``."""
    return {p.con_id: p.qty for p in broker.positions_ if p.account == account}
