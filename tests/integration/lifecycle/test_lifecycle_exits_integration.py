"""Exits through the day against ibsim: the whole spread in ONE combo order, the 15:55 pin-risk close."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time

from google.cloud import firestore
from lifecycle_harness import (
    Executor,
    entry_filled,
    follower,
    held,
    intents,
    make_signal,
    orders,
    publish_signal,
    seed,
    wait_for,
)

from ibsim.testing import SimulatorProcess
from spreadpilot.clock import SimClock, new_york
from spreadpilot.models import IntentKind, IntentState
from stack.local_stack import LocalStack


def test_short_leg_without_time_value_closes_both_legs_in_one_combo_order(
        clean_stack: LocalStack, firestore_db: firestore.Client,
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    clock, sim = world("2026-03-17T09:40:00-04:00", 20, ["DU001"], "--underlying", "480")  # short 485 put deep ITM
    seed(firestore_db, [follower(1)], sim)
    executor = executors(clock)
    publish_signal(clean_stack.project, make_signal(qty=2))

    wait_for(entry_filled(firestore_db, "f01"), 60, "the entry to fill")
    wait_for(lambda: len(orders(sim, "exit-")) >= 1 and not held(sim, "DU001"), 60, "the exit to flatten the account")

    exits = orders(sim, "exit-")
    assert len(exits) == 1
    assert exits[0]["action"] == "SELL"
    assert exits[0]["qty"] == 2
    assert sorted(leg["strike"] for leg in exits[0]["legs"]) == [480, 485]
    assert orders(sim, "close_orphan-") == []
    wait_for(lambda: [i.state for i in intents(firestore_db, IntentKind.EXIT)] == [IntentState.FILLED], 30,
             "the exit intent to be recorded filled")
    exit_intent = intents(firestore_db, IntentKind.EXIT)[0]
    assert exit_intent.filled_qty == 2
    assert "time value" in exit_intent.reason
    assert executor.terminate() == 0


def test_spread_pinned_near_its_short_strike_is_closed_at_1555(
        clean_stack: LocalStack, firestore_db: firestore.Client,
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    clock, sim = world("2026-03-17T15:50:00-04:00", 30, ["DU001"], "--underlying", "485.5")
    sim.set_price(485.5)  # 50 cents above the short 485 put: out of the money, but pinned
    seed(firestore_db, [follower(1)], sim)
    executor = executors(clock, entry_end="16:00", min_credit="0.01", near_money="0", mtm_s="600")
    publish_signal(clean_stack.project, make_signal(qty=1))

    wait_for(entry_filled(firestore_db, "f01"), 60, "the late entry to fill")
    wait_for(lambda: len(orders(sim, "exit-")) >= 1 and not held(sim, "DU001"), 60, "the pin-risk close")

    exit_event = orders(sim, "exit-")[0]
    assert time(15, 55) <= new_york(datetime.fromisoformat(exit_event["ts"])).time() < time(16, 0)
    assert sorted(leg["strike"] for leg in exit_event["legs"]) == [480, 485]
    wait_for(lambda: any(i.state is IntentState.FILLED for i in intents(firestore_db, IntentKind.EXIT)), 30,
             "the close recorded")
    assert "pin risk" in intents(firestore_db, IntentKind.EXIT)[0].reason
    assert executor.terminate() == 0
