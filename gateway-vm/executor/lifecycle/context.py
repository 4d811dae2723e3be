"""What every lifecycle loop shares with the executor: its gateways, intent book, stores, alerts, clock, stop, and
the event console's writer (``executor.events``; None where there is no console, e.g. unit tests)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from executor.alerts import Alerts
from executor.book import IntentBook
from executor.events import ExecutorEvents
from executor.gateways import GatewayLink
from executor.intents import ExecutorStore
from executor.lifecycle.ports import LifecycleBroker, LifecycleStore
from executor.lifecycle.settings import LifecycleSettings
from spreadpilot.clock import Clock
from spreadpilot.models import IntentKind, IntentState

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class Context:
    """The executor's shared parts, as the lifecycle uses them."""

    links: Mapping[str, GatewayLink]
    book: IntentBook
    intents: ExecutorStore
    store: LifecycleStore
    alerts: Alerts
    settings: LifecycleSettings
    clock: Clock
    stop: asyncio.Event
    events: ExecutorEvents | None = None

    def broker(self, gateway_id: str) -> LifecycleBroker | None:
        """The gateway's broker if it is connected and reconciled, else None (nothing is sent on it)."""
        link = self.links.get(gateway_id)
        if link is None or not link.ready.is_set():
            return None
        # every broker the executor builds (IBBroker, the test fakes) implements the lifecycle operations too
        return cast("LifecycleBroker", link.broker)

    def owns(self, gateway_id: str) -> bool:
        """This process drives the gateway (holds its lease): what is sent on it is sent from here."""
        link = self.links.get(gateway_id)
        return link is not None and link.owned

    def entry_in_flight(self, follower_id: str) -> bool:
        """An entry order of the follower is not final yet (its legs may be filling right now)."""
        return any(t.intent.follower_id == follower_id and t.intent.kind is IntentKind.ENTRY
                   and not t.intent.state.final and t.intent.state is not IntentState.PLANNED
                   for t in self.book.tracked.values())


async def sleep_or_stop(ctx: Context, seconds: float) -> None:
    """Sleep ``seconds`` of business time, or less if the executor stops."""
    waits = [asyncio.ensure_future(ctx.clock.sleep(seconds)), asyncio.ensure_future(ctx.stop.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


async def note_event(ctx: Context, kind: str, message: str, **fields: Any) -> None:
    """One line in the event console (a notification: a failure is logged, never raised)."""
    if ctx.events is None:
        return
    try:
        await ctx.events.note(kind, message, at=ctx.clock.now(), **fields)
    except Exception:  # the console may miss a line; the work it describes stands
        log.exception("event not recorded", extra={"kind": kind})


class SharedRead(Generic[T]):
    """One read shared by every caller for ``ttl_s`` business seconds, concurrent ones included: a flatten of
    hundreds of followers asks Firestore once, not once per follower at the same instant."""

    def __init__(self, clock: Clock, ttl_s: float, read: Callable[[], Awaitable[T]]) -> None:
        self.clock = clock
        self.ttl_s = ttl_s
        self.read = read
        self._cached: tuple[float, asyncio.Future[T]] | None = None

    async def get(self, *, fresh: bool = False) -> T:
        """The shared answer (``fresh``: read again unless a read started since the caller's last look)."""
        now = self.clock.now().timestamp()
        cached = self._cached
        stale = cached is None or now - cached[0] > self.ttl_s or (fresh and cached[1].done()) or (
            cached[1].done() and (cached[1].cancelled() or cached[1].exception() is not None))
        if stale:
            cached = (now, asyncio.ensure_future(self.read()))
            self._cached = cached
        assert cached is not None
        return await asyncio.shield(cached[1])
