"""The executor's core wired together, independent of where signals come from and which broker sits behind.

``service`` builds it with the real adapters (ib_async, Firestore, Pub/Sub); the unit tests with in-memory fakes.
Start-up order matters: a gateway's unfinished intents are adopted as soon as this process owns the gateway and
before its first reconciliation, so that reconciliation (which precedes any order on it) already covers them.
Adoption runs again every ``adopt_s``, so an intent that a failed delivery or another process recorded on one of
our gateways is never left unrun. Every execution goes to the ledger (``executor.ledger``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

from executor.alerts import Alerts
from executor.book import IntentBook
from executor.broker import Broker, BrokerTruth, Execution
from executor.entry import EntryRunner
from executor.events import ExecutorEvents
from executor.fanout import SignalHandler
from executor.foreign import Foreign, foreign_execution, foreign_in
from executor.gateways import GatewayLink
from executor.intents import ExecutorStore
from executor.lease import GatewayLease, LeaseStore
from executor.ledger import ExecutionLedger, Owner
from executor.reconcile import our_intents, reconcile, sweep_executions
from executor.restarts import RestartWindows
from executor.settings import ExecutorSettings
from executor.waits import wait_any
from spreadpilot.clock import Clock, new_york
from spreadpilot.models import Gateway, GatewayRestartWanted, IntentState, OrderIntent, Severity, Signal
from spreadpilot.publisher import Publisher

log = logging.getLogger(__name__)


class Engine:
    """Gateways, intents, entries and alerts of one executor process."""

    def __init__(self, store: ExecutorStore, brokers: Mapping[str, Broker], publisher: Publisher,
                 settings: ExecutorSettings, clock: Clock, pool: ThreadPoolExecutor | None = None,
                 leases: LeaseStore | None = None, holder: str = "executor",
                 events: ExecutorEvents | None = None, connect: Callable[[Gateway], Broker] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.started_at = clock.now()
        self.stop = asyncio.Event()
        self.book = IntentBook(store, clock, self._epoch_of if leases else None)
        self.ledger = ExecutionLedger(store, clock)
        self.alerts = Alerts(publisher, settings.alerts_topic, clock, pool)
        self._leases, self._holder, self._connect = leases, holder, connect
        # one dict for the whole process: the entry runner and the lifecycle see a gateway added or removed at once
        self.links = {gateway_id: self._link(gateway_id, broker) for gateway_id, broker in brokers.items()}
        self._link_tasks: dict[str, tuple[asyncio.Event, asyncio.Task[None]]] = {}
        self._addresses: dict[str, tuple[str, int, int]] = {}  # gateway id → (host, port, client id) connected to
        self.runner = EntryRunner(self.book, store, self.links, self.alerts, settings, clock, self.stop)
        self.handler = SignalHandler(store, self.book, self.runner, self.alerts, settings, clock)
        self.accounts = self.handler.accounts  # account → follower id, for executions no intent explains
        self.events = events
        if events is not None:
            self.book.observers.append(self._intent_event)
        self.book.on_missing_executions = self._missing_executions
        self._tasks: list[asyncio.Task[None]] = []
        self._fill_tasks: set[asyncio.Task[bool]] = set()
        self._foreign_watch: Callable[[Foreign], None] | None = None
        # today's findings, in order: each is reported once a day (every truth fetch finds it again), and a watcher
        # that starts later (the lifecycle, after the first reconciliation) gets them first
        self._foreign_day: date | None = None
        self._foreign_seen: dict[Foreign, None] = {}

    async def start(self) -> None:
        """Start the gateways (each adopts its open intents, connects, reconciles), the ledger and adoption."""
        loop = asyncio.get_running_loop()
        try:
            await self._refresh_accounts()
        except Exception:  # the next fan-out or adoption pass reads them again
            log.exception("followers not read at start-up")
        for gid in list(self.links):
            self._run_link(gid)
        self._tasks += [loop.create_task(self.ledger.run(self.stop, self.settings.ledger_retry_s), name="ledger"),
                        loop.create_task(self._adopt_loop(), name="adopt"),
                        loop.create_task(self._sweep_loop(), name="sweep")]
        if self._connect is not None:
            try:
                self._addresses = {g.id: _address(g) for g in (await self.store.gateways()).values()
                                   if g.id in self.links}
            except Exception:  # the watcher reads them again
                log.exception("gateways not read at start-up")
            self._tasks.append(loop.create_task(self._watch_gateways(), name="gateways"))
        if self.events is not None:
            self._tasks.append(loop.create_task(self.events.run(self.stop), name="events"))
        log.info("engine started", extra={"gateways": list(self.links)})

    async def handle_signal(self, signal: Signal) -> list[str]:
        """Record the signal's intents and start its entries (returns when the intents are durable)."""
        if self.stop.is_set():
            raise RuntimeError("the executor is stopping")
        return await self.handler.handle(signal)

    async def idle(self) -> None:
        """Wait until no entry and no fill recording is running."""
        while self.handler.tasks or self._fill_tasks:
            await asyncio.gather(*self.handler.tasks, *self._fill_tasks, return_exceptions=True)
        await self.ledger.flush()

    async def shutdown(self, grace_s: float = 20.0) -> None:
        """Stop taking work, let entries reach a safe point (orders rest at the broker), record, disconnect."""
        self.stop.set()
        for link_stop, _ in self._link_tasks.values():
            link_stop.set()
        pending = [*self.handler.tasks, *self._fill_tasks]
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await asyncio.gather(*self._tasks, return_exceptions=True)  # each ends on stop (the ledger flushes)
        for link in list(self.links.values()):
            await link.close()
        log.info("engine stopped",
                 extra={"in_flight": self.book.in_flight(), "fills_pending": len(self.ledger.pending)})

    def heartbeat(self) -> dict[str, object]:
        """The ``heartbeats/executor`` document."""
        return {
            "at": self.clock.now().isoformat(), "started_at": self.started_at.isoformat(),
            "gateways": {gid: link.status() for gid, link in self.links.items()},
            "in_flight": self.book.in_flight(), "version": self.settings.version,
            "stopping": self.stop.is_set(), "fills_pending": len(self.ledger.pending),
        }

    def _link(self, gateway_id: str, broker: Broker) -> GatewayLink:
        settings, leases = self.settings, self._leases
        return GatewayLink(
            gateway_id, broker, clock=self.clock, alerts=self.alerts, reconciler=self._reconcile,
            on_order=self.book.on_order, on_execution=self._on_execution,
            backoff=(settings.reconnect_min_s, settings.reconnect_max_s), down_alert_s=settings.down_alert_s,
            lease=GatewayLease(leases, gateway_id, self._holder, self.clock, ttl_s=settings.lease_ttl_s)
            if leases else None,
            on_owned=self._adopt_gateway, on_lost=self._drop_gateway,
            windows=RestartWindows.standard(settings.ibc_restart, settings.ibc_restart_minutes),
            on_farms_broken=self._want_restart, farm_restart_after_s=settings.farm_restart_after_s,
        )

    async def _want_restart(self, gateway_id: str, since: datetime, why: str) -> None:
        """A data farm of the gateway stays broken: its supervisor restarts it (outside trading hours, or once an
        operator approves; ``supervisor.hung``). A gateway no supervisor runs (started by hand) is put to the
        operators instead: nothing would read the request."""
        gateway = (await self.store.gateways()).get(gateway_id)
        if gateway is not None and gateway.vm is None:
            await self.alerts.send("gateway.farm_broken", Severity.WARNING,
                                   f"gateway {gateway_id}: data farm broken: {why}; it runs on no gateway VM, so "
                                   "restart IB Gateway by hand", gateway_id=gateway_id)
            return
        await self.store.want_restart(gateway_id, GatewayRestartWanted(at=self.clock.now(), since=since,
                                                                       why=f"data farm broken: {why}"[:500]))

    def _run_link(self, gateway_id: str) -> None:
        """Start the gateway's session (lease, connection, reconciliation) with a stop of its own (set by
        ``shutdown`` for all, or by ``_remove_gateway`` for this one)."""
        link_stop = asyncio.Event()
        task = asyncio.get_running_loop().create_task(self.links[gateway_id].run(link_stop),
                                                      name=f"gateway:{gateway_id}")
        self._link_tasks[gateway_id] = (link_stop, task)
        self._tasks.append(task)  # a process that dies takes it down with the rest

    async def _watch_gateways(self) -> None:
        """Every ``gateways_poll_s``: connect a gateway added to ``gateways/*``, let go of one removed, connect anew
        one whose host, port or client id changed. A failed read changes nothing."""
        while not self.stop.is_set():
            await wait_any(self.stop, asyncio.sleep(self.settings.gateways_poll_s))
            if self.stop.is_set():
                return
            try:
                docs = await self.store.gateways()
            except Exception as exc:
                log.warning("gateways not read; keeping the ones connected", extra={"error": repr(exc)})
                continue
            for gateway_id in sorted(set(self.links) | set(docs)):
                try:  # one gateway's failure (a socket that will not close, a broker not built) is its own
                    await self._follow(gateway_id, docs.get(gateway_id))
                except Exception as exc:
                    log.warning("gateway change not applied; the next poll tries again",
                                extra={"gateway_id": gateway_id, "error": repr(exc)})

    async def _follow(self, gateway_id: str, gateway: Gateway | None) -> None:
        """Bring one gateway in line with its document (None: the document is gone)."""
        if gateway is None:
            await self._remove_gateway(gateway_id, "its gateways/ document is gone")
            return
        known = self._addresses.get(gateway_id)
        if gateway_id in self.links and known is not None and known != _address(gateway):
            await self._remove_gateway(gateway_id, "its connection changed")
        if gateway_id not in self.links:
            self._add_gateway(gateway)

    def _add_gateway(self, gateway: Gateway) -> None:
        assert self._connect is not None
        self.links[gateway.id] = self._link(gateway.id, self._connect(gateway))
        self._addresses[gateway.id] = _address(gateway)
        self._run_link(gateway.id)
        log.info("gateway added", extra={"gateway_id": gateway.id, "host": gateway.host, "port": gateway.port})

    async def _remove_gateway(self, gateway_id: str, why: str) -> None:
        link_stop, task = self._link_tasks.pop(gateway_id)
        link_stop.set()
        await asyncio.gather(task, return_exceptions=True)
        link = self.links.pop(gateway_id)  # gone from here on, whatever its close below comes to
        self._addresses.pop(gateway_id, None)
        self._drop_gateway(gateway_id)  # its runners end; its intents stay in the store for whoever drives it
        log.warning("gateway removed", extra={"gateway_id": gateway_id, "why": why})
        await link.close()  # the session ends (orders rest at the broker) and the lease is given up

    def _epoch_of(self, gateway_id: str) -> int:
        """The lease epoch this process writes the gateway's intents with (0: not held, it may only create)."""
        link = self.links.get(gateway_id)
        if link is None or link.lease is None or link.lease.epoch is None or not link.owned:
            return 0
        return link.lease.epoch

    async def _refresh_accounts(self) -> None:
        for follower in await self.store.enabled_followers():
            self.accounts[follower.ibkr_account] = follower.id
        await self.handler.alert_malformed()

    async def _adopt_gateway(self, gateway_id: str) -> None:
        """Track (and run) the open intents of a gateway this process now owns."""
        for intent_id in await self.handler.adopt_open():
            self.handler.spawn(intent_id)

    def _drop_gateway(self, gateway_id: str) -> None:
        """Another process may drive the gateway now: forget its intents here (their runners end)."""
        dropped = self.book.untrack_gateway(gateway_id)
        log.warning("gateway intents dropped", extra={"gateway_id": gateway_id, "intents": len(dropped)})

    async def _adopt_loop(self) -> None:
        """Every ``adopt_s``: adopt open intents nobody here tracks yet (a fan-out that failed part-way)."""
        while not self.stop.is_set():
            await wait_any(self.stop, self.clock.sleep(self.settings.adopt_s))
            if self.stop.is_set():
                return
            try:
                for intent_id in await self.handler.adopt_open():
                    log.warning("adopted an intent nobody ran", extra={"order_ref": intent_id})
                    self.handler.spawn(intent_id)
            except Exception:  # a store outage: the next pass tries again
                log.exception("adoption pass failed")

    def _intent_event(self, intent: OrderIntent, note: str) -> None:
        """One line in the event console per intent state change (written off the loop, never awaited)."""
        if self.events is None:
            return
        kind = "intent.planned" if intent.state is IntentState.PLANNED else f"order.{intent.state}"
        self.events.queue_intent(intent, kind, note or str(intent.state))

    def _missing_executions(self, intent: OrderIntent) -> None:
        log.warning("executions missing for a final intent; sweeping", extra={"order_ref": intent.intent_id})
        self.ledger.sweep_wanted = True

    async def _sweep_loop(self) -> None:
        """Fetch executions from the broker when one (or a commission) may be missing, and every so often anyway,
        so the ledger never depends on an event that was lost (nor on ``reqExecutions`` reaching back far)."""
        since_full = 0.0
        while not self.stop.is_set():
            await wait_any(self.stop, self.clock.sleep(self.settings.ledger_sweep_s))
            since_full += self.settings.ledger_sweep_s
            if self.stop.is_set():
                return
            if not (self.ledger.sweep_wanted or self.ledger.lacking_commission()
                    or since_full >= self.settings.ledger_full_sweep_s):
                continue
            self.ledger.sweep_wanted, since_full = False, 0.0
            log.info("execution sweep", extra={"lacking_commission": self.ledger.lacking_commission()})
            for link in list(self.links.values()):  # a gateway may be added or removed meanwhile
                if not link.may_send():
                    continue  # reconciliation sweeps when it comes back
                try:
                    await self._sweep(link.gateway_id, await link.broker.truth())
                except Exception as exc:  # the next pass tries again
                    self.ledger.sweep_wanted = True
                    log.warning("execution sweep failed", extra={"gateway_id": link.gateway_id, "error": repr(exc)})

    async def _sweep(self, gateway_id: str, truth: BrokerTruth) -> None:
        ours = await our_intents(self.book, truth)
        await sweep_executions(self.book, self.ledger, self.accounts, truth, ours)
        for execution in truth.executions:
            if execution.order_ref in self.book.tracked:
                await self.book.on_execution(execution)
        await self.ledger.flush()
        self._look_for_foreign(truth, ours)

    def _owner(self, execution: Execution) -> Owner | None:
        tracked = self.book.tracked.get(execution.order_ref)
        if tracked is not None:
            return Owner(tracked.intent.follower_id, tracked.intent)
        follower_id = self.accounts.get(execution.account)
        return Owner(follower_id, None) if follower_id else None

    def _on_execution(self, execution: Execution) -> None:
        found = foreign_execution(execution, self.accounts)
        if found is not None:
            self._report_foreign(found)
        owner = self._owner(execution)
        if owner is not None:  # an untracked one may be ours from before a restart: the next sweep tells
            self.ledger.add(execution, owner)
        task = asyncio.get_running_loop().create_task(self.book.on_execution(execution))
        self._fill_tasks.add(task)
        task.add_done_callback(self._fill_done)

    def _fill_done(self, task: asyncio.Task[bool]) -> None:
        self._fill_tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            # the executions are kept in memory and written with the intent's next change or reconciliation
            log.error("recording a fill on its intent failed", exc_info=task.exception())

    async def _reconcile(self, gateway_id: str, truth: BrokerTruth) -> None:
        await asyncio.gather(*self._fill_tasks, return_exceptions=True)
        ours = await our_intents(self.book, truth)  # one read, for the ledger and for foreign activity
        await reconcile(self.book, self.alerts, gateway_id, truth, self.ledger, self.accounts, ours)
        self._look_for_foreign(truth, ours)

    def _look_for_foreign(self, truth: BrokerTruth, ours: Mapping[str, OrderIntent]) -> None:
        """Foreign orders and executions in this truth (every reconciliation, and the sweep every
        ``ledger_full_sweep_s``, find what no live event told: another client's or a hand-entered order)."""
        for found in foreign_in(truth, self.accounts, ours.__contains__, self.settings.tickers):
            self._report_foreign(found)

    def watch_foreign(self, watch: Callable[[Foreign], None]) -> None:
        """Call ``watch`` for every foreign order or execution in a follower's account (``executor.foreign``),
        once a day each, today's found before now first."""
        self._foreign_watch = watch
        for found in list(self._foreign_seen):
            watch(found)

    def _report_foreign(self, found: Foreign) -> None:
        today = new_york(self.clock.now()).date()
        if today != self._foreign_day:  # a new day: what is still there is reported again
            self._foreign_day, self._foreign_seen = today, {}
        if found in self._foreign_seen:
            return
        self._foreign_seen[found] = None
        log.warning("foreign activity", extra={"follower_id": found.follower_id, "account": found.account,
                                               "what": found.what})
        if self._foreign_watch is not None:
            self._foreign_watch(found)


def _address(gateway: Gateway) -> tuple[str, int, int]:
    return gateway.host, gateway.port, gateway.client_id
