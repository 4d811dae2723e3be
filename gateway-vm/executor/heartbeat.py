"""``heartbeats/executor`` every ``heartbeat_s`` business seconds (the watchdog reads it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from executor.intents import ExecutorStore
from spreadpilot.clock import Clock

log = logging.getLogger(__name__)


async def beat(store: ExecutorStore, doc: Callable[[], dict[str, object]], clock: Clock, interval_s: float,
               stop: asyncio.Event) -> None:
    """Write the heartbeat now and every ``interval_s`` until ``stop``; a failed write is logged and retried."""
    while not stop.is_set():
        try:
            await store.write_heartbeat(doc())
        except Exception:  # a missed heartbeat must not stop trading; the watchdog notices the gap
            log.exception("heartbeat write failed")
        sleeper = asyncio.ensure_future(clock.sleep(interval_s))
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait([sleeper, stopper], return_when=asyncio.FIRST_COMPLETED)
        sleeper.cancel()
        stopper.cancel()
