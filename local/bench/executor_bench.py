"""Benchmark of the executor: time from a signal published to every follower's order acknowledged.

Real parts only: ``python -m executor`` (ib_async) ↔ ibsim processes, Pub/Sub and Firestore emulators. "Acknowledged"
= the intent in Firestore reached ``working`` (or a final state), i.e. the broker answered and the executor
recorded it. Each result sits beside the physical floor ``ceil(N/45) − 1 s + one ack latency`` (ib_async sends at
most 45 messages/s per connection), as a ratio. The executor runs with its defaults, so every entry also sends a
margin check first (local, from the account summary; a what-if only for a close call); one more row shows N=1000
with the margin check off. The executor's resident memory and CPU seconds at 1000 followers are reported too, and
for 300 followers the fairness of the fills (``spreadpilot.fill_quality``, the figures the web app and the monthly
statement show): how far apart the followers' credits were, against a floor of 0 (everyone the same price).
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from google.cloud import firestore
from ib_async import IB, ComboLeg, Contract, LimitOrder, Option

from ibsim.testing import SimulatorProcess, running_simulator, sim_clock
from spreadpilot.envelopes import SignalMessage
from spreadpilot.fill_quality import FillSummary, fill_quality, summary
from spreadpilot.models import Follower, Gateway, IntentState, OrderIntent, Signal, Spread, Strategy, make_signal_id
from spreadpilot.publisher import PubSubPublisher
from spreadpilot.store import ORDERS, Store
from stack.executor_process import ExecutorProcess
from stack.local_stack import LocalStack

ROOT = Path(__file__).resolve().parents[2]
START = "2026-03-17T09:40:00-04:00"
DAY = date(2026, 3, 17)
ADVISOR_SIZES = (10, 100, 300, 1000)
GATEWAYS = 50
RATE = 45
ACKED = [s.value for s in IntentState if s not in (IntentState.PLANNED, IntentState.SUBMITTED, IntentState.UNKNOWN)]


def _row(name: str, value: float, unit: str, note: str) -> dict[str, Any]:
    return {"name": name, "value": round(value, 3), "unit": unit, "note": note}


def _signal() -> Signal:
    spread = Spread(strategy=Strategy.BULL_PUT, short_strike=Decimal(485), long_strike=Decimal(480))
    return Signal(signal_id=make_signal_id(DAY, "QQQ", spread, 1), date=DAY, ticker="QQQ", spread=spread,
                  qty_per_leg=1, detected_at=datetime(2026, 3, 17, 13, 40, tzinfo=UTC))


def _follower(n: int, gateway_id: str) -> Follower:
    return Follower(id=f"b{n:04d}", name=f"Bench {n}", email=f"b{n}@example.com", iban="DE89370400440532013000",
                    commission_pct=Decimal(20), gateway_id=gateway_id, ibkr_account=f"DU{n:04d}")


def _seed(db: firestore.Client, followers: list[Follower], gateways: list[Gateway]) -> None:
    docs = [(Store(db).followers.ref(f.id), f.to_doc()) for f in followers]
    docs += [(Store(db).gateways.ref(g.id), g.to_doc()) for g in gateways]
    for i in range(0, len(docs), 400):
        batch = db.batch()
        for ref, doc in docs[i:i + 400]:
            batch.set(ref, doc)
        batch.commit()


def _acked(db: firestore.Client) -> int:
    query = db.collection(ORDERS).where(filter=firestore.FieldFilter("state", "in", ACKED))
    counted: Any = query.count()  # the client's stubs type the aggregation loosely
    return int(counted.get()[0][0].value)


@contextlib.contextmanager
def _executor(stack: LocalStack, log: Path, **settings: str) -> Iterator[ExecutorProcess]:
    tap = stack.tap("signals")
    executor = ExecutorProcess(sim_clock(START), log, stack.env, signals_subscription=tap.subscription,
                               log_level="WARNING", heartbeat_s="0.5", lifecycle_enabled="false", **settings)
    try:
        yield executor
    finally:
        executor.stop()
        tap.close()


def _wait(condition: Any, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark condition not reached")
        time.sleep(0.02)


def _usage(pid: int) -> tuple[float, float]:
    """Resident memory (MB) and CPU seconds (user + system) of a process, from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return rss_kb / 1024, (int(fields[11]) + int(fields[12])) / ticks


USAGE: dict[str, tuple[float, float]] = {}  # case → the executor's (RSS MB, CPU s) once every order was acked
QUALITY: dict[str, FillSummary] = {}  # case → its fill-quality summary once every entry ended
QUALITY_CASES = ("advisor_300",)


def _measure(stack: LocalStack, db: firestore.Client, followers: list[Follower], gateways: list[Gateway],
             log: Path, case: str = "", **settings: str) -> float:
    stack.wipe_firestore()
    _seed(db, followers, gateways)
    with _executor(stack, log, **settings) as executor:
        beat = db.collection("heartbeats").document("executor")

        def ready() -> bool:
            snap = beat.get()
            doc = snap.to_dict() or {} if snap.exists else {}
            links = doc.get("gateways") or {}
            return len(links) == len(gateways) and all(g.get("connected") for g in links.values())

        _wait(ready, 120)
        time.sleep(0.5)  # the subscription stream is open shortly after the gateways
        started = time.perf_counter()
        PubSubPublisher(stack.project).publish("signals", SignalMessage(signal=_signal()))
        _wait(lambda: _acked(db) >= len(followers), 300)
        took = time.perf_counter() - started
        if case:
            USAGE[case] = _usage(executor.process.pid)
        if case in QUALITY_CASES:
            QUALITY[case] = _fill_quality(db, len(followers))
        return took


