"""Fixtures of the executor integration tests: a simulator, a simulated clock, a fresh signals subscription."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from executor_harness import SPEED, START, Executor

from ibsim.testing import SimulatorProcess, running_simulator, sim_clock
from spreadpilot.clock import SimClock
from stack.local_stack import LocalStack
from stack.topology import TopicTap


@pytest.fixture
def clock() -> SimClock:
    return sim_clock(START, SPEED)


@pytest.fixture
def simulator(clock: SimClock) -> Iterator[Callable[..., SimulatorProcess]]:
    """``simulator(accounts, *extra_args)``: an ibsim process on the test's simulated clock."""
    from contextlib import ExitStack

    with ExitStack() as stack:

        def start(accounts: list[str], *extra: str) -> SimulatorProcess:
            return stack.enter_context(running_simulator(accounts, start=START, speed=SPEED, extra_args=extra))

        yield start


@pytest.fixture
def executors(clean_stack: LocalStack, tap: Callable[[str], TopicTap], clock: SimClock,
              tmp_path: Path) -> Iterator[Callable[..., Executor]]:
    """``executors(**settings)``: start ``python -m executor`` on a fresh signals subscription; killed after."""
    started: list[Executor] = []

    def start(**settings: object) -> Executor:
        subscription = tap("signals").subscription
        ex = Executor(subscription, clock, tmp_path / f"executor-{len(started)}.log", **settings)
        started.append(ex)
        return ex

    yield start
    for ex in started:
        if ex.process.poll() is None:
            ex.kill()
