"""One simulated run per seed: the world, the executor over the stand-ins, the faults, a quiet period, the checks.

Timeline (virtual seconds from 09:29:50 ET): the first executor process boots at 0; the signal is published at a
seeded time in the first 30 s (the entry window opens at 10 s); timed faults strike around it and count-based
ones on the k-th call of their operation. When the timed faults are over and nothing is going on (or at the
latest at ``WINDOW_MAX_S``), the faults clear: gateways come back, no call fails any more. The quiet period then
runs for at least ``SETTLE_MIN_S`` (an executor that re-reads broker truth once a minute gets to do it) and until
everything has settled, or until nothing has moved for ``STUCK_S`` (a stuck run), or ``QUIET_MAX_S``. Gateway
readiness is sampled ``READY_WITHIN_S`` after clearing (or at the end, if the run settled sooner). Then the
invariants.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from executor.broker import ComboLegSpec
from faultsim.board import FaultBoard, Fired
from faultsim.broker import con_id_of
from faultsim.evidence import Evidence, ExecutionFacts, FollowerFacts, LinkFacts, Strike
from faultsim.faults import Fault, Plan, plan_faults
from faultsim.firestore import MemoryFirestore
from faultsim.gateway import GatewayEvents, SimGateway
from faultsim.invariants import Violation, check_all, foreign_recorded
from faultsim.processes import Executors, RecordingPublisher, lifecycle_settings, settings
from faultsim.pubsub import SignalBus, command_bus
from faultsim.runtime import Runtime
from faultsim.vloop import Trace, VirtualClock, VirtualLoop
from faultsim.world import DAY, START, World, build_world, plant_malformed, seed_store
from spreadpilot.clock import NEW_YORK
from spreadpilot.confirmations import PENDING_CONFIRMATIONS, PendingConfirmation
from spreadpilot.envelopes import CommandMessage, SignalMessage, encode
from spreadpilot.models import Command, CommandKind, IntentState, Signal, make_intent_id

WINDOW_MAX_S = 240.0
READY_WITHIN_S = 30.0
QUIET_MAX_S = 300.0
POLL_S = 1.0
SETTLE_MIN_S = 60.0  # the quiet period lasts at least this long: room for a periodic re-read of broker truth
STUCK_S = 40.0  # no progress for this long (virtual) = stuck: longer than adoption passes and a lease's life
UNSETTLED = frozenset({IntentState.PLANNED.value, IntentState.SUBMITTED.value, IntentState.WORKING.value})


@dataclass
class RunResult:
    """The verdict on one seed."""

    seed: int
    plan: Plan
    fired: list[Fired]
    applicable: set[str]
    violations: list[Violation]
    digest: str
    virtual_s: float
    wall_s: float
    notes: list[str] = field(default_factory=list)
    foreign: tuple[int, int] = (0, 0)  # foreign leg executions recorded in fills, of all
    harness_error: str = ""
    trace: str = ""
    journal: list[dict[str, object]] = field(default_factory=list)  # every gateway's, when the trace is kept

    @property
    def failed(self) -> bool:
        """True if an invariant broke or the harness itself failed."""
        return bool(self.violations or self.harness_error)


def run_seed(seed: int, *, kinds: list[str] | None = None, keep_trace: bool = False) -> RunResult:
    """Run ``seed`` (optionally with exactly one fault of each of ``kinds``) on a fresh virtual loop."""
    started = time.perf_counter()
    loop = VirtualLoop(seed)
    run = DayRun(seed, loop, kinds)
    try:
        result = loop.run_until_complete(run.main(keep_trace))
    except Exception:  # a harness failure is reported as such, never as an executor verdict
        result = RunResult(seed, run.plan, list(run.rt.board.fired), set(), [], "", loop.time(), 0.0,
                           harness_error=traceback.format_exc(limit=8))
    finally:
        _close(loop)
    result.wall_s = time.perf_counter() - started
    return result


def _close(loop: VirtualLoop) -> None:
    """Cancel what is left of the world and let the cancellations run, so no coroutine is left half-done."""
    for _ in range(5):
        tasks = [t for t in loop.tasks if not t.done()]
        loop.tasks = []
        if not tasks:
            break
        for task in tasks:
            task.cancel()
        # closing an abandoned world: whatever its tasks raise now is moot
        with contextlib.suppress(BaseException):
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.close()


class DayRun:
    """The day of one seed."""

    def __init__(self, seed: int, loop: VirtualLoop, kinds: list[str] | None) -> None:
        self.seed = seed
        self.loop = loop
        self.world: World = build_world(seed)
        self.plan = plan_faults(seed, self.world.shape(), kinds)
        clock = VirtualClock(loop, START)
        trace = Trace(loop)
        board = FaultBoard(self.plan, loop, trace)
        db = MemoryFirestore(clock.now, faults=board.firestore, seed=seed, on_latency=self._slow)
        self.rng = random.Random(f"{seed}:run")
        gateways = {g.id: SimGateway(g.id, self.world.accounts_on[g.id], self.world.markets[g.id], GatewayEvents(
            clock.now, loop.call_later, random.Random(f"{seed}:{g.id}"), trace.add, board.on_exec,
            board.lose_commission), perm_base=(i + 1) * 1_000_000 + seed % 1000 * 1000)
            for i, g in enumerate(self.world.gateways)}
        for gid, gw in gateways.items():
            for account in self.world.accounts_on[gid]:
                for held in self.world.holdings.get(account, []):
                    gw.extra_positions[(held.account, held.con_id)] = held
        self.rt = Runtime(loop, clock, trace, db, gateways, SignalBus(loop, trace), board,
                          RecordingPublisher(loop.time), command_bus(loop, trace))
        self.executors = Executors(self.rt)
        board.kill = lambda pid: self.executors.crash(pid, self._restart_after(pid))
        loop.hold = board.held_for
        self.published: list[Signal] = []
        self.events: list[dict[str, object]] = []  # the day's lifecycle events (an exit due, an operator's commands)
        self.cleared_at: float | None = None
        self.links: list[LinkFacts] | None = None

    def _slow(self, seconds: float) -> None:
        self.loop.extra_latency += seconds

    def _restart_after(self, pid: str) -> float:
        crash = next((f for f in self.plan.faults if f.kind == "process.crash"), None)
        return float(crash.param("restart_after", 2.0)) if crash else 2.0

    # ── the day ─────────────────────────────────────────────────────────────────────────────────────────────────
    async def main(self, keep_trace: bool) -> RunResult:
        seed_store(self.world, self.rt.db)
        plant_malformed(self.world, self.plan, self.rt.db)
        self.rt.board.armed = True
        for fault in self.plan.faults:
            if fault.kind.startswith("doc."):
                self.rt.board.strike(fault, "planted")
        self.executors.boot("p")
        timed_end = self._schedule()
        await self._until_settled(timed_end)
        evidence = self._evidence()
        applicable, violations = check_all(evidence)

        text = self.rt.trace.text() + "\n" + "\n".join(self.rt.db.writes)
        return RunResult(self.seed, self.plan, list(self.rt.board.fired), applicable, violations,
                         hashlib.sha256(text.encode()).hexdigest()[:16], self.loop.time(), 0.0,
                         notes=evidence.notes, foreign=foreign_recorded(evidence), trace=text if keep_trace else "",
                         journal=evidence.journal if keep_trace else [])

    def _schedule(self) -> float:
        """Publish the signal(s) and start the timed faults; the virtual time by which they are all over."""
        w = self.world
        first_at = w.signal_at
        ends = [first_at]
        second_at: float | None = None
        for fault in self.plan.faults:
            if fault.kind == "signal.second_same_day" and fault.at is not None:
                second_at = fault.at
        reorder = next((f for f in self.plan.faults if f.kind == "message.reorder"), None)
        if reorder is not None:
            self.loop.call_at(first_at, self._publish_junk, reorder)
            first_at += random.Random(int(reorder.param("shuffle", 0))).uniform(0.01, 2.0)
            if second_at is not None:
                second_at = max(0.1, w.signal_at - 0.5)  # the day's second signal overtakes the first
        self.loop.call_at(first_at, self._publish, w.signal, "sig-1")
        ends += self._lifecycle_events(first_at)
        if second_at is not None:
            self.loop.call_at(second_at, self._publish, w.second_signal, "sig-2")
            ends.append(second_at)
        for fault in self.plan.faults:
            if fault.kind == "message.duplicate":
                for _ in range(int(fault.param("copies", 1))):
                    at = first_at + self.rng.uniform(0.0, float(fault.param("within_s", 1.0)))
                    self.loop.call_at(at, self._redeliver, fault, "sig-1")
                    ends.append(at)
            elif fault.kind == "message.late":
                at = first_at + float(fault.param("after_s", 60.0))
                self.loop.call_at(at, self._redeliver, fault, "sig-1")
                ends.append(at)
            elif fault.at is not None and fault.kind != "signal.second_same_day":
                self.loop.call_at(fault.at, self._strike, fault)
                ends.append(fault.at + float(fault.param("down_s", fault.param("lost_s", fault.param("seconds", 0.0)))))
        return max(ends) + 1.0

    def _lifecycle_events(self, signal_at: float) -> list[float]:
        """The day after the entry, seeded apart from the faults: the short legs lose their time value (every
        spread is due an exit), and an operator's two-step flatten of all (its confirm sometimes delivered twice).
        The times they happen at."""
        rng = random.Random(f"{self.seed}:lifecycle")
        at: list[float] = []
        if rng.random() < 0.3:
            at.append(signal_at + rng.uniform(20.0, 120.0))
            # half the exits come with the short leg deep in the money: a loss that trips low daily-loss limits
            into = Decimal("3.00") if random.Random(f"{self.seed}:loss").random() < 0.5 else Decimal("0.50")
            self.loop.call_at(at[-1], self._exit_due, into)
        if rng.random() < 0.3:
            request_at = signal_at + rng.uniform(15.0, 150.0)
            confirm_at = request_at + rng.uniform(1.0, 8.0)
            self.loop.call_at(request_at, self._command, "flatten-request", CommandKind.FLATTEN_REQUEST)
            self.loop.call_at(confirm_at, self._command, "flatten-confirm", CommandKind.FLATTEN_CONFIRM)
            at += [request_at, confirm_at]
            if rng.random() < 0.3:
                at.append(confirm_at + rng.uniform(0.0, 5.0))
                self.loop.call_at(at[-1], self._command_again, "flatten-confirm")
        return at

    def _exit_due(self, depth: Decimal) -> None:
        spread = self.world.signal.spread
        into = depth if spread.right.value == "P" else -depth
        for gw in self.rt.gateways.values():
            gw.market.underlying = spread.short_strike - into  # the short leg 50 cents in the money
            gw.market.time_value = Decimal("0.04")
        self.events.append({"kind": "exit", "t": self.loop.time(), "underlying": str(spread.short_strike - into),
                            "near": str(lifecycle_settings().near_money)})
        self.rt.trace.add("run", f"the short legs lose their time value (QQQ at {spread.short_strike - into}, "
                                 f"{depth} in the money)")

    def _command(self, command_id: str, kind: CommandKind) -> None:
        now = self.rt.clock.now()
        command = Command(command_id=command_id, kind=kind, scope="all", issued_by="operator@sim", source="test",
                          issued_at=now, confirm_code="FLAT01", reason="the simulated operator")
        if kind is CommandKind.FLATTEN_REQUEST:  # the web app and the bot issue the code before they publish
            valid_s = lifecycle_settings().flatten_confirm_ttl_s
            pending = PendingConfirmation(code="FLAT01", scope="all", requested_by="operator@sim", source="test",
                                          requested_at=now, command_id=command_id,
                                          expires_at=now + timedelta(seconds=valid_s))
            self.rt.db.plant(PENDING_CONFIRMATIONS, "FLAT01", pending.to_doc())
        self.events.append({"kind": str(kind), "t": self.loop.time(), "command_id": command_id})
        self.rt.commands.publish(command_id, encode(CommandMessage(command=command))[0], 0.0)

    def _command_again(self, command_id: str) -> None:
        self.rt.trace.add("run", f"{command_id} delivered again")
        self.rt.commands.redeliver(command_id, 0.0, "duplicate")

    def _publish(self, signal: Signal, message_id: str) -> None:
        if message_id == "sig-2":
            fault = next(f for f in self.plan.faults if f.kind == "signal.second_same_day")
            self.rt.board.strike(fault, signal.signal_id)
        self.published.append(signal)
        self.rt.bus.publish(message_id, encode(SignalMessage(signal=signal))[0], 0.0)

    def _publish_junk(self, fault: Fault) -> None:
        self.rt.board.strike(fault, "a malformed message first")
        self.rt.bus.publish("junk-1", b'{"schema": "signal.v1", "signal": {"ticker": "QQQ"}}', 0.0)

    def _redeliver(self, fault: Fault, message_id: str) -> None:
        if message_id in self.rt.bus.messages:
            self.rt.board.strike(fault, message_id)
            self.rt.bus.redeliver(message_id, 0.0, fault.kind)

    def _strike(self, fault: Fault) -> None:
        if not self.rt.board.active():
            return
        gw = self.rt.gateways.get(str(fault.param("gateway", "")))
        kind = fault.kind
        if kind in ("broker.drop", "broker.restart", "broker.id_rollback") and gw is not None:
            gw.drop(float(fault.param("down_s", 1.0)), int(fault.param("rollback", 0)), why=kind)
        elif kind == "broker.code_1100" and gw is not None:
            gw.lose_link(float(fault.param("lost_s", 5.0)), int(fault.param("restore", 1102)))
        elif kind == "broker.foreign_order" and gw is not None:
            self._foreign(fault, gw)
        elif kind == "process.crash":
            proc = self.executors.primary()
            if proc is None:
                return
            self.executors.crash(proc.pid, float(fault.param("restart_after", 2.0)))
        elif kind == "process.second_executor":
            self.executors.boot("b", 0 if fault.param("client_ids") == "same" else 100)
        elif kind == "process.store_partition":
            proc = self.executors.primary()
            if proc is None:
                return
            seconds = float(fault.param("seconds", 40.0))
            self.rt.board.partitions[proc.pid] = (self.loop.time() + seconds, str(fault.param("mode", "fail")))
            if not any(p.lineage == "b" for p in self.executors.alive()):
                self.executors.boot("b", 0)  # someone to take the gateways over (same gateway docs: same client ids)
        else:
            return
        self.rt.board.strike(fault)

    def _foreign(self, fault: Fault, gw: SimGateway) -> None:
        w = self.world
        spread = w.signal.spread
        shift = Decimal(0) if fault.param("strikes") == "signal" else Decimal(-10 if spread.right.value == "P" else 10)
        legs = (ComboLegSpec(con_id_of(spread.short_strike + shift, spread.right), "SELL", spread.right,
                             spread.short_strike + shift, DAY),
                ComboLegSpec(con_id_of(spread.long_strike + shift, spread.right), "BUY", spread.right,
                             spread.long_strike + shift, DAY))
        account = str(fault.param("account"))
        owner = next((f.id for f in w.followers if f.ibkr_account == account), w.followers[0].id)
        refs = {"slash": "ops/hedge-1", "two_slashes": "ops/hedge/1", "empty": "", "long": "x" * 1600,
                "intent_prefix": make_intent_id(w.signal.signal_id, owner)[:-1], "dunder": "__hedge__",
                "dotdot": "..", "plain": "manual-hedge-1"}
        gw.foreign_order(account, refs[str(fault.param("ref"))], 0 if fault.param("client") == "manual" else 7, legs,
                         1, Decimal("-0.50"), bool(fault.param("fill")))

    def _clear(self) -> None:
        self.rt.board.cleared = True
        self.rt.board.partitions.clear()
        self.cleared_at = self.loop.time()
        self.rt.trace.add("run", "faults cleared")
        for gw in self.rt.gateways.values():
            gw.come_up()
            gw.restore_link(1102)
        self.loop.call_later(READY_WITHIN_S, self._sample_links)

    def _busy(self) -> bool:
        """Something is still to happen: a message, a restart, an entry, or a gateway ready in no process."""
        if not self.rt.bus.idle() or not self.rt.commands.idle() or self.executors.pending_restarts:
            return True
        ready: set[str] = set()
        for proc in self.executors.alive():
            engine = proc.engine
            if engine is None or not proc.ready:
                return True
            if engine.handler.tasks or getattr(engine, "_fill_tasks", None):
                return True
            if proc.lifecycle is not None and proc.lifecycle.parts.tasks():
                return True  # a close, a close followed up, an operator action
            ready |= {gid for gid, link in engine.links.items()
                      if link.ready.is_set() and getattr(link, "owned", True)}
        if self.executors.alive() and ready != set(self.rt.gateways):
            return True
        # an intent recorded but not settled is work an executor should pick up (adoption runs every few seconds)
        return any(doc.get("state") in UNSETTLED for doc in self.rt.db.peek("orders"))

    def _activity(self) -> int:
        """Progress: intent and fill writes, order events at the brokers, message deliveries (not lease renewals,
        not reconnect attempts)."""
        return self.rt.db.progress + sum(len(gw.journal) for gw in self.rt.gateways.values()) + \
            sum(m.attempts for bus in (self.rt.bus, self.rt.commands) for m in bus.messages.values())

    async def _until_settled(self, timed_end: float) -> None:
        last_activity, quiet_since = -1, 0.0
        while True:
            await asyncio.sleep(POLL_S)
            now = self.loop.time()
            activity = self._activity()
            if activity != last_activity:
                last_activity, quiet_since = activity, now
            quiet = now - quiet_since
            busy = self._busy()
            if self.cleared_at is None:
                # the window closes once the timed faults are over and the run is idle, or makes no progress
                if now >= WINDOW_MAX_S or (now >= timed_end and (not busy or quiet >= STUCK_S)):
                    self._clear()
                continue
            since = now - self.cleared_at
            if (since >= SETTLE_MIN_S and not busy and quiet >= 2.0) or since >= QUIET_MAX_S:
                break
            if not self.executors.alive() and not self.executors.pending_restarts and since >= READY_WITHIN_S:
                break  # no executor will ever run again (it could not start)
            if since >= READY_WITHIN_S and quiet >= STUCK_S and self.rt.bus.idle():
                break  # nothing moves any more: stuck, and the invariants will say where
        if self.links is None:
            self._sample_links()

    def _sample_links(self) -> None:
        if self.links is not None:
            return
        since = self.loop.time() - (self.cleared_at or 0.0)
        facts = []
        for proc in self.executors.alive():
            if proc.engine is None:
                continue
            tasks = {t.get_name(): t for t in proc.engine._tasks}  # each gateway's session is "gateway:{id}"
            for gid, link in sorted(proc.engine.links.items()):
                task = tasks.get(f"gateway:{gid}")
                error = ""
                if task is not None and task.done() and not task.cancelled() and task.exception() is not None:
                    error = f"its link task died: {task.exception()!r}"[:200]
                facts.append(LinkFacts(proc.pid, gid, link.ready.is_set(), link.broker.is_connected(), since, error,
                                       owned=bool(getattr(link, "owned", True))))
        self.links = facts

    # ── evidence ────────────────────────────────────────────────────────────────────────────────────────────────
    def _evidence(self) -> Evidence:
        w, rt = self.world, self.rt
        ev = Evidence(day=f"{DAY:%Y%m%d}", malformed=dict(w.malformed), signals=[s.signal_id for s in self.published])
        for f in w.followers:
            ev.followers[f.id] = FollowerFacts(f.id, f.ibkr_account, f.gateway_id,
                                               trades=f.enabled and f.state.value == "active")
        follower_ids = [f.id for f in w.followers] + [p.split("/", 1)[1] for p in w.malformed
                                                      if p.startswith("followers/")]
        ev.entry_refs = {make_intent_id(s, fid) for s in ev.signals for fid in follower_ids}
        ev.intents = rt.db.raw("orders")
        ev.created = {doc_id: (at - START).total_seconds() for doc_id, at in rt.db.created("orders").items()}
        ev.struck = [Strike(f.kind, f.t, f.paths, f.until) for f in rt.board.fired]
        ev.entry_opens = (datetime.combine(DAY, settings().entry_start, NEW_YORK) - START).total_seconds()
        # keyed by the execution each document records (its id is the execution's key across corrections)
        ev.fills = {str(doc.get("exec_id", doc_id)): doc for doc_id, doc in rt.db.raw("fills").items()}
        for gid, gw in rt.gateways.items():
            ev.journal.extend(gw.journal)
            for e in gw.executions:
                ev.executions.append(ExecutionFacts(e.exec_id, e.order_ref, e.account, gid, e.sec_type, e.con_id,
                                                    e.qty, e.price, e.commission, gw.orders[e.perm_id].foreign))
            ev.live_orders.extend({"order_ref": o.order_ref, "perm_id": o.perm_id, "account": o.account,
                                   "status": o.status, "gateway": gid} for o in gw.orders.values() if o.live)
        ev.sent = list(rt.sent)
        ev.alerts = list(rt.publisher.alerts)
        for proc in self.executors.alive():
            if proc.engine is not None:
                ev.books[proc.pid] = {ref: t.intent for ref, t in proc.engine.book.tracked.items()}
        ev.links = list(self.links or [])
        ev.dead_lettered = [m for m in rt.bus.dead_lettered() if m.startswith("sig")]
        for account, held in w.holdings.items():
            ev.held_before[account] = {p.con_id: p.qty for p in held}
        ev.events = list(self.events)
        ev.actions = rt.db.raw("operator_actions")
        ev.controls = rt.db.raw("controls")
        for f in w.followers:
            ev.limits[f.id] = f.daily_loss_limit
            realized, unrealized = rt.gateways[f.gateway_id].daily_pnl(f.ibkr_account)
            ev.daily_pnl[f.id] = realized + unrealized
        ev.start = START
        ev.notes = list(rt.notes) + sorted(set(self.loop.errors))[:5]
        return ev
