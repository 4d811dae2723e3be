"""The fault catalogue and the seeded planner: which faults a run gets, and where each one strikes.

A fault strikes at a virtual time (``at``, seconds after the run starts at 09:29:50 ET) or at the k-th call of an
operation (``on`` = ``firestore:<op>:<collection>`` or ``broker:<gateway>:<op>``, ``k`` counted from 1, ``count``
consecutive calls), which is how a crash or an error lands on any await of the executor;
``firestore:reconcile:any`` counts the RPCs made by a gateway link's own task (its reconciliation after a connect).
``Fault.describe`` is the fault's one-line bug report: with the seed it reproduces the run exactly.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

CATALOGUE: dict[str, str] = {
    "firestore.fail_before": "an RPC fails before it takes effect (ServiceUnavailable / DeadlineExceeded)",
    "firestore.fail_after_commit": "a write takes effect on the server, then the client sees an error",
    "firestore.slow": "an RPC answers late (seconds of extra latency)",
    "message.duplicate": "the signal is delivered again while (or after) the first delivery is handled",
    "message.late": "the signal is redelivered a minute or two later",
    "message.reorder": "the day's messages arrive in another order (with a malformed message among them)",
    "broker.drop": "the gateway's socket closes; reconnects are refused for a while",
    "broker.restart": "the gateway restarts: socket closed, down for seconds, order ids roll back",
    "broker.id_rollback": "a short drop after which the gateway's next order id is lower than before",
    "broker.code_1100": "IB's servers unreachable (1100), then restored (1101 data lost / 1102 data kept)",
    "broker.ack_lost": "an order reaches the book but its acknowledgement is lost or comes too late",
    "broker.order_dropped": "an order never reaches the book (and is never acknowledged)",
    "broker.exec_before_ack": "an order fills at once: executions arrive before its acknowledgement",
    "broker.exec_event_lost": "an execution event never reaches the executor (the broker's truth has it)",
    "broker.commission_lost": "a commission report never reaches the executor (the broker's truth has it)",
    "broker.exec_correction": "the broker corrects an execution (same execId up to the last dot, new price)",
    "broker.quote_slow": "a quote request hangs past the timeout",
    "broker.quote_missing": "a quote comes back without a price",
    "broker.whatif_slow": "a what-if hangs past the timeout",
    "broker.qualify_slow": "a contract qualification hangs past the timeout",
    "broker.truth_slow": "one of a truth fetch's four requests hangs past the timeout",
    "broker.modify_refused": "a modify is refused (201) while the order stays live",
    "broker.foreign_order": "an order by hand or by another client in a managed account, any orderRef",
    "doc.malformed_follower": "a follower document that does not parse",
    "doc.malformed_intent": "an intent document that does not parse",
    "process.crash": "the executor process dies at a time or at an await, and restarts",
    "process.second_executor": "a second executor process runs over the same store and gateways",
    "process.store_partition": "the running executor loses Firestore (errors or hangs) for longer than a lease, "
                               "its IB sockets stay up; a second executor is there to take over",
    "signal.second_same_day": "a second, different valid signal for the same day",
}

FIRESTORE_READS = [("get_all", "orders"), ("query", "orders"), ("query", "followers"), ("get_all", "controls")]
FIRESTORE_WRITES = [("create", "orders"), ("set", "orders"), ("create", "fills"), ("set", "fills")]
RECONCILING = ("reconcile", "any")  # any RPC a gateway link's task makes: reconciliation after a (re)connect
FOREIGN_REFS = ["slash", "two_slashes", "empty", "long", "intent_prefix", "dunder", "dotdot", "plain"]


@dataclass(frozen=True)
class Fault:
    """One planned fault."""

    kind: str
    at: float | None = None
    on: str | None = None
    k: int = 0
    count: int = 1
    params: tuple[tuple[str, Any], ...] = ()

    def param(self, name: str, default: Any = None) -> Any:
        """One parameter."""
        return dict(self.params).get(name, default)

    def describe(self) -> str:
        """``kind(at=12.3s, …)`` or ``kind(on=broker:gw-1:place#2, …)``."""
        where = [f"at={self.at:.2f}s"] if self.at is not None else [f"on={self.on}#{self.k}"]
        if self.count > 1:
            where.append(f"count={self.count}")
        return f"{self.kind}({', '.join(where + [f'{k}={v}' for k, v in self.params])})"


@dataclass(frozen=True)
class Shape:
    """What the planner needs to know of a run's world."""

    gateways: tuple[str, ...]
    followers_on: dict[str, int]  # gateway → followers on it
    follower_ids: tuple[str, ...]
    accounts_on: dict[str, tuple[str, ...]]  # gateway → managed accounts (followers' and others')
    signal_at: float
    trading_ids: tuple[str, ...] = ()  # followers that take entries (enabled and active)


@dataclass
class Plan:
    """A run's faults."""

    seed: int
    faults: list[Fault] = field(default_factory=list)

    def kinds(self) -> list[str]:
        """The kinds planned, in order."""
        return [f.kind for f in self.faults]

    def describe(self) -> str:
        """The plan on one line."""
        return " + ".join(f.describe() for f in self.faults) or "(no faults)"


def _gw(rng: random.Random, shape: Shape) -> str:
    busy = [g for g in shape.gateways if shape.followers_on.get(g)]
    return rng.choice(busy or list(shape.gateways))


def _n(shape: Shape, gateway: str) -> int:
    return max(1, shape.followers_on.get(gateway, 1))


def _around_signal(rng: random.Random, shape: Shape, before: float = 10.0, after: float = 60.0) -> float:
    return round(max(0.5, shape.signal_at + rng.uniform(-before, after)), 3)


def _firestore(kind: str, rng: random.Random, shape: Shape) -> Fault:
    pool = FIRESTORE_WRITES if kind == "firestore.fail_after_commit" else FIRESTORE_READS + FIRESTORE_WRITES
    op, collection = rng.choice([*pool, RECONCILING])
    n = len(shape.follower_ids)
    top = {"create:orders": n, "set:orders": 4 * n, "create:fills": 2 * n, "set:fills": 2 * n}.get(
        f"{op}:{collection}", 2)
    params: list[tuple[str, Any]] = []
    if kind == "firestore.slow":
        params.append(("seconds", round(rng.uniform(0.5, 12.0), 2)))
    else:
        params.append(("error", rng.choice(["ServiceUnavailable", "DeadlineExceeded"])))
    return Fault(kind, on=f"firestore:{op}:{collection}", k=rng.randint(1, max(1, top)), count=rng.randint(1, 3),
                 params=tuple(params))


def _on_broker(kind: str, op: str, top: int, count: tuple[int, int] = (1, 1), per_follower: bool = True,
               **params: Callable[[random.Random], Any]) -> Callable[[random.Random, Shape], Fault]:
    """The k-th call of ``op`` on a gateway, k up to ``top`` (times its followers if ``per_follower``)."""
    def plan(rng: random.Random, shape: Shape) -> Fault:
        gateway = _gw(rng, shape)
        most = top * _n(shape, gateway) if per_follower else top
        return Fault(kind, on=f"broker:{gateway}:{op}", k=rng.randint(1, max(1, most)),
                     count=rng.randint(*count), params=tuple((k, v(rng)) for k, v in params.items()))

    return plan


def _timed_broker(kind: str, **params: Callable[[random.Random], Any]) -> Callable[[random.Random, Shape], Fault]:
    def plan(rng: random.Random, shape: Shape) -> Fault:
        return Fault(kind, at=_around_signal(rng, shape),
                     params=(("gateway", _gw(rng, shape)), *((k, v(rng)) for k, v in params.items())))

    return plan


def _foreign(rng: random.Random, shape: Shape) -> Fault:
    gateway = rng.choice(list(shape.gateways))
    # often there before the executor starts (a hedge entered by hand in the morning), else during the day
    at = 0.0 if rng.random() < 0.4 else round(rng.uniform(0.2, shape.signal_at + 60), 3)
    return Fault("broker.foreign_order", at=at, params=(
        ("gateway", gateway), ("account", rng.choice(shape.accounts_on[gateway])), ("ref", rng.choice(FOREIGN_REFS)),
        ("client", rng.choice(["manual", "other"])), ("strikes", rng.choice(["signal", "other"])),
        ("fill", rng.random() < 0.7)))


def _crash(rng: random.Random, shape: Shape) -> Fault:
    restart = ("restart_after", round(rng.uniform(0.3, 8.0), 2))
    if rng.random() < 0.35:
        return Fault("process.crash", at=_around_signal(rng, shape, 5, 40), params=(restart,))
    phase = ("phase", rng.choice(["before", "after"]))
    if rng.random() < 0.5:
        op, collection = rng.choice(FIRESTORE_WRITES + FIRESTORE_READS[:2])
        n = len(shape.follower_ids)
        return Fault("process.crash", on=f"firestore:{op}:{collection}", k=rng.randint(1, max(1, 2 * n)),
                     params=(phase, restart))
    gateway = _gw(rng, shape)
    op = rng.choice(["place", "place", "modify", "truth", "quote"])
    return Fault("process.crash", on=f"broker:{gateway}:{op}", k=rng.randint(1, 2 * _n(shape, gateway)),
                 params=(phase, restart))


def _malformed_intent(rng: random.Random, shape: Shape) -> Fault:
    return Fault("doc.malformed_intent", params=(
        ("variant", rng.choice(["today_unknown_state", "today_missing_spread", "open_missing_fields"])),
        ("follower", rng.choice(shape.trading_ids or shape.follower_ids))))  # one whose intent the executor reads


PLANNERS: dict[str, Callable[[random.Random, Shape], Fault]] = {
    "firestore.fail_before": lambda rng, shape: _firestore("firestore.fail_before", rng, shape),
    "firestore.fail_after_commit": lambda rng, shape: _firestore("firestore.fail_after_commit", rng, shape),
    "firestore.slow": lambda rng, shape: _firestore("firestore.slow", rng, shape),
    "message.duplicate": lambda rng, shape: Fault("message.duplicate", params=(
        ("copies", rng.randint(1, 3)), ("within_s", round(rng.uniform(0.0, 3.0), 3)))),
    "message.late": lambda rng, shape: Fault("message.late", params=(("after_s", round(rng.uniform(20, 120), 2)),)),
    "message.reorder": lambda rng, shape: Fault("message.reorder", params=(("shuffle", rng.randint(0, 10**6)),)),
    "broker.drop": _timed_broker("broker.drop", down_s=lambda r: round(r.uniform(0.2, 15.0), 2)),
    "broker.restart": _timed_broker("broker.restart", down_s=lambda r: round(r.uniform(2.0, 20.0), 2),
                                    rollback=lambda r: r.randint(1, 6)),
    "broker.id_rollback": _timed_broker("broker.id_rollback", down_s=lambda r: round(r.uniform(0.05, 1.0), 2),
                                        rollback=lambda r: r.randint(1, 6)),
    "broker.code_1100": _timed_broker("broker.code_1100", lost_s=lambda r: round(r.uniform(1.0, 20.0), 2),
                                      restore=lambda r: r.choice([1101, 1102])),
    "broker.ack_lost": _on_broker("broker.ack_lost", "place", 1, mode=lambda r: r.choice(["lost", "late"])),
    "broker.order_dropped": _on_broker("broker.order_dropped", "place", 1),
    "broker.exec_before_ack": _on_broker("broker.exec_before_ack", "place", 1),
    "broker.exec_event_lost": _on_broker("broker.exec_event_lost", "exec", 3, (1, 2)),
    "broker.commission_lost": _on_broker("broker.commission_lost", "commission", 2, (1, 3)),
    "broker.exec_correction": _on_broker("broker.exec_correction", "exec", 2,
                                         after_s=lambda r: round(r.uniform(0.5, 5.0), 2)),
    "broker.quote_slow": _on_broker("broker.quote_slow", "quote", 2, (1, 4), per_follower=False),
    "broker.quote_missing": _on_broker("broker.quote_missing", "quote", 2, (1, 2), per_follower=False),
    "broker.whatif_slow": _on_broker("broker.whatif_slow", "what_if", 1, (1, 4)),
    "broker.qualify_slow": _on_broker("broker.qualify_slow", "qualify", 1, per_follower=False),
    "broker.truth_slow": _on_broker("broker.truth_slow", "truth", 2, per_follower=False),
    "broker.modify_refused": _on_broker("broker.modify_refused", "modify", 2),
    "broker.foreign_order": _foreign,
    "doc.malformed_follower": lambda rng, shape: Fault("doc.malformed_follower", params=(
        ("variant", rng.choice(["multiplier_abc", "missing_account", "bad_email"])),)),
    "doc.malformed_intent": _malformed_intent,
    "process.crash": _crash,
    "process.second_executor": lambda rng, shape: Fault("process.second_executor", at=round(
        rng.uniform(0.0, shape.signal_at + 20), 3), params=(("client_ids", rng.choice(["distinct", "same"])),)),
    "process.store_partition": lambda rng, shape: Fault("process.store_partition", at=_around_signal(
        rng, shape, 5, 30), params=(("seconds", round(rng.uniform(20.0, 70.0), 2)),
                                    ("mode", rng.choice(["fail", "hang"])))),
    "signal.second_same_day": lambda rng, shape: Fault("signal.second_same_day", at=round(
        shape.signal_at + rng.uniform(1.0, 60.0), 3)),
}


def plan_faults(seed: int, shape: Shape, kinds: list[str] | None = None) -> Plan:
    """1–4 faults for ``seed`` (or one of each of ``kinds``), each with its trigger point."""
    rng = random.Random(f"{seed}:plan")
    if kinds is None:
        kinds = [rng.choice(sorted(PLANNERS)) for _ in range(rng.randint(1, 4))]
    faults = []
    for kind in kinds:
        faults.append(PLANNERS[kind](rng, shape))
    return Plan(seed, faults)
