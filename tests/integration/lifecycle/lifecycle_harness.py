"""Run the real executor (``python -m executor``, lifecycle on) against ibsim and the emulators; read outcomes.

Broker-side truth is the simulator's journal and state; Firestore is read through ``spreadpilot.store``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from google.cloud import firestore

from ibsim.testing import SimulatorProcess
from spreadpilot.clock import SimClock
from spreadpilot.envelopes import AlertMessage, CommandMessage, SignalMessage, decode
from spreadpilot.models import (
    Command,
    CommandKind,
    Follower,
    Gateway,
    IntentKind,
    OrderIntent,
    Signal,
    Spread,
    Strategy,
    make_signal_id,
)
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.store import CONTROLS, HEARTBEATS, Store
from stack.executor_process import ExecutorProcess
from stack.executor_process import wait_for as wait_for  # the tests import it from here
from stack.topology import TopicTap

DAY = date(2026, 3, 17)


def follower(n: int, *, loss_limit: str = "2000") -> Follower:
    return Follower(id=f"f{n:02d}", name=f"Follower {n}", email=f"f{n}@example.com", iban="DE89370400440532013000",
                    commission_pct=Decimal(20), gateway_id="gw-advisor", ibkr_account=f"DU{n:03d}",
                    daily_loss_limit=Decimal(loss_limit))


def make_signal(qty: int = 2, short: int = 485, long_: int = 480) -> Signal:
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(short), long_strike=Decimal(long_))
    return Signal(signal_id=make_signal_id(DAY, "QQQ", spread, qty), date=DAY, ticker="QQQ", spread=spread,
                  qty_per_leg=qty, detected_at=datetime(2026, 3, 17, 13, 31, tzinfo=UTC))


def seed(db: firestore.Client, followers: list[Follower], sim: SimulatorProcess) -> None:
    store = Store(db)
    for f in followers:
        store.followers.put(f)
    store.gateways.put(Gateway(id="gw-advisor", host=sim.host, port=sim.port, client_id=7))


def publish_signal(project: str, sig: Signal) -> str:
    return PubSubPublisher(project).publish("signals", SignalMessage(signal=sig))


def command(command_id: str, kind: CommandKind, scope: str = "all", code: str | None = None,
            reason: str = "test") -> Command:
    return Command(command_id=command_id, kind=kind, scope=scope, issued_by="ops@example.com",
                   issued_at=datetime(2026, 3, 17, 14, 0, tzinfo=UTC), source="test", reason=reason,
                   confirm_code=code)


def publish_command(project: str, cmd: Command) -> str:
    return PubSubPublisher(project).publish("commands", CommandMessage(command=cmd))


@dataclass
class AdminClient:
    """The served admin API, called with the web app's origin and an admin's token."""

    base_url: str
    origin: str
    token: str

    def call(self, method: str, path: str, json: Any = None) -> requests.Response:
        headers = {"Origin": self.origin, "Authorization": f"Bearer {self.token}"}
        return requests.request(method, f"{self.base_url}/api/v1{path}", json=json, headers=headers, timeout=30)


class Executor(ExecutorProcess):
    """``python -m executor`` as a child process, lifecycle on, fresh subscriptions."""

    def __init__(self, signals: str, commands: str, clock: SimClock, log_path: Path,
                 env: Mapping[str, str] | None = None, **settings: object) -> None:
        super().__init__(clock, log_path, env, signals_subscription=signals, commands_subscription=commands,
                         lifecycle_enabled="true", **settings)


def intents(db: firestore.Client, kind: IntentKind | None = None) -> list[OrderIntent]:
    return [i for i in Store(db).orders.all() if kind is None or i.kind is kind]


def entry_filled(db: firestore.Client, follower_id: str) -> Callable[[], bool]:
    return lambda: any(i.follower_id == follower_id and i.filled_qty > 0 and i.state.final
                       for i in intents(db, IntentKind.ENTRY))


def orders(sim: SimulatorProcess, prefix: str) -> list[dict[str, Any]]:
    """New broker orders (first placeOrder of each perm id, what-ifs excluded) whose orderRef starts ``prefix``."""
    seen: set[int] = set()
    found = []
    for e in sim.journal():
        ours = e["event"] == "order" and not e.get("what_if") and str(e.get("order_ref", "")).startswith(prefix)
        if ours and int(e["perm_id"]) not in seen:
            seen.add(int(e["perm_id"]))
            found.append(e)
    return found


def events(sim: SimulatorProcess, kind: str) -> list[dict[str, Any]]:
    return [e for e in sim.journal() if e["event"] == kind]


def held(sim: SimulatorProcess, account: str) -> dict[int, int]:
    """conId → quantity the broker holds in ``account``."""
    return {int(p["con_id"]): int(p["qty"]) for p in sim.state()["accounts"][account]["positions"] if p["qty"]}


def controls(db: firestore.Client, doc_id: str) -> dict[str, Any]:
    snap = db.collection(CONTROLS).document(doc_id).get()
    return snap.to_dict() or {} if snap.exists else {}


def heartbeat(db: firestore.Client) -> dict[str, Any]:
    snap = db.collection(HEARTBEATS).document("executor").get()
    return snap.to_dict() or {} if snap.exists else {}


def alert_types(alerts: TopicTap, wanted: set[str], timeout_s: float = 30.0) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout_s
    while not wanted <= set(seen) and time.monotonic() < deadline:
        seen += [decode(m.data, AlertMessage).alert.type for m in alerts.pull(20, timeout_s=0.5)]
    return seen
