"""A virtual-time asyncio loop: waiting for the next timer advances time at once, and nothing runs on a thread.

``VirtualLoop.time()`` is virtual seconds since the run began. The selector never blocks: asked to wait ``timeout``
seconds it adds them to the virtual time and reports no I/O, so a day of ``asyncio.sleep`` and ``wait_for`` takes
milliseconds. ``run_in_executor`` runs the function on the loop itself after a seeded virtual latency and resolves
the future after a second one (plus whatever extra latency a stand-in asked for while serving the call), so the
synchronous Firestore client code the executor runs "on a thread pool" runs here deterministically, in order.

Processes: every task records the simulated process (``PROCESS`` context variable) that created it, so a crash
cancels exactly that process's tasks, and a dead process's calls never take effect afterwards (a call already on
the wire when it died takes effect or not, by the seed).
"""

from __future__ import annotations

import asyncio
import contextvars
import random
import selectors
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

T = TypeVar("T")
PROCESS: contextvars.ContextVar[str | None] = contextvars.ContextVar("faultsim_process", default=None)
MAX_STEPS = 3_000_000  # loop iterations per run; a busy loop in virtual time would otherwise spin forever


class Stalled(RuntimeError):
    """Nothing is scheduled and nothing is ready: the run can never make progress."""


class Runaway(RuntimeError):
    """The loop iterated ``MAX_STEPS`` times: something spins without letting virtual time pass."""


class _VirtualSelector(selectors.BaseSelector):
    """Reports no I/O, ever; a wait is virtual time passing."""

    def __init__(self, loop: VirtualLoop) -> None:
        self._loop = loop
        self._keys: dict[Any, selectors.SelectorKey] = {}

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        key = selectors.SelectorKey(fileobj, -1, events, data)
        self._keys[fileobj] = key
        return key

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._keys.pop(fileobj)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout is None:
            raise Stalled(f"nothing scheduled at virtual t={self._loop.time():.3f}")
        self._loop.advance(max(0.0, timeout))
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._keys

    def close(self) -> None:
        self._keys.clear()


@dataclass
class Latency:
    """Seeded virtual latency of one in-process "RPC" (seconds)."""

    low: float = 0.0005
    high: float = 0.010


