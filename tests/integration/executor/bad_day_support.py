"""What the bad-day tests read back and how they say what went wrong: per follower, the broker's orders (journal),
the intent in Firestore, the heartbeat's gateway view, the alerts published and what the executor logged.

The tests wait with ``settle`` (it returns instead of raising) so that a timeout still reaches the assertion that
names every follower and intent that is off, rather than a bare "timed out".
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from executor_harness import Executor, broker_orders, intents, ref
from google.cloud import firestore
from ib_async import IB, ComboLeg, Contract, LimitOrder, Option

from ibsim.testing import SimulatorProcess
from spreadpilot.envelopes import AlertMessage, decode
from spreadpilot.models import Alert, Follower, IntentState, Severity, Signal
from stack.topology import TopicTap

FOREIGN_CLIENT_ID = 31  # a second API client on the advisor gateway, as a desk's own tool would connect


def settle(condition: Callable[[], bool], timeout_s: float) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout_s`` passed (False)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True


def all_decided(db: firestore.Client, sig: Signal, followers: Iterable[Follower]) -> Callable[[], bool]:
    """Every follower's intent exists and is final or ``unknown`` (nothing is still on its way)."""
    expected = {f.id for f in followers}

    def check() -> bool:
        found = intents(db, sig)
        return expected <= set(found) and all(
            found[fid].state.final or found[fid].state is IntentState.UNKNOWN for fid in expected)

    return check


def orders_per_follower(sim: SimulatorProcess, sig: Signal, followers: Iterable[Follower]) -> dict[str, int]:
    """Distinct broker orders (perm ids, what-ifs excluded) per follower for ``sig``, from the journal."""
    orders = broker_orders(sim)
    return {f.id: len(orders.get(ref(sig, f.id), set())) for f in followers}


def heartbeat(db: firestore.Client) -> dict[str, Any]:
    """``heartbeats/executor`` as the executor last wrote it ({} if it never did)."""
    snap = db.collection("heartbeats").document("executor").get()
    return dict(snap.to_dict() or {}) if snap.exists else {}


def gateway_view(db: firestore.Client, gateway_id: str = "gw-advisor") -> dict[str, Any]:
    """The heartbeat's view of one gateway: ``connected``, ``since``, ``accounts``, plus the beat's ``at``."""
    beat = heartbeat(db)
    view = dict((beat.get("gateways") or {}).get(gateway_id) or {})
    if "accounts" in view:
        view["accounts"] = len(view["accounts"])  # a count: 50 account ids would drown the failure message
    return {"heartbeat_at": beat.get("at"), **view}


@dataclass
class AlertLog:
    """Every alert pulled from a tap of the ``alerts`` topic so far."""

    tap: TopicTap
    alerts: list[Alert] = field(default_factory=list)

    def drain(self, timeout_s: float = 2.0) -> list[Alert]:
        """Pull until the tap is empty for a moment (at most ``timeout_s``); every alert so far."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            pulled = self.tap.pull(50, timeout_s=0.5)
            if not pulled:
                break
            self.alerts += [decode(m.data, AlertMessage).alert for m in pulled]
        return self.alerts

    def wait_for(self, predicate: Callable[[Alert], bool], timeout_s: float) -> Alert | None:
        """The first alert (pulled so far or within ``timeout_s``) that ``predicate`` accepts."""
        deadline = time.monotonic() + timeout_s
        while True:
            hit = next((a for a in self.alerts if predicate(a)), None)
            if hit is not None or time.monotonic() > deadline:
                return hit
            self.drain(1.0)

    def critical_subjects(self) -> set[str]:
        """The follower ids and orderRefs that CRITICAL alerts name."""
        return {s for a in self.alerts if a.severity is Severity.CRITICAL for s in (a.follower_id, a.order_ref) if s}

    def summary(self) -> str:
        """One line per alert type: count, severities, subjects."""
        by_type: dict[str, list[Alert]] = {}
        for a in self.alerts:
            by_type.setdefault(a.type, []).append(a)
        lines = [f"    {t} x{len(items)} [{','.join(sorted({str(a.severity) for a in items}))}] "
                 f"subjects={sorted({a.follower_id or a.order_ref or '-' for a in items})[:8]} "
                 f"e.g. {items[0].message[:140]!r}" for t, items in sorted(by_type.items())]
        return "\n".join(lines) or "    (none)"


def names(alert: Alert, needle: str) -> bool:
    """Whether ``alert`` names ``needle`` in its subject, message or context."""
    return needle in (alert.follower_id or "") or needle in alert.message or any(
        needle in str(v) for v in alert.context.values())


def log_digest(executor: Executor, limit: int = 12) -> str:
    """What the executor logged that matters here: exit code, 'gateway ready' count, errors and warnings by count."""
    text = executor.log()
    ready = failures = 0
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            counts[f"(raw) {line[:160]}"] += 1
            continue
        message = str(entry.get("message", ""))
        ready += message == "gateway ready"
        if entry.get("severity") in ("ERROR", "CRITICAL") or message in ("alert",):
            failures += 1
            detail = entry.get("alert_type") or _exception_text(str(entry.get("stack_trace", "")))
            counts[f"{entry.get('severity')} {message}: {str(detail)[:160]}"] += 1
    code = executor.process.poll()
    lines = [f"    process: {'running' if code is None else f'exited with {code}'}; 'gateway ready' logged {ready}x"]
    lines += [f"    {n}x {what}" for what, n in counts.most_common(limit)]
    return "\n".join(lines)


def _exception_text(trace: str) -> str:
    """The exception's own lines at the end of a traceback (its type line and what follows, not the frames)."""
    lines = trace.strip().splitlines()
    heads = [i for i, line in enumerate(lines) if line and not line[0].isspace() and not line.startswith("Traceback")]
    own = [line.strip() for line in lines[heads[-1]:heads[-1] + 3]] if heads else []
    return " | ".join(line for line in own if not line.startswith("For further information"))


