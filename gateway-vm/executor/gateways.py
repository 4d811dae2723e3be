"""The gateway pool: one broker connection per gateway, shared by its followers.

Each link holds the gateway's lease (when leases are configured; ``executor.lease``), keeps itself connected
(backoff between attempts), reconciles before it lets anything be sent (after the first connect, every reconnect,
1101 "restored, data lost", and whenever a sender asks for it), and alerts once per outage that lasts longer than
``down_alert_s`` (or past the end of the restart window it began in: ``executor.restarts``; a nightly restart is
logged and reconciled, never paged). While a link is not ``ready`` nothing is sent on it: senders
``await link.ready.wait()``, and the broker asks ``may_send`` once more right before an order message goes out.

A reconciliation that fails for any reason (a slow truth request, a store error, a document it cannot write) is
retried with backoff on the live session; after ``RECONCILE_ALERT_AFTER`` failures in a row an operator is alerted.
One error never leaves a gateway connected but unusable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from executor.alerts import Alerts
from executor.broker import (
    LINK_LOST,
    LINK_RESTORED_DATA_KEPT,
    LINK_RESTORED_DATA_LOST,
    Broker,
    BrokerDisconnected,
    BrokerListener,
    BrokerTruth,
    Execution,
    OrderUpdate,
)
from executor.farms import FarmWatch
from executor.lease import GatewayLease
from executor.restarts import RestartWindows
from executor.waits import wait_any
from spreadpilot.clock import Clock
from spreadpilot.models import Severity

log = logging.getLogger(__name__)
Reconciler = Callable[[str, BrokerTruth], Awaitable[None]]
RECONCILE_ALERT_AFTER = 3


class GatewayLink:
    """One gateway: its lease, broker session, readiness and outage bookkeeping."""

    def __init__(self, gateway_id: str, broker: Broker, *, clock: Clock, alerts: Alerts, reconciler: Reconciler,
                 on_order: Callable[[OrderUpdate], None], on_execution: Callable[[Execution], None],
                 backoff: tuple[float, float] = (0.5, 15.0), down_alert_s: float = 30.0,
                 lease: GatewayLease | None = None,
                 on_owned: Callable[[str], Awaitable[None]] | None = None,
                 on_lost: Callable[[str], None] | None = None,
                 windows: RestartWindows | None = None,
                 on_farms_broken: Callable[[str, datetime, str], Awaitable[None]] | None = None,
                 farm_restart_after_s: float = 300.0) -> None:
        self.gateway_id = gateway_id
        self.broker = broker
        self.clock = clock
        self.alerts = alerts
        self.reconciler = reconciler
        self.backoff = backoff
        self.down_alert_s = down_alert_s
        self.lease = lease
        self.windows = windows or RestartWindows.standard()
        self.on_owned = on_owned
        self.on_lost = on_lost
        self.ready = asyncio.Event()
        self.accounts: list[str] = []
        self.since: datetime | None = None
        self.down_since: datetime | None = clock.now()
        self.reconcile_failures = 0
        self._owned = lease is None  # with a lease: set by the lease keeper once the lease is held
        self._adopted = False
        self._needs_reconcile = True
        self._wake = asyncio.Event()
        self._resync_lock = asyncio.Lock()
        self._alerted_for: datetime | None = None
        self.farms = FarmWatch()
        self.on_farms_broken = on_farms_broken
        self.farm_restart_after_s = farm_restart_after_s
        self._restart_wanted_for: datetime | None = None
        broker.set_listener(BrokerListener(on_order=on_order, on_execution=on_execution,
                                           on_connection=self._on_code, on_disconnected=self._on_disconnected,
                                           may_send=self.may_send,
                                           on_farm=lambda code, message: self.farms.seen(code, message,
                                                                                          self.clock.now())))

    @property
    def owned(self) -> bool:
        """This process drives the gateway (it holds the lease, or leases are not configured)."""
        return self._owned and (self.lease is None or self.lease.held())

    def may_send(self) -> bool:
        """An order message may go out now: owned, connected and reconciled."""
        return self.ready.is_set() and self.owned

    def status(self) -> dict[str, object]:
        """The heartbeat's view of this gateway."""
        since = self.since or self.down_since or self.clock.now()
        return {"connected": self.ready.is_set(), "since": since.isoformat(), "accounts": list(self.accounts),
                "owned": self.owned, "reconcile_failures": self.reconcile_failures}

    def _expected_in(self) -> str | None:
        """The restart window now falls in (logged with every outage), or None: the outage will be paged."""
        window = self.windows.covering(self.clock.now())
        return window[0] if window else None

    def _on_disconnected(self) -> None:
        if self.ready.is_set() or self.down_since is None:
            log.warning("gateway disconnected", extra={"gateway_id": self.gateway_id,
                                                       "expected_in": self._expected_in()})
            self.down_since = self.clock.now()
            self.since = None
        self.ready.clear()
        self._needs_reconcile = True
        self._wake.set()

    def _on_code(self, code: int, message: str) -> None:
        log.warning("gateway connectivity", extra={"gateway_id": self.gateway_id, "code": code, "ib_message": message,
                                                   "expected_in": self._expected_in()})
        if code == LINK_LOST:
            if self.ready.is_set():
                self.down_since = self.clock.now()
            self.ready.clear()  # nothing is sent while IB says connectivity is lost
        elif code in (LINK_RESTORED_DATA_LOST, LINK_RESTORED_DATA_KEPT):
            self.request_reconcile()

    def request_reconcile(self) -> None:
        """Stop sending until the run loop has reconciled from fresh broker truth."""
        self.ready.clear()
        self._needs_reconcile = True
        self._wake.set()

    async def resync(self, why: str) -> None:
        """Stop sending and reconcile now (e.g. after a lost ack); on failure the run loop keeps retrying."""
        if not self.broker.is_connected() or not self.owned:
            self.request_reconcile()
            return
        self.ready.clear()
        try:
            await self._reconcile(why)
        except Exception as exc:  # the run loop retries with backoff and alerts; the caller waits for ready
            log.warning("reconciliation failed", extra={"gateway_id": self.gateway_id, "why": why, "error": repr(exc)})
            self.request_reconcile()

    async def run(self, stop: asyncio.Event) -> None:
        """Hold the lease and keep the session up and reconciled until ``stop``; retries back off exponentially."""
        keeper = asyncio.ensure_future(self._keep_lease(stop)) if self.lease is not None else None
        try:
            await self._keep_session(stop)
        finally:
            if keeper is not None:
                keeper.cancel()
                await asyncio.gather(keeper, return_exceptions=True)

    async def _keep_lease(self, stop: asyncio.Event) -> None:
        """Renew the lease on its own schedule, whatever the session is busy with, and give the gateway up the
        moment it lapses (so a hung reconciliation never keeps a gateway this process no longer owns)."""
        assert self.lease is not None
        while not stop.is_set():
            if await self.lease.renew():
                if not self._owned:
                    self._owned, self._adopted = True, False
                    self._wake.set()
            else:
                await self._release_ownership("lease not held")
            await wait_any(stop, asyncio.sleep(self.lease.renew_every_s))

    async def _keep_session(self, stop: asyncio.Event) -> None:
        delay = self.backoff[0]
        while not stop.is_set():
            if not self.owned:
                self._wake.clear()
                await wait_any(stop, self._wake.wait(), asyncio.sleep(1.0))
                continue
            if not self._adopted and self.on_owned is not None:
                try:
                    await self.on_owned(self.gateway_id)  # adopt its open intents before the first reconciliation
                    self._adopted = True
                except Exception as exc:  # retried on the next turn
                    log.warning("adopting open intents failed", extra={"gateway_id": self.gateway_id,
                                                                       "error": repr(exc)})
            try:
                if not self.broker.is_connected():
                    self.ready.clear()
                    self._needs_reconcile = True
                    self.farms.clear()  # the new session is told every farm's state again
                    self.accounts = await self.broker.connect()
                if self._needs_reconcile and self.owned:
                    await self._reconcile("connected" if self.since is None else "reconcile requested")
                delay = self.backoff[0]
            except BrokerDisconnected as exc:
                self.ready.clear()
                log.warning("gateway connect failed", extra={"gateway_id": self.gateway_id, "error": str(exc)})
                await self._maybe_alert_down()
                await wait_any(stop, asyncio.sleep(delay))
                delay = min(self.backoff[1], delay * 2)
                continue
            except Exception as exc:  # one failed reconciliation must not leave the gateway unusable
                await self._reconcile_failed(exc)
                await wait_any(stop, asyncio.sleep(delay))
                delay = min(self.backoff[1], delay * 2)
                continue
            self._wake.clear()
            await wait_any(stop, self._wake.wait(), asyncio.sleep(1.0))
            await self._maybe_alert_down()
            await self._maybe_want_restart()

    async def _reconcile(self, why: str) -> None:
        async with self._resync_lock:
            self._needs_reconcile = False
            try:
                truth = await self.broker.truth()
                await self.reconciler(self.gateway_id, truth)
            except BaseException:
                self._needs_reconcile = True
                raise
            if self._needs_reconcile or not self.broker.is_connected() or not self.owned:
                return  # something happened meanwhile (a drop, 1101, the lease lapsed): the run loop looks again
            self.since = self.clock.now()
            self.down_since = None
            self.reconcile_failures = 0
            self.ready.set()
            log.info("gateway ready", extra={"gateway_id": self.gateway_id, "why": why, "accounts": self.accounts})

    async def _reconcile_failed(self, exc: Exception) -> None:
        self.ready.clear()
        self._needs_reconcile = True
        self.reconcile_failures += 1
        log.warning("reconciliation failed; retrying", exc_info=exc,
                    extra={"gateway_id": self.gateway_id, "failures": self.reconcile_failures})
        if self.reconcile_failures == RECONCILE_ALERT_AFTER:
            await self.alerts.send("gateway.reconcile_failed", Severity.CRITICAL,
                                   f"gateway {self.gateway_id} cannot reconcile ({self.reconcile_failures} attempts "
                                   f"in a row); nothing is sent on it until it does: {exc!r}",
                                   gateway_id=self.gateway_id)

    async def _release_ownership(self, why: str) -> None:
        if not self._owned:
            return
        log.warning("gateway given up", extra={"gateway_id": self.gateway_id, "why": why})
        self._owned = False
        if self.lease is not None:
            self.lease.lapse()
        self._adopted = False
        self.ready.clear()
        self._needs_reconcile = True
        if self.on_lost is not None:
            self.on_lost(self.gateway_id)
        if self.broker.is_connected():
            await self.broker.disconnect()

    async def _maybe_alert_down(self) -> None:
        if self.down_since is None or self.ready.is_set() or not self.owned:
            return
        now = self.clock.now()
        down_for = (now - self.down_since).total_seconds()
        if now < self.windows.page_after(self.down_since, self.down_alert_s):
            return  # expected (a restart or maintenance window) or not long enough yet: logged, reconciled, no page
        if self._alerted_for != self.down_since:
            self._alerted_for = self.down_since
            await self.alerts.send("gateway.disconnected", Severity.CRITICAL,
                                   f"gateway {self.gateway_id} down for {down_for:.0f} s", gateway_id=self.gateway_id)

    async def _maybe_want_restart(self) -> None:
        """A data farm broken for ``farm_restart_after_s``: ask the VM's supervisor to restart the gateway, once per
        outage (it restarts it outside trading hours, and asks an operator inside them)."""
        since = self.farms.broken_since()
        if since is None or self.on_farms_broken is None or not self.owned or since == self._restart_wanted_for:
            return
        if (self.clock.now() - since).total_seconds() < self.farm_restart_after_s:
            return
        broken = self.farms.describe()
        log.warning("data farm broken: gateway restart wanted", extra={"gateway_id": self.gateway_id,
                                                                        "farms": broken})
        try:
            await self.on_farms_broken(self.gateway_id, since, broken)
            self._restart_wanted_for = since
        except Exception as exc:  # asked again on the next turn
            log.warning("asking for a gateway restart failed", extra={"gateway_id": self.gateway_id,
                                                                       "error": repr(exc)})

    async def close(self) -> None:
        """Close the session (orders stay at the broker) and give the lease up."""
        self.ready.clear()
        await self.broker.disconnect()
        if self.lease is not None:
            await self.lease.give_up()
