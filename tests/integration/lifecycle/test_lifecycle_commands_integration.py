"""Operator commands and risk limits against ibsim: flatten once, a pause that survives a restart, the breaker,
and MTM snapshots and the heartbeat at their cadence."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from itertools import pairwise
from typing import Any

from google.cloud import firestore
from lifecycle_harness import (
    AdminClient,
    Executor,
    alert_types,
    command,
    controls,
    entry_filled,
    follower,
    heartbeat,
    held,
    intents,
    make_signal,
    orders,
    publish_command,
    publish_signal,
    seed,
    wait_for,
)

from ibsim.testing import SimulatorProcess
from spreadpilot.clock import SimClock
from spreadpilot.models import CommandKind, IntentState
from spreadpilot.store import COMMANDS, Store
from stack.local_stack import LocalStack
from stack.topology import TopicTap

START = "2026-03-17T09:40:00-04:00"


def test_a_flatten_confirm_delivered_twice_flattens_once_and_a_request_alone_never_flattens(
        clean_stack: LocalStack, firestore_db: firestore.Client,
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    clock, sim = world(START, 20, ["DU001", "DU002"], "--underlying", "487")
    sim.set_price(487)
    seed(firestore_db, [follower(1), follower(2)], sim)
    executor = executors(clock, min_credit="0.10")
    publish_signal(clean_stack.project, make_signal(qty=1))
    wait_for(lambda: entry_filled(firestore_db, "f01")() and entry_filled(firestore_db, "f02")(), 60, "both entries")

    project = clean_stack.project
    publish_command(project, command("req-1", CommandKind.FLATTEN_REQUEST, code="K7Q2M9"))
    wait_for(lambda: _status(firestore_db, "req-1") == "pending_confirmation", 30, "the request to be pending")
    assert held(sim, "DU001")  # a request alone changes nothing
    confirm = command("confirm-1", CommandKind.FLATTEN_CONFIRM, code="K7Q2M9")
    publish_command(project, confirm)
    publish_command(project, confirm)  # redelivered
    publish_command(project, command("confirm-2", CommandKind.FLATTEN_CONFIRM, code="K7Q2M9"))  # same code again
    wait_for(lambda: not held(sim, "DU001") and not held(sim, "DU002"), 60, "both accounts flat")
    wait_for(lambda: sorted(str(_status(firestore_db, c)) for c in ("confirm-1", "confirm-2")) == [
        "done", "duplicate"], 30, "one confirm done, the other refused as a duplicate")

    flattens = orders(sim, "flatten-")
    assert sorted(o["account"] for o in flattens) == ["DU001", "DU002"]
    assert controls(firestore_db, "global")["entries_paused"] is True
    assert executor.terminate() == 0


def test_a_pause_survives_an_executor_restart_and_stops_the_next_entry(
        clean_stack: LocalStack, firestore_db: firestore.Client,
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    clock, sim = world(START, 20, ["DU001"], "--underlying", "487")
    seed(firestore_db, [follower(1)], sim)
    first = executors(clock, min_credit="0.10")
    publish_command(clean_stack.project, command("pause-1", CommandKind.PAUSE, reason="news at 10:00"))
    wait_for(lambda: controls(firestore_db, "global").get("entries_paused") is True, 30, "the pause to persist")
    assert first.terminate() == 0

    second = executors(clock, min_credit="0.10")
    publish_signal(clean_stack.project, make_signal(qty=1))
    wait_for(lambda: [i.state for i in intents(firestore_db)] == [IntentState.SKIPPED], 60, "the entry to be skipped")

    assert "paused" in intents(firestore_db)[0].reason
    assert orders(sim, "entry-") == []
    pause = controls(firestore_db, "global")
    assert pause["updated_by"] == "ops@example.com"
    assert pause["reason"] == "news at 10:00"
    audit = [d.to_dict() for d in firestore_db.collection("audit").stream()]
    assert any(a["action"] == "executor.command.pause" and a["actor"] == "ops@example.com" for a in audit)
    assert second.terminate() == 0


def test_daily_loss_breaker_trips_on_a_broker_loss_and_stops_the_followers_entries(
        clean_stack: LocalStack, firestore_db: firestore.Client, tap: Callable[[str], TopicTap],
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    alerts = tap("alerts")
    clock, sim = world(START, 20, ["DU001"], "--underlying", "487")
    sim.set_price(487)
    seed(firestore_db, [follower(1, loss_limit="150")], sim)
    executor = executors(clock, min_credit="0.10")
    publish_signal(clean_stack.project, make_signal(qty=1))
    wait_for(entry_filled(firestore_db, "f01"), 60, "the entry to fill")
    assert controls(firestore_db, "f01").get("entries_paused") is not True

    sim.set_price(481)  # the short 485 put is $4 in the money: a loss of several hundred dollars
    wait_for(lambda: controls(firestore_db, "f01").get("entries_paused") is True, 60, "the breaker to trip")

    assert controls(firestore_db, "f01")["updated_by"] == "breaker"
    assert "risk.daily_loss_breaker" in alert_types(alerts, {"risk.daily_loss_breaker"})
    assert executor.terminate() == 0


def test_mtm_snapshots_and_the_heartbeat_are_written_at_their_cadence_through_a_simulated_day(
        clean_stack: LocalStack, firestore_db: firestore.Client,
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    clock, sim = world(START, 60, ["DU001"], "--underlying", "487")
    seed(firestore_db, [follower(1)], sim)
    executor = executors(clock, min_credit="0.10", mtm_max_silence_s="60")
    publish_signal(clean_stack.project, make_signal(qty=1))
    wait_for(entry_filled(firestore_db, "f01"), 60, "the entry to fill")
    first_beat = heartbeat(firestore_db)["at"]
    wait_for(lambda: len(Store(firestore_db).pnl_snapshots.all()) >= 6, 60, "six snapshots")
    wait_for(lambda: heartbeat(firestore_db)["at"] != first_beat, 30, "a newer heartbeat")

    snapshots = sorted(Store(firestore_db).pnl_snapshots.all(), key=lambda s: s.at)
    gaps = [(b.at - a.at).total_seconds() for a, b in pairwise(snapshots)]
    assert all(gap >= 29 for gap in gaps)  # one pass every 30 business seconds at most, never more often
    assert {s.follower_id for s in snapshots} == {"f01"}
    beat_gap = datetime.fromisoformat(heartbeat(firestore_db)["at"]) - datetime.fromisoformat(first_beat)
    assert beat_gap.total_seconds() >= 14
    assert executor.terminate() == 0


def _status(db: firestore.Client, command_id: str) -> str | None:
    snap = db.collection(COMMANDS).document(command_id).get()
    return (snap.to_dict() or {}).get("status") if snap.exists else None


def test_a_flatten_asked_and_confirmed_in_the_web_app_ends_done_and_the_web_app_reads_the_answer(
        clean_stack: LocalStack, firestore_db: firestore.Client, admin: AdminClient,
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    clock, sim = world(START, 20, ["DU001", "DU002"], "--underlying", "487")
    sim.set_price(487)
    seed(firestore_db, [follower(1), follower(2)], sim)
    executor = executors(clock, min_credit="0.10")
    publish_signal(clean_stack.project, make_signal(qty=1))
    wait_for(lambda: entry_filled(firestore_db, "f01")() and entry_filled(firestore_db, "f02")(), 60, "both entries")

    code = admin.call("POST", "/controls/flatten", {"scope": "all", "reason": "web test"}).json()["confirm_code"]
    confirmed = admin.call("POST", "/controls/flatten/confirm", {"confirm_code": code})
    assert confirmed.status_code == 202
    command_id = confirmed.json()["command_id"]

    view: dict[str, Any] = {}

    def answered() -> bool:
        view.update(admin.call("GET", f"/commands/{command_id}").json())
        return view["command"].get("status") not in (None, "in_progress")

    wait_for(answered, 60, "the executor's answer in the admin API")
    assert view["command"]["status"] == "done"
    assert "2 follower(s) flat" in view["command"]["note"]
    assert view["action"]["state"] == "done"
    assert sorted(p["key"] for p in view["action"]["parts"]) == ["controls:global", "flatten:f01", "flatten:f02"]
    assert not held(sim, "DU001")
    assert not held(sim, "DU002")
    assert executor.terminate() == 0
