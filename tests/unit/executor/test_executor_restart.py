"""The executor killed at any point of a fan-out and restarted: one order per follower, every fill recorded."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from executor_fakes import Killed
from executor_world import follower, run, signal, started, until, world

from executor.engine import Engine
from spreadpilot.models import IntentState


async def kill(engine: Engine, broker_connected: list[object]) -> None:
    """Everything of ``engine`` stops at once; its socket is gone."""
    for link in engine.links.values():
        link.broker.connected = False  # type: ignore[attr-defined]
    tasks = [*engine.handler.tasks, *engine._fill_tasks, *engine._tasks]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@pytest.mark.parametrize("kill_at_write", [1, 3, 5, 8, 12, 17, 23, 30, 40])
def test_sigkill_at_any_write_then_restart_leaves_exactly_one_order_per_follower(kill_at_write: int) -> None:
    w = world([follower(n) for n in range(1, 6)])

    async def scenario() -> None:
        first = await started(w)
        w.store.kill_at = kill_at_write
        with contextlib.suppress(Killed):
            await first.handle_signal(signal())  # killed before the ack: Pub/Sub redelivers
        await until(lambda: w.store.dead or all(i.state.final for i in w.store.intents.values()))
        await kill(first, [])
        w.store.dead, w.store.kill_at = False, None
        second = await started(w)
        await second.handle_signal(signal())
        await second.idle()
        await second.shutdown()

    run(scenario)
    refs = [o["order_ref"] for o in w.orders()]
    assert len(refs) == 5
    assert len(set(refs)) == 5
    assert set(w.store.states().values()) == {IntentState.FILLED}
    assert {e.exec_id for e in w.broker.executions} == set(w.store.fills)


def test_sigterm_parks_working_orders_and_a_restart_finishes_them() -> None:
    w = world([follower(1), follower(2)], ladder_step_s=30)
    w.broker.default_fill_credit = w.broker.mid_credit - 3 * w.settings.ladder_tick

    async def scenario() -> None:
        first = await started(w)
        await first.handle_signal(signal())
        await until(lambda: len(w.orders()) == 2)
        await first.shutdown()
        assert set(w.store.states().values()) == {IntentState.WORKING}
        w.broker.connected = False
        second = await started(w)
        await second.idle()

    run(scenario)
    assert set(w.store.states().values()) == {IntentState.FILLED}
    assert len(w.orders()) == 2
