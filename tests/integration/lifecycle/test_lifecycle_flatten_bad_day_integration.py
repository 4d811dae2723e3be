"""A confirmed flatten on a bad day, against ibsim and the emulators with the real executor (``python -m executor``):
the broker's journal and positions are the truth, the alerts topic is what the operator hears.

- 50 followers flattened while the broker's socket drops after the 10th close and Firestore goes away from the
  executor after the 20th: every account ends flat, nothing is closed twice, and the operator gets one answer;
- a flatten confirmed while a time-value exit of the same spread rests at the broker joins that exit: no second close.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from google.cloud import firestore
from lifecycle_harness import (
    Executor,
    command,
    entry_filled,
    follower,
    held,
    make_signal,
    orders,
    publish_command,
    publish_signal,
    seed,
    wait_for,
)

from fakes.fault_proxy import FaultProxy
from ibsim.testing import SimulatorProcess
from spreadpilot.actions import OPERATOR_ACTIONS
from spreadpilot.clock import SimClock
from spreadpilot.envelopes import AlertMessage, decode
from spreadpilot.models import Alert, CommandKind
from spreadpilot.store import COMMANDS
from stack.local_stack import FIRESTORE_EMULATOR_HOST, LocalStack
from stack.topology import TopicTap

START = "2026-03-17T09:40:00-04:00"
FOLLOWERS = 50
DROP_AFTER, OUTAGE_AFTER = 10, 20  # closes at the broker before the socket drop, before the Firestore outage
DROP_SIM_S = 40.0  # simulated seconds the simulator refuses connections after the drop (2 real s at 20x)
OUTAGE_S = 5.0  # real seconds Firestore is black-holed for the executor


class Faults(threading.Thread):
    """Tails the broker's journal file while the flatten runs and strikes at the close counts it was given (the
    journal is written and flushed per event; a few milliseconds of polling is well under one paced order)."""

    def __init__(self, sim: SimulatorProcess, proxy: FaultProxy) -> None:
        super().__init__(daemon=True, name="faults")
        self.sim = sim
        self.proxy = proxy
        self.dropped_at: int | None = None
        self.outage_at: int | None = None
        self.done = threading.Event()
        self._offset = 0
        self._closes: set[int] = set()

    def _new_closes(self) -> int:
        """Distinct flatten orders (perm ids) the broker has received so far."""
        with self.sim.journal_path.open("rb") as journal:
            journal.seek(self._offset)
            chunk = journal.read()
        complete = chunk[:chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.splitlines():
            event = json.loads(line)
            if event["event"] == "order" and not event.get("what_if") \
                    and str(event.get("order_ref", "")).startswith("flatten-"):
                self._closes.add(int(event["perm_id"]))
        return len(self._closes)

    def run(self) -> None:
        deadline = time.monotonic() + 120
        while not self.done.is_set() and time.monotonic() < deadline and self.outage_at is None:
            closes = self._new_closes()
            if self.dropped_at is None and closes >= DROP_AFTER:
                self.sim.inject("disconnect", seconds=DROP_SIM_S)
                self.dropped_at = closes
            if self.outage_at is None and closes >= OUTAGE_AFTER:
                self.proxy.go_down(OUTAGE_S)
                self.outage_at = closes
            time.sleep(0.002)


def answers(alerts: TopicTap, command_id: str, seen: list[Alert]) -> list[Alert]:
    """Every alert so far that answers ``command_id`` (``seen`` keeps what earlier pulls found)."""
    seen += [decode(m.data, AlertMessage).alert for m in alerts.pull(50, timeout_s=0.5)]
    return [a for a in seen if a.context.get("command_id") == command_id
            and a.type in ("command.finished", "command.unfinished")]


def test_a_flatten_of_50_followers_through_a_socket_drop_and_a_firestore_outage_ends_all_flat_with_one_answer(
        clean_stack: LocalStack, firestore_db: firestore.Client, tap: Callable[[str], TopicTap],
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    alerts = tap("alerts")
    followers = [follower(n) for n in range(1, FOLLOWERS + 1)]
    accounts = [f.ibkr_account for f in followers]
    clock, sim = world(START, 20, accounts, "--underlying", "487")
    sim.set_price(487)
    seed(firestore_db, followers, sim)
    with FaultProxy(clean_stack.env[FIRESTORE_EMULATOR_HOST], lifetime_s=400) as proxy:
        executor = executors(clock, env={FIRESTORE_EMULATOR_HOST: proxy.address}, min_credit="0.10",
                             monitor_s="600")
        publish_signal(clean_stack.project, make_signal(qty=1))
        wait_for(lambda: all(entry_filled(firestore_db, f.id)() for f in followers), 120, "every entry to fill")
        assert all(held(sim, a) for a in accounts)

        faults = Faults(sim, proxy)
        publish_command(clean_stack.project, command("req-50", CommandKind.FLATTEN_REQUEST, code="FLAT50"))
        wait_for(lambda: _status(firestore_db, "req-50") == "pending_confirmation", 30, "the request to be pending")
        started = time.monotonic()
        faults.start()
        publish_command(clean_stack.project, command("confirm-50", CommandKind.FLATTEN_CONFIRM, code="FLAT50"))
        wait_for(lambda: not any(held(sim, a) for a in accounts), 240, "every account flat at the broker")
        flat_after = time.monotonic() - started
        wait_for(lambda: _status(firestore_db, "confirm-50") not in (None, "in_progress"), 120,
                 "the flatten's final state")
        faults.done.set()
        seen: list[Alert] = []
        wait_for(lambda: bool(answers(alerts, "confirm-50", seen)), 30, "the answer to the operator")
        time.sleep(2)  # a second answer would be out by now
        replies = answers(alerts, "confirm-50", seen)
        stopped = executor.terminate()  # while its Firestore (the proxy) is still there

    # the faults struck in the middle of the flatten, in order (orders go out 45 a second and this thread polls the
    # journal, so on a loaded machine a fault lands a few closes after its mark: what matters is that closes were
    # still to come when it struck)
    assert DROP_AFTER <= (faults.dropped_at or 0) < FOLLOWERS - 10, f"socket dropped after close {faults.dropped_at}"
    assert (faults.dropped_at or 0) <= (faults.outage_at or 0) < FOLLOWERS, (
        f"Firestore down after close {faults.outage_at} (socket dropped after close {faults.dropped_at})")
    assert proxy.report()["outages"], "the Firestore outage never happened"
    assert [(a.type, a.severity) for a in replies] == [("command.finished", "WARNING")], replies
    assert "50 follower(s) flat" in replies[0].message
    action = _doc(firestore_db, OPERATOR_ACTIONS, "flatten-FLAT50")
    assert action["state"] == "done"
    assert sorted(p["key"] for p in action["parts"] if p["state"] == "done") == sorted(
        ["controls:global", *[f"flatten:{f.id}" for f in followers]])
    # nothing closed twice: per account, the broker filled closing SELLs for exactly the one spread it held
    closed = _closed_per_account(sim)
    assert {a: closed.get(a, 0) for a in accounts} == dict.fromkeys(accounts, 1), closed
    assert _status(firestore_db, "confirm-50") == "done"
    retried = sorted(p["key"] for p in action["parts"] if p["attempts"] > 1)
    print(f"\nflatten of {FOLLOWERS}: every account flat {flat_after:.1f} s after the confirm; socket dropped after "
          f"close {faults.dropped_at}, Firestore down after close {faults.outage_at}; parts tried again: {retried}")
    assert stopped == 0


def test_a_flatten_confirmed_during_a_time_value_exit_joins_it_and_sends_no_second_close(
        clean_stack: LocalStack, firestore_db: firestore.Client, tap: Callable[[str], TopicTap],
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    alerts = tap("alerts")
    clock, sim = world(START, 20, ["DU001"], "--underlying", "487")
    sim.set_price(487)
    seed(firestore_db, [follower(1)], sim)
    executor = executors(clock, min_credit="0.10", exit_done_timeout_s="600")
    publish_signal(clean_stack.project, make_signal(qty=2))
    wait_for(entry_filled(firestore_db, "f01"), 60, "the entry to fill")

    sim.control("/fills", {"mode": "delayed", "delay_s": 200})  # the exit will rest ~10 real seconds
    sim.set_price(480)  # the short 485 put is $5 in the money: no time value left, the monitor exits
    wait_for(lambda: bool(orders(sim, "exit-")), 60, "the time-value exit to go out")
    publish_command(clean_stack.project, command("req-tv", CommandKind.FLATTEN_REQUEST, scope="f01", code="TVEXIT"))
    wait_for(lambda: _status(firestore_db, "req-tv") == "pending_confirmation", 30, "the request to be pending")
    publish_command(clean_stack.project, command("confirm-tv", CommandKind.FLATTEN_CONFIRM, scope="f01",
                                                 code="TVEXIT"))
    assert held(sim, "DU001"), "the exit must still be resting when the flatten arrives"
    wait_for(lambda: _status(firestore_db, "confirm-tv") == "done", 90, "the flatten to end done")

    assert held(sim, "DU001") == {}
    assert orders(sim, "flatten-") == []  # the flatten joined the exit in flight
    [exit_order] = orders(sim, "exit-")
    assert (exit_order["action"], exit_order["qty"]) == ("SELL", 2)
    assert _closed_per_account(sim) == {"DU001": 2}  # two spreads held, two closed: never more
    seen: list[Alert] = []
    wait_for(lambda: bool(answers(alerts, "confirm-tv", seen)), 30, "the answer to the operator")
    assert executor.terminate() == 0


def _closed_per_account(sim: SimulatorProcess) -> dict[str, int]:
    """Spreads the broker filled on closing orders (our exits and flattens), per account, from its journal's
    per-leg fills (a combo's spreads are the quantity both of its legs filled)."""
    closing = {int(o["perm_id"]): str(o["account"]) for o in [*orders(sim, "flatten-"), *orders(sim, "exit-")]}
    legs: dict[int, dict[int, int]] = {}
    for e in sim.journal():
        if e["event"] == "fill" and int(e["perm_id"]) in closing:
            per_leg = legs.setdefault(int(e["perm_id"]), {})
            con_id = int(e["legs"][0]["con_id"])
            per_leg[con_id] = per_leg.get(con_id, 0) + int(e["qty"])
    per: dict[str, int] = {}
    for perm, per_leg in legs.items():
        account = closing[perm]
        per[account] = per.get(account, 0) + (min(per_leg.values()) if len(per_leg) >= 2 else 0)
    return per


def _status(db: firestore.Client, command_id: str) -> str | None:
    return _doc(db, COMMANDS, command_id).get("status")


def _doc(db: firestore.Client, collection: str, doc_id: str) -> dict[str, Any]:
    snap = db.collection(collection).document(doc_id).get()
    return (snap.to_dict() or {}) if snap.exists else {}
