"""The executor process: real adapters in, SIGTERM out.

Start-up: settings → Firestore gateways → one ``IBBroker`` per gateway → ``Engine.start`` (per gateway: take its
lease, adopt its unfinished intents, connect, reconcile before any order) → heartbeat → the signals subscription.
Several executor processes may run over one Firestore: each drives the gateways whose leases it holds. A gateway
added to, removed from or re-pointed in ``gateways/*`` later is connected or let go without a restart.
SIGTERM/SIGINT: stop the subscription (no new work), let entries reach a safe point (a working order rests at the
broker at its last limit and its intent stays ``working``; a restart reconciles and resumes it), write the last
heartbeat, disconnect, exit 0.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import socket
from concurrent.futures import ThreadPoolExecutor

from executor.engine import Engine
from executor.events import ExecutorEvents
from executor.heartbeat import beat
from executor.ib import IBBroker
from executor.intents import FirestoreExecutorStore, FirestoreLeaseStore
from executor.lifecycle.service import Lifecycle
from executor.lifecycle.settings import LifecycleSettings
from executor.lifecycle.settlement import start_settlements
from executor.lifecycle.settlement_store import FirestoreSettlementStore
from executor.settings import ExecutorSettings
from executor.subscriber import SignalSubscriber
from spreadpilot import market_calendar
from spreadpilot.clock import Clock, new_york
from spreadpilot.events import FirestoreEvents
from spreadpilot.models import Gateway
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.settings import load_settings
from spreadpilot.store import Store, firestore_client

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_S = 20.0


async def serve(settings: ExecutorSettings) -> int:
    """Run until SIGTERM/SIGINT; the exit code."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    clock: Clock = settings.make_clock()
    pool = ThreadPoolExecutor(max_workers=settings.io_threads, thread_name_prefix="io")
    lane = ThreadPoolExecutor(max_workers=max(2, settings.io_threads // 4), thread_name_prefix="io-orders")
    db = firestore_client(settings.project)
    store = FirestoreExecutorStore(Store(db), pool, lane)
    # the market calendar (half days move the pin-risk close) loads in most of a second: not on the event loop later;
    # read in a child process, so pandas (about 60 MB) never lives in the executor
    today = new_york(clock.now()).date()
    await loop.run_in_executor(pool, functools.partial(market_calendar.preload_isolated, today))
    gateways = await store.gateways()
    if not gateways:
        log.warning("no gateways configured in Firestore; signals will be recorded as skipped")
    def connect(g: Gateway) -> IBBroker:
        return IBBroker(g.id, g.host, g.port, g.client_id, connect_timeout_s=settings.connect_timeout_s,
                        ack_timeout_s=settings.ack_timeout_s, symbols=settings.tickers)

    brokers = {g.id: connect(g) for g in gateways.values()}
    leases = FirestoreLeaseStore(db, pool) if settings.leases else None
    # unique per process: two processes never share a lease (a crashed one's leases expire; a stopped one's are
    # given up on the way out, so a restart takes them at once)
    holder = f"{settings.executor_id or socket.gethostname()}:{os.getpid()}"
    events = ExecutorEvents(FirestoreEvents(db), pool)
    # gateways added, removed or re-pointed in gateways/* later are followed without a restart (every gateways_poll_s)
    engine = Engine(store, brokers, PubSubPublisher(settings.project), settings, clock, pool, leases, holder, events,
                    connect=connect)
    await engine.start()
    lifecycle = Lifecycle.for_service(engine, store.store, pool, load_settings(LifecycleSettings))
    await lifecycle.start()
    # settlement events (assignment, exercise, expiry) and the broker's readings into the account ledger
    settlements = start_settlements(lifecycle.ctx, engine.ledger, FirestoreSettlementStore(store.store, pool),
                                    lifecycle.parts.closer.busy)
    heartbeat = loop.create_task(beat(store, engine.heartbeat, clock, settings.heartbeat_s, engine.stop))
    subscriber = SignalSubscriber(settings.project, settings.signals_subscription, engine.handle_signal, loop,
                                  engine.alerts, settings.max_signal_messages)
    subscriber.start()
    log.info("executor running", extra={"gateways": sorted(brokers), "subscription": subscriber.path})
    await stop.wait()
    log.info("stopping: no new work")
    await subscriber.stop()
    await lifecycle.stop()
    if settlements is not None:
        settlements.cancel()
        await asyncio.gather(settlements, return_exceptions=True)
    await engine.shutdown(SHUTDOWN_GRACE_S)
    await heartbeat
    await store.write_heartbeat(engine.heartbeat())
    pool.shutdown(wait=True)
    lane.shutdown(wait=True)
    log.info("executor stopped", extra={"in_flight": engine.book.in_flight()})
    return 0
