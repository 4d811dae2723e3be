"""Executor processes of one run: boot like ``executor.service`` does, die at any await, restart, run twice.

A process boots as the service does (read ``gateways/*``, one broker per gateway, ``Engine.start``, the lifecycle
(position monitor, closes, operator commands) over the same Firestore, then subscribe to signals and commands) over
the run's one Firestore and the run's gateways, each with a connection of its own. ``crash`` is SIGKILL:
every task of the process is cancelled at once, its sockets close, its unacked messages come back after their ack
deadline, and nothing it held in memory survives; a fresh process boots ``restart_after`` seconds later (a failed
boot is retried like systemd would, a bounded number of times).
"""

from __future__ import annotations

import functools
import inspect
import logging
from dataclasses import dataclass, field
from typing import Any

from executor import intents
from executor.engine import Engine
from executor.intents import FirestoreExecutorStore
from executor.lifecycle.service import Lifecycle
from executor.lifecycle.settings import LifecycleSettings
from executor.lifecycle.store import FirestoreLifecycleStore
from executor.settings import ExecutorSettings
from faultsim.broker import SimBroker
from faultsim.pubsub import Subscriber
from faultsim.runtime import Runtime
from faultsim.vloop import PROCESS
from spreadpilot.envelopes import AlertMessage, Message
from spreadpilot.store import Store

log = logging.getLogger(__name__)
MAX_BOOTS = 8  # per lineage: a process that cannot start is restarted, but not forever
BOOT_RETRY_S = 2.0  # systemd's RestartSec


@dataclass
class Process:
    """One executor process."""

    pid: str
    lineage: str  # "p" for the first executor, "b" for a second one
    client_offset: int
    brokers: dict[str, SimBroker] = field(default_factory=dict)
    engine: Engine | None = None
    lifecycle: Lifecycle | None = None
    alive: bool = True
    ready: bool = False  # booted and subscribed
    boot_error: str = ""


class RecordingPublisher:
    """``spreadpilot.publisher.Publisher`` that keeps every alert with the process and virtual time."""

    def __init__(self, rt_time: Any) -> None:
        self._time = rt_time
        self.alerts: list[dict[str, Any]] = []

    def publish(self, topic: str, message: Message, *, ordering_key: str = "") -> str:
        """Record one message."""
        if isinstance(message, AlertMessage):
            a = message.alert
            self.alerts.append({"pid": PROCESS.get(), "t": round(self._time(), 6), "type": a.type,
                                "severity": str(a.severity), "order_ref": a.order_ref, "follower_id": a.follower_id,
                                "signal_id": a.signal_id, "message": a.message, "context": dict(a.context)})
        return str(len(self.alerts))


class _NoPool:
    """Stands where the executor's thread pool goes: the virtual loop runs "threads" itself."""


@functools.cache
def lifecycle_settings() -> LifecycleSettings:
    """The lifecycle's settings in the simulator (a position pass and an MTM pass every few virtual seconds)."""
    return LifecycleSettings(GOOGLE_CLOUD_PROJECT="sim", monitor_s=5.0, mtm_s=5.0, exit_market_after_s=10.0,
                             exit_done_timeout_s=30.0, action_retry_s=2.0, flatten_entry_wait_s=20.0,
                             flatten_settle_s=1.0)


@functools.cache
def settings() -> ExecutorSettings:
    """The executor's settings in the simulator (short timings, virtual seconds; read once: they are frozen)."""
    return ExecutorSettings(GOOGLE_CLOUD_PROJECT="sim", ack_timeout_s=2.0, connect_timeout_s=2.0,
                            reconnect_min_s=0.1, reconnect_max_s=2.0, down_alert_s=30.0, ladder_step_s=2.0)


