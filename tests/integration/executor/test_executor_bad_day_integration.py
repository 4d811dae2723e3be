"""The executor's bad day over real parts: python -m executor ↔ ib_async ↔ ibsim, the Firestore and Pub/Sub emulators.

Three things that go wrong on real days: a reconciliation that cannot complete once (someone else's order in a
managed account, a slow answer), one follower document nobody's model accepts, and Firestore gone for 30 seconds
in the middle of a fan-out. Each test states what the executor must still get right; the broker's journal is the
truth for orders, and each failure names the followers, intents and gateway state that are off.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable

from bad_day_support import (
    AlertLog,
    all_decided,
    follower_table,
    gateway_view,
    log_digest,
    names,
    plant_foreign_fill,
    settle,
)
from executor_harness import SPEED, Executor, advisor, follower, make_signal, publish, ref, seed, settled
from google.cloud import firestore

from fakes.fault_proxy import FaultProxy
from ibsim.testing import SimulatorProcess
from spreadpilot.models import IntentState
from spreadpilot.store import FOLLOWERS
from stack.local_stack import FIRESTORE_EMULATOR_HOST, LocalStack
from stack.topology import TopicTap

HOUSE_ACCOUNT = "DU900"  # managed by the advisor login, but no follower's
FOREIGN_REF = "desk/hedge-1"  # a "/" cannot be part of a Firestore document id
ACK_TIMEOUT_S = 3.0  # real seconds the executor waits for an answer
SLOW_ANSWER_S = 6.0  # real seconds the gateway's first completed-orders answer takes: longer than the executor waits
OUTAGE_S = 30.0  # real seconds; at 20x the simulated clock moves 10 minutes, well inside the 09:30-10:30 window
CALLS_BEFORE_OUTAGE = 20  # gRPC calls after the signal is published (followers, intents, kill switches, ~17 creates)
STRANDED_CALLS = 5  # ... and the outage waits until this many are unanswered: applied by Firestore, answers lost


def test_one_reconciliation_error_leaves_the_gateway_usable(
        clean_stack: LocalStack, firestore_db: firestore.Client, simulator: Callable[..., SimulatorProcess],
        executors: Callable[..., Executor], tap: Callable[[str], TopicTap]) -> None:
    """A reconciliation that fails once must not take the gateway down for the day.

    Before the executor starts, another API client on the advisor gateway (a desk tool, a human in TWS) has an order
    filled in a managed account that is no follower's, with an orderRef containing "/"; and the gateway's first
    completed-orders answer arrives later than the executor waits. Both reach the executor's first reconciliation.
    The gateway must still become ready (the heartbeat says connected), the signal that follows must trade every
    enabled follower exactly once, and the executor keeps running.
    """
    followers = [follower(n) for n in range(1, 6)]
    sim = simulator([*(f.ibkr_account for f in followers), HOUSE_ACCOUNT])
    plant_foreign_fill(sim, HOUSE_ACCOUNT, FOREIGN_REF)
    gateway = advisor(sim)
    sim.inject("slow_answer", request="completed_orders", seconds=SLOW_ANSWER_S * SPEED, client_id=gateway.client_id)
    seed(firestore_db, followers, [gateway])
    alerts = AlertLog(tap("alerts"))
    executor = executors(ack_timeout_s=ACK_TIMEOUT_S)
    sig = make_signal()

    publish(clean_stack.project, sig)
    finished = settle(settled(firestore_db, sig, followers), 30)
    connected = settle(lambda: gateway_view(firestore_db).get("connected") is True, 5)

    alerts.drain()
    orders, _, table = follower_table(firestore_db, sim, sig, followers)
    off = {fid: n for fid, n in orders.items() if n != 1}
    slowed = [e for e in sim.journal() if e["event"] == "fault" and e.get("kind") == "slow_answer" and "messages" in e]
    problems = [what for what, wrong in (
        ("the slow answer never happened: the executor asked no completed orders", not slowed),
        (f"followers without exactly one broker order: {off}", off),
        ("not every intent final within 30 s", not finished),
        ("gateway gw-advisor not connected in heartbeats/executor", not connected),
        ("the executor is not running", executor.process.poll() is not None)) if wrong]
    assert not problems, (
        f"after a foreign {FOREIGN_REF!r} fill in {HOUSE_ACCOUNT} and one {SLOW_ANSWER_S:.0f} s completed-orders "
        f"answer (the executor waits {ACK_TIMEOUT_S:.0f} s):\n  " + "\n  ".join(problems) + f"\n{table}\n"
        f"  gateway gw-advisor in heartbeats/executor: {gateway_view(firestore_db)}\n"
        f"  executor log:\n{log_digest(executor)}\n  alerts:\n{alerts.summary()}")


def test_a_poison_follower_document_stops_nobody(
        clean_stack: LocalStack, firestore_db: firestore.Client, simulator: Callable[..., SimulatorProcess],
        executors: Callable[..., Executor], tap: Callable[[str], TopicTap]) -> None:
    """One follower document that no model accepts must cost only that follower.

    ``followers/f03`` is written raw into Firestore (as a console edit would) with ``multiplier: "abc"``, among four
    valid enabled followers. The signal must trade each of the four exactly once and f03 not at all, its message must
    be acked (not redelivered forever), an alert must name the bad document, and the executor must keep running.
    After a restart the poison is still there: the new process must start, take the same signal again (as Pub/Sub
    redelivers what a stopped process held), ack it and place nothing more.
    """
    followers = [follower(n) for n in range(1, 6)]
    poison = followers[2]
    good = [f for f in followers if f is not poison]
    sim = simulator([f.ibkr_account for f in followers])
    seed(firestore_db, good, [advisor(sim)])
    firestore_db.collection(FOLLOWERS).document(poison.id).set(poison.to_doc() | {"multiplier": "abc"})
    alerts = AlertLog(tap("alerts"))
    sig = make_signal()  # one per day: the restarted process gets the same signal, not a second one
    problems: list[str] = []

    for run in ("first run", "after a restart"):
        executor = executors()
        publish(clean_stack.project, sig)
        finished = settle(settled(firestore_db, sig, good), 25)
        acked = settle(lambda ex=executor: '"message": "signal acked"' in ex.log(), 5)
        orders, _, table = follower_table(firestore_db, sim, sig, followers)
        off = {fid: n for fid, n in orders.items() if n != (0 if fid == poison.id else 1)}
        if not (finished and acked and not off and executor.process.poll() is None):
            problems.append(f"  {run}: good followers' intents final: {finished}; signal acked: {acked}; "
                            f"orders off (f03 must have 0, the others 1): {off or 'none'}\n{table}\n"
                            f"  executor log:\n{log_digest(executor)}")
        code = _stop(executor)
        if code != 0:
            problems.append(f"  {run}: SIGTERM exit code {code} (expected 0)")

    named = alerts.wait_for(lambda a: names(a, poison.id), 5)
    if named is None:
        problems.append(f"  no alert names followers/{poison.id}; alerts seen:\n{alerts.summary()}")
    assert not problems, f"with followers/{poison.id} holding multiplier 'abc', signal {sig.signal_id}:\n" + "\n".join(
        problems)


def test_a_30_second_firestore_outage_during_a_50_follower_fanout_trades_everyone_once(
        clean_stack: LocalStack, firestore_db: firestore.Client, simulator: Callable[..., SimulatorProcess],
        executors: Callable[..., Executor], tap: Callable[[str], TopicTap]) -> None:
    """Firestore gone for 30 s in the middle of a 50-follower fan-out must leave no follower untraded or traded twice.

    Only the executor reaches Firestore through the fault proxy. Once the signal is published, about 17 of the 50
    intents' creates went out and at least 5 calls wait for their answers, the proxy resets the executor's
    connections (those calls were applied, their answers are lost) and black-holes new ones for 30 real seconds.
    Afterwards every follower has exactly one order at the broker (journal), every intent is final, or ``unknown``
    with a CRITICAL alert naming it, and anything left undone (an intent not filled) is named in a CRITICAL alert,
    where an operator must act.
    """
    followers = [follower(n) for n in range(1, 51)]
    sim = simulator([f.ibkr_account for f in followers])
    seed(firestore_db, followers, [advisor(sim)])
    alerts = AlertLog(tap("alerts"))
    sig = make_signal()

    with FaultProxy(clean_stack.env[FIRESTORE_EMULATOR_HOST], lifetime_s=240) as proxy:
        executor = executors(env={FIRESTORE_EMULATOR_HOST: proxy.address})
        assert settle(lambda: gateway_view(firestore_db).get("connected") is True, 30), (
            f"the executor never reported the gateway ready through the proxy: {gateway_view(firestore_db)}\n"
            f"{log_digest(executor)}")
        proxy.go_down(OUTAGE_S, after_requests=CALLS_BEFORE_OUTAGE, unanswered=STRANDED_CALLS)
        publish(clean_stack.project, sig)
        assert proxy.wait_down(20), f"the outage never started: {proxy.report()}"
        assert proxy.wait_up(OUTAGE_S + 5), f"the outage did not end: {proxy.report()}"
        decided = settle(all_decided(firestore_db, sig, followers), 30)
        outage = proxy.report()

    alerts.drain()
    orders, states, table = follower_table(firestore_db, sim, sig, followers)
    critical = alerts.critical_subjects()
    off = {fid: n for fid, n in orders.items() if n != 1}
    undecided = {fid: s for fid, s in states.items() if s not in _DECIDED}
    unknown_unalerted = [fid for fid, s in states.items()
                         if s == IntentState.UNKNOWN and not {fid, ref(sig, fid)} & critical]
    undone_unalerted = [fid for fid, s in states.items()
                        if (s != IntentState.FILLED or orders[fid] != 1) and not {fid, ref(sig, fid)} & critical]
    problems = [what for what, wrong in (
        (f"followers without exactly one broker order (count: followers): {_grouped(off)}", off),
        (f"intents neither final nor unknown 30 s after Firestore came back (state: followers): "
         f"{_grouped(undecided)}", undecided),
        (f"unknown intents without a CRITICAL alert: {unknown_unalerted}", unknown_unalerted),
        (f"followers left undone that no CRITICAL alert names: {undone_unalerted}", undone_unalerted),
        ("the executor is not running", executor.process.poll() is not None)) if wrong]
    assert not problems, (
        f"after a {OUTAGE_S:.0f} s Firestore outage mid fan-out ({outage['outages']}, all decided: {decided}):\n  "
        + "\n  ".join(problems) + f"\n{table}\n"
        f"  gateway gw-advisor in heartbeats/executor: {gateway_view(firestore_db)}\n"
        f"  executor log:\n{log_digest(executor)}\n  alerts:\n{alerts.summary()}")


_DECIDED = {s.value for s in IntentState if s.final} | {IntentState.UNKNOWN.value}


def _grouped(by_follower: dict[str, object]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for fid, value in sorted(by_follower.items()):
        grouped.setdefault(str(value), []).append(fid)
    return grouped


def _stop(executor: Executor) -> int | None:
    """SIGTERM and the exit code; SIGKILL (and None) if it does not stop within 30 s."""
    try:
        return executor.terminate()
    except subprocess.TimeoutExpired:
        executor.kill()
        return None

