"""The gateway pool: one broker connection per gateway, shared by its followers.

Each link keeps itself connected (backoff between attempts), reconciles before it lets anything be sent (after the
first connect, every reconnect, and 1101 "restored, data lost"), and alerts once per outage that lasts longer than
``down_alert_s``. While a link is not ``ready`` nothing is sent on it: senders ``await link.ready.wait()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from executor.alerts import Alerts
from executor.broker import Broker, BrokerDisconnected, BrokerListener, BrokerTruth, Execution, OrderUpdate
from spreadpilot.clock import Clock
from spreadpilot.models import Severity

log = logging.getLogger(__name__)
Reconciler = Callable[[str, BrokerTruth], Awaitable[None]]
LOST, RESTORED_DATA_LOST, RESTORED_DATA_KEPT = 1100, 1101, 1102


class GatewayLink:
    """One gateway: its broker session, readiness and outage bookkeeping."""

    def __init__(self, gateway_id: str, broker: Broker, *, clock: Clock, alerts: Alerts, reconciler: Reconciler,
                 on_order: Callable[[OrderUpdate], None], on_execution: Callable[[Execution], None],
                 backoff: tuple[float, float] = (0.5, 15.0), down_alert_s: float = 30.0) -> None:
        self.gateway_id = gateway_id
        self.broker = broker
        self.clock = clock
        self.alerts = alerts
        self.reconciler = reconciler
        self.backoff = backoff
        self.down_alert_s = down_alert_s
        self.ready = asyncio.Event()
        self.accounts: list[str] = []
        self.since: datetime | None = None
        self.down_since: datetime | None = clock.now()
        self._wake = asyncio.Event()
        self._resync_lock = asyncio.Lock()
        self._alerted_for: datetime | None = None
        broker.set_listener(BrokerListener(on_order=on_order, on_execution=on_execution,
                                           on_connection=self._on_code, on_disconnected=self._on_disconnected))

    def status(self) -> dict[str, object]:
        """The heartbeat's view of this gateway."""
        since = self.since or self.down_since or self.clock.now()
        return {"connected": self.ready.is_set(), "since": since.isoformat(), "accounts": list(self.accounts)}

    def _on_disconnected(self) -> None:
        if self.ready.is_set() or self.down_since is None:
            log.warning("gateway disconnected", extra={"gateway_id": self.gateway_id})
            self.down_since = self.clock.now()
            self.since = None
        self.ready.clear()
        self._wake.set()

    def _on_code(self, code: int, message: str) -> None:
        log.warning("gateway connectivity", extra={"gateway_id": self.gateway_id, "code": code, "ib_message": message})
        if code == LOST:
            if self.ready.is_set():
                self.down_since = self.clock.now()
            self.ready.clear()  # nothing is sent while IB says connectivity is lost
        elif code in (RESTORED_DATA_LOST, RESTORED_DATA_KEPT):
            asyncio.get_running_loop().create_task(self.resync(f"connectivity restored ({code})"))

    async def run(self, stop: asyncio.Event) -> None:
        """Keep the session up until ``stop``; reconnects back off exponentially."""
        delay = self.backoff[0]
        while not stop.is_set():
            if not self.broker.is_connected():
                try:
                    self.accounts = await self.broker.connect()
                    await self._reconcile("connected")
                    delay = self.backoff[0]
                except BrokerDisconnected as exc:
                    self.ready.clear()
                    log.warning("gateway connect failed", extra={"gateway_id": self.gateway_id, "error": str(exc)})
                    await self._maybe_alert_down()
                    await _wait_any(stop, asyncio.sleep(delay))
                    delay = min(self.backoff[1], delay * 2)
                    continue
            self._wake.clear()
            await _wait_any(stop, self._wake.wait(), asyncio.sleep(1.0))
            await self._maybe_alert_down()

    async def resync(self, why: str) -> None:
        """Stop sending, fetch broker truth, reconcile, then allow sending again (e.g. after 1101 or a lost ack)."""
        if not self.broker.is_connected():
            return
        self.ready.clear()
        try:
            await self._reconcile(why)
        except BrokerDisconnected:
            self._on_disconnected()

    async def _reconcile(self, why: str) -> None:
        async with self._resync_lock:
            truth = await self.broker.truth()
            await self.reconciler(self.gateway_id, truth)
            self.since = self.clock.now()
            self.down_since = None
            self.ready.set()
            log.info("gateway ready", extra={"gateway_id": self.gateway_id, "why": why, "accounts": self.accounts})

    async def _maybe_alert_down(self) -> None:
        if self.down_since is None or self.ready.is_set():
            return
        down_for = (self.clock.now() - self.down_since).total_seconds()
        if down_for >= self.down_alert_s and self._alerted_for != self.down_since:
            self._alerted_for = self.down_since
            await self.alerts.send("gateway.disconnected", Severity.CRITICAL,
                                   f"gateway {self.gateway_id} down for {down_for:.0f} s", gateway_id=self.gateway_id)

    async def close(self) -> None:
        """Close the session (orders stay at the broker)."""
        self.ready.clear()
        await self.broker.disconnect()


async def _wait_any(stop: asyncio.Event, *aws: Awaitable[object]) -> None:
    tasks = [asyncio.ensure_future(stop.wait()), *(asyncio.ensure_future(a) for a in aws)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in tasks:
            t.cancel()