def _fill_quality(db: firestore.Client, n: int) -> FillSummary:
    """The signal's fill-quality summary once all ``n`` entries ended (after the timed part)."""

    def entries() -> list[OrderIntent]:
        return [i for i in Store(db).orders.all() if i.state.final]

    _wait(lambda: len(entries()) >= n, 300)
    return summary(fill_quality(entries()))


def _ack_latency(sim: SimulatorProcess) -> float:
    """Median submit→acknowledged latency of a single combo order on an idle connection."""
    import asyncio
    import logging

    logging.getLogger("ib_async").setLevel(logging.CRITICAL)  # the probe orders' cancels are logged as errors

    async def measure() -> float:
        ib = IB()
        await ib.connectAsync(sim.host, sim.port, clientId=99, timeout=30)
        short = Option("QQQ", f"{DAY:%Y%m%d}", 485, "P", "SMART", tradingClass="QQQ")
        long_ = Option("QQQ", f"{DAY:%Y%m%d}", 480, "P", "SMART", tradingClass="QQQ")
        await ib.qualifyContractsAsync(short, long_)
        bag = Contract(secType="BAG", symbol="QQQ", exchange="SMART", currency="USD",
                       comboLegs=[ComboLeg(short.conId, 1, "SELL", "SMART"), ComboLeg(long_.conId, 1, "BUY", "SMART")])
        samples = []
        for i in range(10):
            started = time.perf_counter()
            trade = ib.placeOrder(bag, LimitOrder("BUY", 1, -50.0, account=sim.accounts[0], orderRef=f"lat-{i}"))
            while trade.orderStatus.status not in ("PreSubmitted", "Submitted", "Filled"):
                await asyncio.wait_for(trade.statusEvent, 10)
            samples.append(time.perf_counter() - started)
            ib.cancelOrder(trade.order)
        ib.disconnect()
        return statistics.median(samples)

    return asyncio.run(measure())


def _floor(n: int, ack: float) -> float:
    return max(0, math.ceil(n / RATE) - 1) + ack


def run() -> list[dict[str, Any]]:
    """Signal → all orders acknowledged, advisor connection and one gateway per follower.

    Every case starts on a broker of its own, as a trading day does: no positions from an earlier case (an account
    holding positions gets a what-if the local margin rule cannot replace) and no earlier executions to ledger.
    """
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="executor-bench-") as tmp, ExitStack() as stack_ctx:
        stack = LocalStack.start(ROOT, state_dir=Path(tmp) / "stack", die_with_parent=True)
        stack_ctx.callback(stack.stop)
        os.environ.update(stack.env)
        db = firestore.Client(project=stack.project)
        log = Path(tmp) / "executor.log"
        with running_simulator(["DU0001"], start=START) as probe:
            ack = _ack_latency(probe)
        rows.append(_row("executor.ack_latency", ack, "s", "median submit→acknowledged of one combo on ibsim"))
        cases: list[tuple[str, int, dict[str, str]]] = [(f"advisor_{n}", n, {}) for n in ADVISOR_SIZES]
        cases.append(("advisor_1000_no_what_if", 1000, {"what_if": "false"}))
        for name, n, settings in cases:
            with running_simulator(f"DU%04d:{n}", start=START) as sim:
                gateway = Gateway(id="gw-advisor", host=sim.host, port=sim.port, client_id=7)
                followers = [_follower(i, gateway.id) for i in range(1, n + 1)]
                took = _measure(stack, db, followers, [gateway], log, name, **settings)
            floor = _floor(n, ack)
            note = (f"{n} followers on one advisor connection; floor {floor:.2f} s; ratio {took / floor:.2f}"
                    + ("; margin check off" if settings else "; local margin check + one order per follower"))
            rows.append(_row(f"executor.signal_to_all_acked.{name}", took, "s", note))
        rss, cpu = USAGE["advisor_1000"]
        rows.append(_row("executor.rss_mb.advisor_1000", rss, "MB",
                         f"executor resident memory with 1000 followers' orders working; target ≤ 150 MB "
                         f"(ratio {rss / 150:.2f})"))
        rows.append(_row("executor.cpu_s.advisor_1000", cpu, "s",
                         "executor CPU seconds (user + system) from start to 1000 orders acknowledged"))
        for case, quality in QUALITY.items():
            rows.append(_row(f"executor.fill_credit_spread.{case}", float(quality.credit_spread or 0), "$",
                             f"best − worst credit per spread across {quality.filled} filled followers (floor 0: the "
                             f"same price for all); the average follower {quality.avg_vs_best} from the best, filled "
                             f"{quality.avg_to_fill_s} s (simulated) after the signal"))
        rows.extend(_gateways_case(stack, db, log))
    return rows


def _gateways_case(stack: LocalStack, db: firestore.Client, log: Path) -> list[dict[str, Any]]:
    """50 followers on a gateway each, beside one follower on one gateway (the floor of a per-follower gateway)."""
    times = {}
    for n in (1, GATEWAYS):
        with ExitStack() as sims:
            gateways, followers = [], []
            for i in range(1, n + 1):
                sim = sims.enter_context(running_simulator([f"DU{i:04d}"], start=START))
                gateways.append(Gateway(id=f"gw-{i:02d}", host=sim.host, port=sim.port, client_id=7))
                followers.append(_follower(i, f"gw-{i:02d}"))
            times[n] = _measure(stack, db, followers, gateways, log)
    one, many = times[1], times[GATEWAYS]
    return [_row("executor.signal_to_all_acked.gateways_1", one, "s", "one follower on one gateway"),
            _row(f"executor.signal_to_all_acked.gateways_{GATEWAYS}", many, "s",
                 f"{GATEWAYS} one-per-follower gateways; ratio {many / one:.2f} to one follower on one gateway "
                 "(target ≤ 1.5)")]