class Executors:
    """The run's processes."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.processes: list[Process] = []
        self.boots: dict[str, int] = {}
        self.pending_restarts = 0
        self.settings = settings()

    def alive(self) -> list[Process]:
        """Processes that are running (booted or booting)."""
        return [p for p in self.processes if p.alive]

    def primary(self) -> Process | None:
        """The newest live process of the first executor."""
        live = [p for p in self.alive() if p.lineage == "p"]
        return live[-1] if live else None

    def boot(self, lineage: str, client_offset: int = 0) -> Process:
        """Start a process of ``lineage``."""
        n = self.boots.get(lineage, 0) + 1
        self.boots[lineage] = n
        proc = Process(f"{lineage}{n}", lineage, client_offset)
        self.processes.append(proc)
        self.rt.trace.add("process", f"boot {proc.pid} (client id offset {client_offset})")
        self.rt.loop.create_task(self._boot(proc), context=self.rt.loop.context_of(proc.pid))
        return proc

    async def _boot(self, proc: Process) -> None:
        rt = self.rt
        try:
            store = FirestoreExecutorStore(Store(rt.db), _NoPool())  # type: ignore[arg-type]
            gateways = await store.gateways()
            for gid in sorted(gateways):
                proc.brokers[gid] = SimBroker(rt.gateways[gid], gateways[gid].client_id + proc.client_offset,
                                              proc.pid, rt.loop, ack_timeout_s=self.settings.ack_timeout_s,
                                              faults=rt.board.broker, sent=rt.sent)
            engine = Engine(store, proc.brokers, rt.publisher, self.settings, rt.clock,
                            **self._engine_extras(store, proc))
            proc.engine = engine
            await engine.start()
            lifecycle = Lifecycle(engine, FirestoreLifecycleStore(Store(rt.db), _NoPool()),  # type: ignore[arg-type]
                                  lifecycle_settings())
            await lifecycle.start(subscribe=False)
            proc.lifecycle = lifecycle
            rt.bus.subscribe(Subscriber(proc.pid, engine.handle_signal, engine.alerts))
            rt.commands.subscribe(Subscriber(proc.pid, lifecycle.commands.handle, engine.alerts))
            proc.ready = True
            rt.trace.add("process", f"{proc.pid} started")
        except Exception as exc:  # the process exits; systemd starts it again
            proc.boot_error = " ".join(f"{type(exc).__name__}: {exc}".split())[:240]
            rt.trace.add("process", f"{proc.pid} failed to start: {proc.boot_error}")
            rt.notes.append(f"{proc.pid} failed to start: {proc.boot_error}")
            if self.boots.get(proc.lineage, 0) < MAX_BOOTS:
                self.crash(proc.pid, BOOT_RETRY_S, why="exited")
            else:
                self.crash(proc.pid, None, why="exited for good")

    def _engine_extras(self, store: FirestoreExecutorStore, proc: Process) -> dict[str, Any]:
        """What a newer ``Engine`` takes besides the five basics, built as ``executor.service`` builds it: gateway
        leases over the same Firestore, and a holder name unique to the process (host and pid)."""
        params = inspect.signature(Engine.__init__).parameters
        extras: dict[str, Any] = {}
        lease_store = getattr(intents, "FirestoreLeaseStore", None)
        if "leases" in params and lease_store is not None and getattr(self.settings, "leases", True):
            extras["leases"] = lease_store(self.rt.db, _NoPool())
        if "holder" in params:
            extras["holder"] = f"vm-{proc.lineage}:{proc.pid}"  # as executor.service names it: host and process
        return extras

    def crash(self, pid: str, restart_after: float | None, why: str = "killed") -> None:
        """SIGKILL ``pid``; boot a fresh process of its lineage ``restart_after`` seconds later."""
        proc = next((p for p in self.processes if p.pid == pid), None)
        if proc is None or not proc.alive:
            return
        proc.alive = False
        cancelled = self.rt.loop.kill(pid)
        for broker in proc.brokers.values():
            broker.abandon()
        self.rt.bus.process_died(pid)
        self.rt.commands.process_died(pid)
        self.rt.trace.add("process", f"{pid} {why} ({cancelled} tasks cancelled)")
        if restart_after is not None:
            self.pending_restarts += 1
            self.rt.loop.call_later(restart_after, self._restart, proc)

    def _restart(self, proc: Process) -> None:
        self.pending_restarts -= 1
        self.boot(proc.lineage, proc.client_offset)
