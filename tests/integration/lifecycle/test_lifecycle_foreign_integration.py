"""Foreign activity over real parts: an order typed by hand (no orderRef, another client id) in one follower's
account before the signal pauses that follower's entries with one CRITICAL alert; the others trade as usual.

The executor runs as deployed (``python -m executor``, lifecycle on) against ibsim and the emulators; the hand-entered
order is placed by a second TWS API client (ib_async), as IB Gateway sees an order from TWS or another program."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from google.cloud import firestore
from ib_async import IB, LimitOrder, Option
from lifecycle_harness import (
    Executor,
    alert_types,
    controls,
    follower,
    intents,
    make_signal,
    orders,
    publish_signal,
    seed,
    wait_for,
)

from ibsim.testing import SimulatorProcess
from spreadpilot.clock import SimClock
from spreadpilot.models import IntentState
from stack.local_stack import LocalStack
from stack.topology import TopicTap

START = "2026-03-17T09:40:00-04:00"


def place_by_hand(sim: SimulatorProcess, account: str) -> None:
    """A put bought in ``account`` by another client, with no orderRef (as TWS sends an order typed by hand)."""
    async def place() -> None:
        ib = IB()
        await ib.connectAsync(sim.host, sim.port, clientId=42, timeout=20)
        try:
            [put] = await ib.qualifyContractsAsync(Option("QQQ", "20260317", 470, "P", "SMART", tradingClass="QQQ"))
            trade = ib.placeOrder(put, LimitOrder("BUY", 1, 0.05, account=account, tif="DAY"))
            while trade.orderStatus.status in ("PendingSubmit", ""):  # noqa: ASYNC110 - ib_async's state
                await asyncio.sleep(0.05)
        finally:
            ib.disconnect()

    asyncio.run(asyncio.wait_for(place(), 60))


def test_an_order_entered_by_hand_in_a_followers_account_pauses_that_followers_entries_with_one_alert(
        clean_stack: LocalStack, firestore_db: firestore.Client, tap: Callable[[str], TopicTap],
        world: Callable[..., tuple[SimClock, SimulatorProcess]], executors: Callable[..., Executor]) -> None:
    clock, sim = world(START, 20, ["DU001", "DU002"], "--underlying", "487", "--fill-mode", "never")
    seed(firestore_db, [follower(1), follower(2)], sim)
    place_by_hand(sim, "DU002")
    alerts = tap("alerts")
    executor = executors(clock, min_credit="0.10")

    wait_for(lambda: controls(firestore_db, "f02").get("entries_paused") is True, 60,
             "the executor to pause the follower whose account has a foreign order")
    assert controls(firestore_db, "f02")["updated_by"] == "foreign-activity"
    assert "no orderRef" in controls(firestore_db, "f02")["reason"]
    assert controls(firestore_db, "f01").get("entries_paused") is not True

    publish_signal(clean_stack.project, make_signal(qty=1))
    wait_for(lambda: {i.follower_id: i.state for i in intents(firestore_db)}.get("f02") == IntentState.SKIPPED, 60,
             "the paused follower's entry to be skipped")
    states = {i.follower_id: i for i in intents(firestore_db)}
    assert "paused" in states["f02"].reason
    assert [o for o in orders(sim, "entry-") if o.get("account") == "DU002"] == []
    assert [o for o in orders(sim, "entry-") if o.get("account") == "DU001"]  # the other follower is traded
    seen = alert_types(alerts, {"follower.foreign_activity"})
    seen += alert_types(alerts, {"(anything later)"}, timeout_s=3)  # a second one would be here by now
    assert seen.count("follower.foreign_activity") == 1
    assert executor.terminate() == 0
