"""Benchmark of the executor's lifecycle: a confirmed flatten of N followers, until every account is flat.

Real parts only: ``python -m executor`` (ib_async, lifecycle on) ↔ one advisor ibsim process, Pub/Sub and Firestore
emulators. Each case enters N one-lot bull put spreads first (not timed), then publishes ``flatten_request`` and
``flatten_confirm`` and times from the confirm's publish to the broker holding nothing in any account (ibsim's
state). Each flatten sends one combo order per follower (a marketable limit that fills at once on ibsim), so the
floor is about N / 45 s on one connection (ib_async sends at most 45 messages/s).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from google.cloud import firestore

from ibsim.testing import SimulatorProcess, running_simulator, sim_clock
from spreadpilot.envelopes import CommandMessage, SignalMessage
from spreadpilot.models import (
    Command,
    CommandKind,
    Follower,
    Gateway,
    IntentKind,
    Signal,
    Spread,
    Strategy,
    make_signal_id,
)
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.store import COMMANDS, Store
from stack.executor_process import ExecutorProcess
from stack.local_stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
START = "2026-03-17T09:40:00-04:00"
DAY = date(2026, 3, 17)
SIZES = (10, 300)
RATE = 45


def _row(name: str, value: float, unit: str, note: str) -> dict[str, Any]:
    return {"name": name, "value": round(value, 3), "unit": unit, "note": note}


def _signal() -> Signal:
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
    return Signal(signal_id=make_signal_id(DAY, "QQQ", spread, 1), date=DAY, ticker="QQQ", spread=spread,
                  qty_per_leg=1, detected_at=datetime(2026, 3, 17, 13, 40, tzinfo=UTC))


def _command(command_id: str, kind: CommandKind) -> Command:
    return Command(command_id=command_id, kind=kind, scope="all", issued_by="bench", source="test",
                   issued_at=datetime(2026, 3, 17, 14, 0, tzinfo=UTC), confirm_code="BENCH1")


@contextlib.contextmanager
def _executor(stack: LocalStack, log: Path) -> Iterator[ExecutorProcess]:
    executor = ExecutorProcess(sim_clock(START), log, stack.env, log_level="WARNING",
                               signals_subscription=stack.tap("signals").subscription,
                               commands_subscription=stack.tap("commands").subscription,
                               min_credit="0.10", what_if="false", mtm_s="600")
    try:
        yield executor
    finally:
        executor.stop()


def _wait(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"lifecycle bench: timed out waiting for {what}")
        time.sleep(0.05)


def _holding(sim: SimulatorProcess) -> int:
    return sum(1 for a in sim.state()["accounts"].values() if a["positions"])


def _case(stack: LocalStack, db: firestore.Client, n: int, log: Path) -> dict[str, Any]:
    stack.wipe_firestore()
    with running_simulator(f"DU%04d:{n}", start=START, extra_args=("--underlying", "487")) as sim:
        store = Store(db)
        gateway = Gateway(id="gw-advisor", host=sim.host, port=sim.port, client_id=7)
        store.gateways.put(gateway)
        for i in range(1, n + 1):
            store.followers.put(Follower(id=f"b{i:04d}", name=f"Bench {i}", email=f"b{i}@example.com",
                                         iban="DE89370400440532013000", commission_pct=Decimal(20),
                                         gateway_id=gateway.id, ibkr_account=f"DU{i:04d}"))
        publisher = PubSubPublisher(stack.project)
        with _executor(stack, log):
            publisher.publish("signals", SignalMessage(signal=_signal()))
            _wait(lambda: _holding(sim) == n, 120, f"{n} entries filled")
            publisher.publish("commands", CommandMessage(command=_command("bench-req", CommandKind.FLATTEN_REQUEST)))
            request = db.collection(COMMANDS).document("bench-req")
            # as an operator would, confirm only once the request is pending (Pub/Sub does not keep order)
            _wait(lambda: (request.get().to_dict() or {}).get("status") == "pending_confirmation", 60,
                  "the flatten request to be pending")
            confirm = CommandMessage(command=_command("bench-confirm", CommandKind.FLATTEN_CONFIRM))
            started = time.monotonic()
            publisher.publish("commands", confirm)
            _wait(lambda: _holding(sim) == 0, 120, "every account flat")
            took = time.monotonic() - started
            closes = [i for i in store.orders.all() if i.kind is IntentKind.FLATTEN]
    floor = n / RATE
    return _row(f"lifecycle.flatten_confirm_to_flat.advisor_{n}", took, "s",
                f"{len(closes)} combo closes on one connection; floor ≈ {floor:.2f} s (N/45 msg/s)")


def run() -> list[dict[str, Any]]:
    """Flatten confirm → every account flat, for each size."""
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="lifecycle-bench-") as tmp, ExitStack() as stack_ctx:
        stack = LocalStack.start(ROOT, state_dir=Path(tmp) / "stack", die_with_parent=True)
        stack_ctx.callback(stack.stop)
        os.environ.update(stack.env)
        db = firestore.Client(project=stack.project)
        for n in SIZES:
            rows.append(_case(stack, db, n, Path(tmp) / f"executor-{n}.log"))
    return rows