def follower_table(db: firestore.Client, sim: SimulatorProcess, sig: Signal,
                   followers: Iterable[Follower]) -> tuple[dict[str, int], dict[str, str], str]:
    """Orders per follower, intent state per follower, and both as text (only the followers that are off)."""
    followers = list(followers)
    orders = orders_per_follower(sim, sig, followers)
    found = intents(db, sig)
    states = {f.id: str(found[f.id].state) if f.id in found else "(no intent)" for f in followers}
    by_count: dict[int, list[str]] = {}
    for fid, n in orders.items():
        by_count.setdefault(n, []).append(fid)
    by_state: dict[str, list[str]] = {}
    for fid, state in states.items():
        by_state.setdefault(state, []).append(fid)
    counted = ", ".join(f"{n}: {sorted(ids)}" for n, ids in sorted(by_count.items()))
    stated = ", ".join(f"{s}: {sorted(ids)}" for s, ids in sorted(by_state.items()))
    lines = [f"    broker orders per follower: {counted}", f"    intent states: {stated}"]
    stuck: dict[str, list[str]] = {}
    for f in followers:
        intent = found.get(f.id)
        if intent is not None and not intent.state.final:
            last = intent.history[-1] if intent.history else None
            since = f" since {last.at.isoformat(timespec='seconds')} ({last.note or 'no note'})" if last else ""
            how = f"{intent.state}{since}"
            stuck.setdefault(how, []).append(f.id)
    lines += [f"      not final: {how}: {ids}" for how, ids in stuck.items()]
    return orders, states, "\n".join(lines)


async def _place_foreign_fill(host: str, port: int, account: str, order_ref: str) -> None:
    ib = IB()
    await ib.connectAsync(host, port, clientId=FOREIGN_CLIENT_ID, timeout=10)
    try:
        short, long_ = (Option("QQQ", "20260317", k, "P", "SMART", tradingClass="QQQ") for k in (470, 465))
        await ib.qualifyContractsAsync(short, long_)
        bag = Contract(secType="BAG", symbol="QQQ", exchange="SMART", currency="USD",
                       comboLegs=[ComboLeg(short.conId, 1, "SELL", "SMART"), ComboLeg(long_.conId, 1, "BUY", "SMART")])
        # a limit of 0 (no credit asked) is marketable: it fills at once at the mid
        trade = ib.placeOrder(bag, LimitOrder("BUY", 1, 0.0, account=account, orderRef=order_ref, tif="DAY"))
        async with asyncio.timeout(10):
            # both legs' fills and the final status arrive as separate messages: poll the trade they update
            while not (trade.isDone() and len(trade.fills) >= 2):  # noqa: ASYNC110 - no single event for both
                await asyncio.sleep(0.05)
    finally:
        ib.disconnect()


def plant_foreign_fill(sim: SimulatorProcess, account: str, order_ref: str) -> None:
    """Someone else's order, filled, in a managed account: a second plain ib_async client on the same gateway."""
    asyncio.run(_place_foreign_fill(sim.host, sim.port, account, order_ref))
    fills = [e for e in sim.journal() if e["event"] == "fill" and e.get("order_ref") == order_ref]
    assert fills, f"the foreign order {order_ref!r} did not fill at the simulator"
