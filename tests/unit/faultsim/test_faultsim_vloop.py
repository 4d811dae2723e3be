"""The virtual loop: time passes without waiting, nothing runs on a thread, a killed process does nothing more,
and a seed's run is the same every time."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from faultsim.run import run_seed
from faultsim.vloop import PROCESS, Stalled, VirtualClock, VirtualLoop
from faultsim.world import START


def run(loop: VirtualLoop, coro: object) -> object:
    try:
        return loop.run_until_complete(coro)  # type: ignore[arg-type]
    finally:
        loop.close()


def test_an_hour_of_sleeping_and_timeouts_takes_no_real_time() -> None:
    loop = VirtualLoop(seed=1)

    async def day() -> float:
        await asyncio.sleep(3600)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.Event().wait(), timeout=10)
        return asyncio.get_running_loop().time()

    started = time.perf_counter()
    virtual = run(loop, day())
    assert virtual == pytest.approx(3610.0)
    assert time.perf_counter() - started < 0.5


def test_the_clock_is_the_trading_day_plus_virtual_seconds() -> None:
    loop = VirtualLoop(seed=1)
    clock = VirtualClock(loop, START)

    async def later() -> None:
        await clock.sleep(90)

    run(loop, later())
    assert (clock.now() - START).total_seconds() == pytest.approx(90.0)
    with pytest.raises(RuntimeError):
        clock.sleep_sync(1)


def test_run_in_executor_runs_on_the_loop_thread_after_a_virtual_latency() -> None:
    loop = VirtualLoop(seed=2)
    here = threading.get_ident()

    async def call() -> tuple[int, float]:
        before = asyncio.get_running_loop().time()
        ident = await asyncio.get_running_loop().run_in_executor(None, threading.get_ident)
        return ident, asyncio.get_running_loop().time() - before

    ident, took = run(loop, call())  # type: ignore[misc]
    assert ident == here
    assert 0.001 <= took <= 0.020


def test_an_exception_in_the_executor_function_reaches_the_caller() -> None:
    loop = VirtualLoop(seed=3)

    def boom() -> None:
        raise KeyError("x")

    async def call() -> None:
        await asyncio.get_running_loop().run_in_executor(None, boom)

    with pytest.raises(KeyError):
        run(loop, call())


def test_waiting_for_something_that_can_never_happen_is_reported_as_stalled() -> None:
    loop = VirtualLoop(seed=4)
    with pytest.raises(Stalled):
        run(loop, asyncio.Event().wait())


def test_a_killed_process_runs_nothing_more_and_its_new_tasks_are_cancelled() -> None:
    loop = VirtualLoop(seed=5)
    ran: list[str] = []

    async def worker() -> None:
        while True:
            await asyncio.sleep(1)
            ran.append("tick")

    async def main() -> tuple[bool, bool]:
        task = loop.create_task(worker(), context=loop.context_of("p1"))
        await asyncio.sleep(2.5)
        loop.kill("p1")
        await asyncio.sleep(5)
        ctx = loop.context_of("p1")
        late = ctx.run(lambda: asyncio.ensure_future(asyncio.sleep(0)))
        await asyncio.sleep(0)
        return task.cancelled(), late.cancelled()

    cancelled, late_cancelled = run(loop, main())  # type: ignore[misc]
    assert cancelled
    assert late_cancelled
    assert ran == ["tick", "tick"]


def test_tasks_remember_the_process_that_created_them() -> None:
    loop = VirtualLoop(seed=6)

    async def child() -> str | None:
        return PROCESS.get()

    async def parent() -> str | None:
        return await asyncio.ensure_future(child())

    async def main() -> str | None:
        return await loop.create_task(parent(), context=loop.context_of("p7"))

    assert run(loop, main()) == "p7"


def test_the_same_seed_gives_the_same_trace_byte_for_byte() -> None:
    first = run_seed(11, keep_trace=True)
    second = run_seed(11, keep_trace=True)
    other = run_seed(12, keep_trace=True)
    assert first.trace
    assert first.trace == second.trace
    assert first.digest == second.digest
    assert other.digest != first.digest


@pytest.mark.parametrize("kinds", [["process.crash"], ["broker.restart", "firestore.fail_after_commit"]])
def test_runs_with_crashes_and_restarts_are_deterministic_too(kinds: list[str]) -> None:
    assert run_seed(21, kinds=kinds, keep_trace=True).trace == run_seed(21, kinds=kinds, keep_trace=True).trace
