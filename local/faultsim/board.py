"""The fault plan at run time: counts every call the stand-ins serve and tells them what to do to each.

The stand-ins ask before each RPC or broker call (``firestore``, ``broker``, ``on_exec``, ``lose_commission``);
timed faults are started by the run itself (``run.py``). Nothing is injected before the world is seeded
(``armed``) or after the fault window closes (``cleared``). Every fault that struck is in ``fired``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from google.api_core import exceptions as gexc

from faultsim.broker import BrokerInjection
from faultsim.faults import Fault, Plan
from faultsim.firestore import Injection
from faultsim.vloop import PROCESS, Trace, VirtualLoop

ERRORS: dict[str, type[gexc.GoogleAPICallError]] = {
    "ServiceUnavailable": gexc.ServiceUnavailable, "DeadlineExceeded": gexc.DeadlineExceeded}
HANGS = frozenset({"broker.quote_slow", "broker.whatif_slow", "broker.truth_slow", "broker.qualify_slow"})


@dataclass
class Fired:
    """One fault that struck."""

    kind: str
    t: float
    detail: str
    paths: tuple[str, ...] = ()  # the documents a Firestore fault struck (none for a query or a broker fault)
    until: float | None = None  # when its effect ended (a slow call: ``seconds`` later); None: when it struck


@dataclass
class FaultBoard:
    """The run's faults and their trigger counters."""

    plan: Plan
    loop: VirtualLoop
    trace: Trace
    kill: Callable[[str], None] = lambda pid: None
    armed: bool = False
    cleared: bool = False
    calls: Counter[str] = field(default_factory=Counter)
    fired: list[Fired] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.partitions: dict[str, tuple[float, str]] = {}  # pid → (until, "fail" | "hang")
        self._on: dict[str, list[Fault]] = {}
        for fault in self.plan.faults:
            if fault.on is not None:
                self._on.setdefault(fault.on, []).append(fault)

    def active(self) -> bool:
        """True while faults may strike."""
        return self.armed and not self.cleared

    def strike(self, fault: Fault, detail: str = "", paths: tuple[str, ...] = ()) -> None:
        """Record that ``fault`` struck now (on ``paths``, for a Firestore RPC)."""
        now = self.loop.time()
        slow_s = fault.param("seconds") if fault.kind == "firestore.slow" else None
        self.fired.append(Fired(fault.kind, now, detail, paths, None if slow_s is None else now + float(slow_s)))
        self.trace.add("fault", f"{fault.describe()} {detail}".rstrip())

    def _hits(self, key: str) -> list[Fault]:
        if not self.active():
            return []
        self.calls[key] += 1
        n = self.calls[key]
        return [f for f in self._on.get(key, ()) if f.k <= n < f.k + f.count]

    def fired_kinds(self) -> set[str]:
        """Kinds of every fault that struck."""
        return {f.kind for f in self.fired}

    # ── asked by the stand-ins ──────────────────────────────────────────────────────────────────────────────────
    def firestore(self, op: str, collection: str, paths: tuple[str, ...] = ()) -> Injection | None:
        """What happens to this Firestore RPC."""
        partition = self._partitioned()
        if partition is not None:
            return partition
        root = collection.split("/", 1)[0]
        hits = self._hits(f"firestore:{op}:{root}")
        if self.loop.caller.startswith("gateway:"):  # the link's own task: reconciliation after a (re)connect
            hits += self._hits("firestore:reconcile:any")
        if not hits:
            return None
        fail_before: Exception | None = None
        fail_after: Exception | None = None
        latency = 0.0
        kill_before = on_apply = None
        pid = PROCESS.get()
        for fault in hits:
            if fault.kind == "process.crash":
                if pid is None:
                    continue
                if fault.param("phase") == "before":
                    kill_before = _bind(self.kill, pid)
                else:
                    on_apply = _bind(self.kill, pid)
            elif fault.kind == "firestore.slow":
                latency += float(fault.param("seconds", 1.0))
            else:
                error = ERRORS[fault.param("error", "ServiceUnavailable")](f"simulated {fault.kind}")
                if fault.kind == "firestore.fail_before":
                    fail_before = error
                else:
                    fail_after = error
            self.strike(fault, f"{op} {collection} call {self.calls[f'firestore:{op}:{root}']} pid={pid}", paths)
        return Injection(fail_before=fail_before, fail_after=fail_after, extra_latency=latency,
                         kill_before=kill_before, on_apply=on_apply)

    def _partitioned(self) -> Injection | None:
        pid = PROCESS.get()
        until, mode = self.partitions.get(pid or "", (0.0, ""))
        if self.loop.time() >= until or mode != "fail":
            return None
        return Injection(fail_before=ERRORS["ServiceUnavailable"]("simulated partition from Firestore"))

    def held_for(self, pid: str | None) -> float:
        """Seconds the calls of ``pid`` wait before they go out (a hanging partition from Firestore)."""
        until, mode = self.partitions.get(pid or "", (0.0, ""))
        return max(0.0, until - self.loop.time()) if mode == "hang" else 0.0

    def broker(self, gateway: str, op: str, pid: str) -> BrokerInjection | None:
        """What happens to this broker call."""
        key = f"broker:{gateway}:{op}"
        hits = self._hits(key)
        if not hits:
            return None
        values: dict[str, object] = {}
        for fault in hits:
            kind = fault.kind
            if kind == "broker.ack_lost":
                values["ack"] = fault.param("mode", "lost")
            elif kind == "broker.order_dropped":
                values["drop"] = True
            elif kind == "broker.exec_before_ack":
                values["exec_first"] = True
            elif kind in HANGS:
                values["hang"] = True
            elif kind == "broker.quote_missing":
                values["missing"] = True
            elif kind == "broker.modify_refused":
                values["refuse"] = True
            elif kind == "process.crash":
                values["kill_before" if fault.param("phase") == "before" else "kill_after"] = _bind(self.kill, pid)
            self.strike(fault, f"{op} call {self.calls[key]} pid={pid}")
        return BrokerInjection(**values)  # type: ignore[arg-type]  # keys and types are BrokerInjection's fields

    def on_exec(self, gateway: str) -> tuple[bool, float | None]:
        """(lose this execution's event, correct it after n seconds)."""
        lose, correct = False, None
        for fault in self._hits(f"broker:{gateway}:exec"):
            if fault.kind == "broker.exec_event_lost":
                lose = True
            elif fault.kind == "broker.exec_correction":
                correct = float(fault.param("after_s", 1.0))
            self.strike(fault, f"execution {self.calls[f'broker:{gateway}:exec']}")
        return lose, correct

    def lose_commission(self, gateway: str) -> bool:
        """Lose this commission report."""
        hits = [f for f in self._hits(f"broker:{gateway}:commission") if f.kind == "broker.commission_lost"]
        for fault in hits:
            self.strike(fault, f"commission {self.calls[f'broker:{gateway}:commission']}")
        return bool(hits)


def _bind(kill: Callable[[str], None], pid: str) -> Callable[[], None]:
    return lambda: kill(pid)
