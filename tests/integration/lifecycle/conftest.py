"""Fixtures of the lifecycle integration tests: a simulator on the test's simulated clock, executors on fresh
subscriptions (signals and commands), everything stopped after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from lifecycle_harness import AdminClient, Executor

from ibsim.testing import SimulatorProcess, running_simulator, sim_clock
from identity.testing import SessionServers, TokenFactory
from spreadpilot.clock import SimClock
from stack.local_stack import LocalStack
from stack.topology import TopicTap


@pytest.fixture
def world(clean_stack: LocalStack, tap: Callable[[str], TopicTap],
          tmp_path: Path) -> Iterator[Callable[..., tuple[SimClock, SimulatorProcess]]]:
    """``world(start, speed, accounts, *ibsim_args)``: the shared simulated clock and an ibsim process on it."""
    with ExitStack() as stack:

        def start(start: str, speed: float, accounts: list[str], *extra: str) -> tuple[SimClock, SimulatorProcess]:
            sim = stack.enter_context(running_simulator(accounts, start=start, speed=speed, extra_args=extra))
            return sim_clock(start, speed), sim

        yield start


@pytest.fixture
def executors(clean_stack: LocalStack, tap: Callable[[str], TopicTap],
              tmp_path: Path) -> Iterator[Callable[..., Executor]]:
    """``executors(clock, env=None, **settings)``: ``python -m executor`` on fresh subscriptions (``env`` overrides
    its environment, e.g. a Firestore fault proxy); killed after the test."""
    started: list[Executor] = []

    def start(clock: SimClock, env: dict[str, str] | None = None, **settings: object) -> Executor:
        # fresh subscriptions per process: a new stream on a cancelled one can stall for a minute (FIELD-NOTES)
        signals, commands = tap("signals").subscription, tap("commands").subscription
        ex = Executor(signals, commands, clock, tmp_path / f"executor-{len(started)}.log", env, **settings)
        started.append(ex)
        return ex

    yield start
    for ex in started:
        if ex.process.poll() is None:
            ex.kill()


@pytest.fixture
def admin(clean_stack: LocalStack, serve_function: Callable[..., str]) -> AdminClient:
    """The admin API served by functions-framework, called as the web app's admin."""
    url = serve_function("admin_api", SessionServers.admin_api_env(clean_stack.project))
    tokens = TokenFactory(SessionServers.issuer_for(clean_stack.project).issuer)
    return AdminClient(url, SessionServers.web_origin(), tokens.valid("admin"))
