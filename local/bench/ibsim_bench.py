"""Benchmark of the IB Gateway simulator with the real ib_async client.

Measures: connecting with 300 managed accounts on one socket; 300 concurrent client connections to one simulator;
sustained BAG combo orders per minute from several ib_async connections (each throttled by ib_async at 45
messages/s, as against IBKR), the submit→Filled latency, and how busy the simulator's CPU was meanwhile (a busy
fraction well below 1 means the simulator is not the bottleneck).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from typing import Any

from ib_async import IB, ComboLeg, Contract, LimitOrder, Option, Trade

from ibsim.testing import SimulatorProcess, running_simulator

START = "2026-03-17T10:00:00-04:00"
DAY = "20260317"
ACCOUNTS = 300
ORDER_CLIENTS = 4
ORDERS = 1200
CLK_TCK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _row(name: str, value: float, unit: str, note: str) -> dict[str, Any]:
    return {"name": name, "value": round(value, 3), "unit": unit, "note": note}


async def _connect(sim: SimulatorProcess, client_id: int) -> IB:
    ib = IB()
    await ib.connectAsync(sim.host, sim.port, clientId=client_id, timeout=60, raiseSyncErrors=True)
    return ib


async def _bag(ib: IB) -> Contract:
    short = Option("QQQ", DAY, 479, "P", "SMART", tradingClass="QQQ")
    long_ = Option("QQQ", DAY, 474, "P", "SMART", tradingClass="QQQ")
    await ib.qualifyContractsAsync(short, long_)
    return Contract(secType="BAG", symbol="QQQ", exchange="SMART", currency="USD",
                    comboLegs=[ComboLeg(short.conId, 1, "SELL", "SMART"), ComboLeg(long_.conId, 1, "BUY", "SMART")])


async def _connections(sim: SimulatorProcess) -> list[dict[str, Any]]:
    started = time.perf_counter()
    ib = await _connect(sim, 1)
    one = time.perf_counter() - started
    ib.disconnect()
    started = time.perf_counter()
    clients = await asyncio.gather(*(_connect(sim, 100 + i) for i in range(ACCOUNTS)))
    many = time.perf_counter() - started
    rss = _rss_mb(sim.process.pid)
    for c in clients:
        c.disconnect()
    return [
        _row("ibsim.connect_300_accounts_one_socket", one, "s", "connectAsync incl. full sync, 300 managed accounts"),
        _row("ibsim.connect_300_clients_concurrently", many, "s", "300 ib_async connections (distinct client ids)"),
        _row("ibsim.rss_with_300_clients", rss, "MB", "simulator resident memory while 300 clients are connected"),
    ]


async def _orders(sim: SimulatorProcess) -> list[dict[str, Any]]:
    clients = [await _connect(sim, 10 + i) for i in range(ORDER_CLIENTS)]
    bags = [await _bag(ib) for ib in clients]
    latencies: list[float] = []
    done = asyncio.Event()
    remaining = [ORDERS]

    def on_filled(trade: Trade, sent: float) -> None:
        latencies.append(time.perf_counter() - sent)
        remaining[0] -= 1
        if remaining[0] == 0:
            done.set()

    cpu_before = _cpu_seconds(sim.process.pid)
    started = time.perf_counter()
    for n in range(ORDERS):
        ib, bag = clients[n % ORDER_CLIENTS], bags[n % ORDER_CLIENTS]
        account = sim.accounts[n % len(sim.accounts)]
        # A generous credit limit fills at the mid: every order is accepted, filled and reported per leg.
        trade = ib.placeOrder(bag, LimitOrder("BUY", 1, -0.01, account=account, orderRef=f"bench-{n}"))
        sent = time.perf_counter()
        trade.filledEvent += lambda t, sent=sent: on_filled(t, sent)
    await asyncio.wait_for(done.wait(), 600)
    elapsed = time.perf_counter() - started
    busy = (_cpu_seconds(sim.process.pid) - cpu_before) / elapsed
    for ib in clients:
        ib.disconnect()
    per_minute = ORDERS / elapsed * 60
    ordered = sorted(latencies)
    return [
        _row("ibsim.combo_orders_per_minute", per_minute, "orders/min",
             f"{ORDERS} BAG orders over {ORDER_CLIENTS} ib_async connections, each throttled to 45 msg/s"),
        _row("ibsim.cpu_busy_fraction_during_orders", busy, "fraction",
             "simulator CPU seconds per wall second while serving the orders (1.0 = saturated)"),
        _row("ibsim.order_latency_p50", statistics.median(ordered) * 1000, "ms",
             "placeOrder → Filled on the client (includes client-side throttling queue)"),
        _row("ibsim.order_latency_p95", ordered[int(len(ordered) * 0.95)] * 1000, "ms", "same, 95th percentile"),
    ]


async def _first_order_latency(sim: SimulatorProcess) -> list[dict[str, Any]]:
    ib = await _connect(sim, 50)
    bag = await _bag(ib)
    samples = []
    for n in range(20):
        filled = asyncio.Event()
        started = time.perf_counter()
        trade = ib.placeOrder(bag, LimitOrder("BUY", 1, -0.01, account=sim.accounts[0], orderRef=f"lat-{n}"))
        trade.filledEvent += lambda _t, filled=filled: filled.set()
        await asyncio.wait_for(filled.wait(), 30)
        samples.append(time.perf_counter() - started)
    ib.disconnect()
    return [_row("ibsim.unthrottled_order_ack_fill_p50", statistics.median(samples) * 1000, "ms",
                 "one order at a time: placeOrder → Filled round trip on localhost")]


def run() -> list[dict[str, Any]]:
    """Rows: name, value, unit, note."""
    with running_simulator(f"DU%03d:{ACCOUNTS}", start=START, extra_args=["--funds", "10000000"]) as sim:
        rows = asyncio.run(_connections(sim))
        rows += asyncio.run(_first_order_latency(sim))
        rows += asyncio.run(_orders(sim))
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
