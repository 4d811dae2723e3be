"""Assignment against ibsim: detected from the stock that appears, repaired by moneyness, the account left flat."""

from __future__ import annotations

from collections.abc import Callable

from google.cloud import firestore
from lifecycle_harness import (
    Executor,
    alert_types,
    entry_filled,
    events,
    follower,
    held,
    make_signal,
    orders,
    publish_signal,
    seed,
    wait_for,
)

from ibsim.testing import SimulatorProcess
from spreadpilot.clock import SimClock
from spreadpilot.models import AssignmentState
from spreadpilot.store import Store
from stack.local_stack import LocalStack
from stack.topology import TopicTap

START = "2026-03-17T09:40:00-04:00"
OTM = ("--underlying", "487")  # short 485 put $2 out of the money: no time-value exit, a credit of about $0.33
SPEED = 20
SLOW_PASS_S = 600 / SPEED  # real seconds between position passes with monitor_s="600"


def _enter(clean_stack: LocalStack, db: firestore.Client, world: Callable[..., tuple[SimClock, SimulatorProcess]],
           executors: Callable[..., Executor], **settings: object) -> tuple[SimulatorProcess, Executor]:
    clock, sim = world(START, SPEED, ["DU001"], *OTM)
    sim.set_price(487)
    seed(db, [follower(1)], sim)
    executor = executors(clock, min_credit="0.10", **settings)
    publish_signal(clean_stack.project, make_signal(qty=2))
    wait_for(entry_filled(db, "f01"), 60, "the entry to fill")
    return sim, executor


def test_assigned_short_put_is_repaired_by_exercising_the_long_put_in_the_money_and_the_account_ends_flat(
        clean_stack: LocalStack, firestore_db: firestore.Client, tap: Callable[[str], TopicTap],
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    alerts = tap("alerts")
    # passes every 30 real seconds: the drop below both strikes is seen only with the assignment it brings
    sim, executor = _enter(clean_stack, firestore_db, world, executors, monitor_s="600")

    sim.set_price(478)  # the long 480 put is $2 in the money: its exercise offsets the assigned shares
    sim.inject("assignment", account="DU001")
    wait_for(lambda: bool(events(sim, "exercise")) and not held(sim, "DU001"), 60, "the exercise and a flat account")

    exercise = events(sim, "exercise")
    assert len(exercise) == 1
    assert exercise[0]["qty"] == 2
    assert exercise[0]["legs"][0]["strike"] == 480  # the long put, whose shares offset the assigned ones
    assert exercise[0]["action"] == "exercise"  # carried out: it was in the money
    assert orders(sim, "flatten-") == []
    # recorded by the first pass that sees the account flat: up to a whole pass period after it went flat
    wait_for(lambda: [p.assignment for p in Store(firestore_db).positions.all()] == [AssignmentState.COMPENSATED],
             2 * SLOW_PASS_S, "the position to be recorded COMPENSATED")
    assert {"position.assigned", "position.assignment_repair"} <= set(
        alert_types(alerts, {"position.assigned", "position.assignment_repair"}))
    assert executor.terminate() == 0


def test_with_flatten_compensation_the_stock_is_sold_and_the_orphaned_long_leg_closed(
        clean_stack: LocalStack, firestore_db: firestore.Client, tap: Callable[[str], TopicTap],
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    alerts = tap("alerts")
    sim, executor = _enter(clean_stack, firestore_db, world, executors, compensation="flatten")

    sim.inject("assignment", account="DU001")
    wait_for(lambda: bool(orders(sim, "close_orphan-")) and not held(sim, "DU001"), 60,
             "the stock flattened, the orphan closed, a flat account")

    stock_orders = orders(sim, "flatten-")
    assert len(stock_orders) == 1
    assert stock_orders[0]["action"] == "SELL"
    assert stock_orders[0]["qty"] == 200
    orphan_orders = orders(sim, "close_orphan-")
    assert len(orphan_orders) == 1
    assert orphan_orders[0]["action"] == "SELL"
    assert [leg["strike"] for leg in orphan_orders[0]["legs"]] == [480]
    assert events(sim, "exercise") == []
    assert "position.orphan_leg" in alert_types(alerts, {"position.orphan_leg"})
    assert executor.terminate() == 0


def test_an_assigned_short_put_whose_long_put_is_out_of_the_money_is_repaired_by_selling_the_stock(
        clean_stack: LocalStack, firestore_db: firestore.Client, tap: Callable[[str], TopicTap],
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    alerts = tap("alerts")
    sim, executor = _enter(clean_stack, firestore_db, world, executors, monitor_s="600")

    # the demo day: short 485 put assigned with QQQ at 484.04, the long 480 put $4.04 out of the money
    sim.set_price(484.04)
    sim.inject("assignment", account="DU001")
    # two passes: the first sells the stock, the next closes the long put it leaves unpaired
    wait_for(lambda: not held(sim, "DU001"), 3 * SLOW_PASS_S, "the stock sold, the long put closed, a flat account")

    assert events(sim, "exercise") == []  # IB would refuse it (override=0), and forcing it sells below the market
    [sale] = orders(sim, "flatten-")
    assert (sale["action"], sale["qty"], sale["order_type"]) == ("SELL", 200, "LMT")
    assert sale["limit"] >= 483.9  # a marketable limit near the market, not a forced exercise at 480
    [orphan] = orders(sim, "close_orphan-")
    assert [leg["strike"] for leg in orphan["legs"]] == [480]
    assert "position.assignment_repair" in alert_types(alerts, {"position.assignment_repair"})
    assert executor.terminate() == 0
