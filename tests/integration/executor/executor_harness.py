"""Run the real executor (``python -m executor``) against ibsim and the emulators, and read the outcome.

Everything is real: the executor process with ib_async, the simulator process speaking the TWS protocol, the
Firestore and Pub/Sub emulators. The broker-side truth is the simulator's JSONL journal.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from google.cloud import firestore

from ibsim.testing import SimulatorProcess
from spreadpilot.clock import SimClock
from spreadpilot.envelopes import AlertMessage, SignalMessage, decode
from spreadpilot.models import (
    Follower,
    Gateway,
    IntentState,
    OrderIntent,
    Signal,
    Spread,
    Strategy,
    make_intent_id,
    make_signal_id,
)
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.store import Store
from stack.executor_process import ExecutorProcess
from stack.executor_process import wait_for as wait_for  # the tests import it from here
from stack.topology import TopicTap

DAY = date(2026, 3, 17)
START = "2026-03-17T09:40:00-04:00"
SPEED = 20.0


def follower(n: int, *, multiplier: str = "1", max_contracts: int = 10, enabled: bool = True,
             gateway_id: str = "gw-advisor") -> Follower:
    return Follower(id=f"f{n:02d}", name=f"Follower {n}", email=f"f{n}@example.com", iban="DE89370400440532013000",
                    commission_pct=Decimal(20), gateway_id=gateway_id, ibkr_account=f"DU{n:03d}",
                    multiplier=Decimal(multiplier), max_contracts=max_contracts, enabled=enabled)


def make_signal(qty: int = 2, short: int = 485, long_: int = 480) -> Signal:
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(short), long_strike=Decimal(long_))
    return Signal(signal_id=make_signal_id(DAY, "QQQ", spread, qty), date=DAY, ticker="QQQ", spread=spread,
                  qty_per_leg=qty, detected_at=datetime(2026, 3, 17, 13, 31, tzinfo=UTC))


def seed(db: firestore.Client, followers: Iterable[Follower], gateways: Iterable[Gateway]) -> None:
    store = Store(db)
    for f in followers:
        store.followers.put(f)
    for g in gateways:
        store.gateways.put(g)


def publish(project: str, sig: Signal) -> str:
    return PubSubPublisher(project).publish("signals", SignalMessage(signal=sig))


class Executor(ExecutorProcess):
    """``python -m executor`` as a child process, entries only."""

    def __init__(self, subscription: str, clock: SimClock, log_path: Path, **settings: object) -> None:
        # entry tests: no position monitor closing their deep in-the-money test spreads mid-test
        super().__init__(clock, log_path, signals_subscription=subscription, lifecycle_enabled="false", **settings)


def intents(db: firestore.Client, sig: Signal) -> dict[str, OrderIntent]:
    return {i.follower_id: i for i in Store(db).orders.all() if i.signal_id == sig.signal_id}


def settled(db: firestore.Client, sig: Signal, followers: Iterable[Follower]) -> Callable[[], bool]:
    expected = {f.id for f in followers if f.enabled}

    def check() -> bool:
        found = intents(db, sig)
        return set(found) >= expected and all(found[fid].state.final for fid in expected)

    return check


def broker_orders(sim: SimulatorProcess) -> dict[str, set[int]]:
    """Distinct broker orders (perm ids) per orderRef, what-if probes and modifies excluded."""
    orders: dict[str, set[int]] = defaultdict(set)
    for event in sim.journal():
        if event["event"] == "order" and not event.get("what_if"):
            orders[str(event.get("order_ref"))].add(int(event["perm_id"]))
    return orders


def first_orders(sim: SimulatorProcess) -> dict[str, dict[str, Any]]:
    """The first order event of each orderRef."""
    firsts: dict[str, dict[str, Any]] = {}
    for event in sim.journal():
        if event["event"] == "order" and not event.get("what_if"):
            firsts.setdefault(str(event.get("order_ref")), event)
    return firsts


def order_messages(sim: SimulatorProcess) -> int:
    """placeOrder messages the broker received (new orders and modifies), what-if probes excluded."""
    return sum(1 for e in sim.journal() if e["event"] == "order" and not e.get("what_if"))


def journal_fills(sim: SimulatorProcess) -> set[str]:
    return {str(e["exec_id"]) for e in sim.journal() if e["event"] == "fill"}


def recorded_fills(db: firestore.Client) -> set[str]:
    return {f.exec_id for f in Store(db).fills.all()}


def every_fill_recorded(sim: SimulatorProcess, db: firestore.Client, timeout_s: float = 10.0) -> None:
    """Wait until every execution in the journal is in ``fills``: an execution is written beside its intent's
    state, not before it, so the intent can be final a moment before its last fill is stored."""
    deadline = time.monotonic() + timeout_s
    while journal_fills(sim) != recorded_fills(db) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert journal_fills(sim) == recorded_fills(db)


def alert_types(alerts: TopicTap, wanted: set[str], timeout_s: float = 20.0) -> list[str]:
    """Alert types published so far, pulling until every ``wanted`` type showed up (or the time is up)."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while not wanted <= set(seen) and time.monotonic() < deadline:
        seen += [decode(m.data, AlertMessage).alert.type for m in alerts.pull(20, timeout_s=0.5)]
    return seen


def ref(sig: Signal, follower_id: str) -> str:
    return make_intent_id(sig.signal_id, follower_id)


def advisor(sim: SimulatorProcess, client_id: int = 7) -> Gateway:
    return Gateway(id="gw-advisor", host=sim.host, port=sim.port, client_id=client_id)


FINAL_OK = {IntentState.FILLED}