class VirtualLoop(asyncio.SelectorEventLoop):
    """The loop of one simulated run."""

    def __init__(self, seed: int | str = 0, latency: Latency | None = None) -> None:
        self._virtual_now = 0.0
        self.steps = 0
        super().__init__(_VirtualSelector(self))
        self.rng = random.Random(f"{seed}:vloop")
        self.latency = latency or Latency()
        self.extra_latency = 0.0  # a stand-in serving a call may add to its reply's latency
        self.hold: Callable[[str | None], float] = lambda pid: 0.0  # seconds a process's calls wait to go out
        self.caller = ""  # while a call is served: the name of the task that made it
        self.dead: set[str] = set()
        self.tasks: list[asyncio.Task[Any]] = []  # every task of the run (cheaper than asyncio.all_tasks)
        self.tasks_of: dict[str | None, list[asyncio.Task[Any]]] = {}
        self.errors: list[str] = []
        self.set_task_factory(self._make_task)  # type: ignore[arg-type]  # typeshed's factory type predates context
        self.set_exception_handler(self._on_error)

    # ── time ────────────────────────────────────────────────────────────────────────────────────────────────────
    def time(self) -> float:
        """Virtual seconds since the run began."""
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of virtual time pass (the selector's "wait")."""
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Runaway(f"{MAX_STEPS} loop steps by virtual t={self._virtual_now:.3f}")
        self._virtual_now += seconds

    # ── no self-pipe: nothing ever wakes the loop from another thread ─────────────────────────────────────────────
    def _make_self_pipe(self) -> None:
        self._ssock = self._csock = None

    def _close_self_pipe(self) -> None:
        return None

    def _write_to_self(self) -> None:
        return None

    # ── processes ───────────────────────────────────────────────────────────────────────────────────────────────
    def _make_task(self, loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any],
                   context: contextvars.Context | None = None) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, context=context)
        pid = context.run(PROCESS.get) if context is not None else PROCESS.get()
        self.tasks.append(task)
        if pid is not None:
            self.tasks_of.setdefault(pid, []).append(task)
        if pid is not None and pid in self.dead:
            task.cancel()  # a dead process starts nothing
        return task

    def kill(self, pid: str) -> int:
        """Kill process ``pid``: cancel every task it created; later calls of it never take effect.

        A cancellation can be swallowed (3.11's ``wait_for`` returns the inner result when both happen at once),
        which SIGKILL never is: the process's leftover tasks are cancelled again on the following iterations.
        """
        self.dead.add(pid)
        tasks = [t for t in self.tasks_of.pop(pid, ()) if not t.done()]
        for task in tasks:  # in creation order
            task.cancel()
        if tasks:
            self.call_soon(self._reap, tasks, 50)
        return len(tasks)

    def _reap(self, tasks: list[asyncio.Task[Any]], rounds: int) -> None:
        alive = [t for t in tasks if not t.done()]
        for task in alive:
            task.cancel()
        if alive and rounds > 0:
            self.call_soon(self._reap, alive, rounds - 1)

    def context_of(self, pid: str | None) -> contextvars.Context:
        """A context in which code runs as process ``pid`` (for callbacks a stand-in schedules for it)."""
        ctx = contextvars.copy_context()
        ctx.run(PROCESS.set, pid)
        return ctx

    # ── "threads" ───────────────────────────────────────────────────────────────────────────────────────────────
    def run_in_executor(self, executor: Any, func: Callable[..., T], *args: Any) -> asyncio.Future[T]:  # type: ignore[override]  # typeshed spells the same signature with TypeVarTuple
        """Run ``func`` on the loop after a virtual latency; the future resolves after another."""
        future: asyncio.Future[T] = self.create_future()
        pid = PROCESS.get()
        if pid is not None and pid in self.dead:
            future.cancel()
            return future
        task = asyncio.current_task(self)
        self.call_later(self._latency(), self._serve, future, pid, func, args, task.get_name() if task else "")
        return future

    def _serve(self, future: asyncio.Future[T], pid: str | None, func: Callable[..., T], args: tuple[Any, ...],
               caller: str = "") -> None:
        held = self.hold(pid)
        if held > 0:  # its network is down: the call goes out when it is back
            self.call_later(held, self._serve, future, pid, func, args, caller)
            return
        if pid is not None and pid in self.dead and self.rng.random() < 0.5:
            return  # the process died before this request left it (else it takes effect; nobody hears back)
        result: T | None = None
        error: BaseException | None = None
        self.caller = caller
        try:
            result = func(*args)
        except ProcessDied:
            return
        except Exception as exc:  # the call's own failure travels back to its caller, as a thread pool's would
            error = exc
        self.caller = ""
        delay = self._latency() + self.extra_latency
        self.extra_latency = 0.0
        if pid is None or pid not in self.dead:
            self.call_later(delay, _resolve, future, result, error)

    def _latency(self) -> float:
        return self.rng.uniform(self.latency.low, self.latency.high)

    def _on_error(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        self.errors.append(f"{context.get('message', '')}: {exc!r}" if exc else str(context.get("message", "")))


class ProcessDied(BaseException):
    """Raised inside a stand-in when the call it serves kills its process before taking effect."""


def _resolve(future: asyncio.Future[T], result: T | None, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]  # result is T whenever error is None


@dataclass(frozen=True)
class VirtualClock:
    """``spreadpilot.clock.Clock`` over a virtual loop: ``start`` plus the loop's virtual seconds."""

    loop: VirtualLoop
    start: datetime
    speed: float = 1.0

    def now(self) -> datetime:
        """The virtual now (timezone-aware, as ``start``)."""
        return self.start + timedelta(seconds=self.loop.time())

    async def sleep(self, seconds: float) -> None:
        """Sleep in virtual seconds."""
        await asyncio.sleep(max(0.0, seconds))

    def sleep_sync(self, seconds: float) -> None:
        """A synchronous sleep would block the only thread there is."""
        raise RuntimeError("sleep_sync on the virtual clock: nothing may block the simulated loop")


@dataclass
class Trace:
    """What happened in a run, one line per event, in order (the determinism check compares these)."""

    loop: VirtualLoop
    lines: list[str] = field(default_factory=list)

    def add(self, source: str, text: str) -> None:
        """Record one event at the current virtual time."""
        self.lines.append(f"{self.loop.time():10.4f} {source} {text}".replace("\n", " "))

    def text(self) -> str:
        """The whole trace."""
        return "\n".join(self.lines)
