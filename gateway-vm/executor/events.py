"""The executor's lines in the ``events`` stream (see ``spreadpilot.events``), written off the event loop.

``ExecutorEvents.intent(intent, kind, message)`` records one step of an order intent with its signal, follower and
order ids; ``note(kind, message, ...)`` anything else (a gateway connected, a reconcile result, a command outcome).
Each intent step is keyed by (intent id, kind, ladder step, state), so a replayed step after a restart or a
redelivered message is written once. A failed write is logged by the sink and never reaches the caller: the event
console may miss a line, trading never waits for it.

Hook points (the calls the executor's modules make; the event kinds the console knows). Every state change of an
intent is one line (``Engine._intent_event``), its kind the new state:
    intent created (``entry``/``closer`` after ``create_intent``)      ``intent.planned``
    order sent (state → submitted)                                     ``order.submitted``
    broker acknowledged it (state → working)                           ``order.working``
    filled (state → filled, from the executions)                       ``order.filled``
    cancelled / rejected / skipped / unknown                           ``order.<state>``
    exit or flatten close sent (``lifecycle.closer``)                  ``intent(i, "exit.sent", ...)``
    gateway connected / disconnected, reconcile done                   ``note("gateway.connected", ...)`` ...
    command handled (``lifecycle.commands``)                           ``note("command.outcome", ...)``
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from spreadpilot.events import Event, EventSink, make_event
from spreadpilot.models import OrderIntent, Severity

SOURCE = "executor"


class ExecutorEvents:
    """Async front of an ``EventSink`` for the executor's loop."""

    def __init__(self, sink: EventSink, pool: ThreadPoolExecutor) -> None:
        self.sink = sink
        self.pool = pool
        self._queue: list[Event] = []
        self._wake = asyncio.Event()

    def queue_intent(self, intent: OrderIntent, kind: str, message: str,
                     severity: Severity = Severity.INFO) -> None:
        """Queue one step of ``intent`` for the next batched write (a fan-out of 1000 makes a few writes, not
        thousands: the event console never slows trading down)."""
        self._queue.append(_intent_event(intent, kind, message, severity))
        self._wake.set()

    async def run(self, stop: asyncio.Event, every_s: float = 0.5) -> None:
        """Write what is queued every ``every_s`` real seconds, and once more on the way out."""
        while not stop.is_set():
            await asyncio.wait([asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())],
                               return_when=asyncio.FIRST_COMPLETED)
            await asyncio.sleep(every_s)
            self._wake.clear()
            await self.flush()
        await self.flush()

    async def flush(self) -> None:
        """Write everything queued."""
        events, self._queue = self._queue, []
        if not events:
            return
        record_many = getattr(self.sink, "record_many", None)
        if record_many is not None:
            await asyncio.get_running_loop().run_in_executor(self.pool, record_many, events)
            return
        for event in events:
            await asyncio.get_running_loop().run_in_executor(self.pool, self.sink.record, event)

    async def intent(self, intent: OrderIntent, kind: str, message: str,
                     severity: Severity = Severity.INFO) -> None:
        """Record one step of ``intent`` (written once per intent, kind, ladder step and state)."""
        event = _intent_event(intent, kind, message, severity)
        await asyncio.get_running_loop().run_in_executor(self.pool, self.sink.record, event)

    async def note(self, kind: str, message: str, *, at: datetime, severity: Severity = Severity.INFO,
                   key: str | None = None, follower_id: str | None = None, signal_id: str | None = None,
                   command_id: str | None = None, context: dict[str, str] | None = None) -> None:
        """Record anything else the executor did (``at`` is business time)."""
        event = make_event(kind, source=SOURCE, at=at, message=message, severity=severity, key=key,
                           follower_id=follower_id, signal_id=signal_id, command_id=command_id, context=context)
        await asyncio.get_running_loop().run_in_executor(self.pool, self.sink.record, event)


def _intent_event(intent: OrderIntent, kind: str, message: str, severity: Severity) -> Event:
    return make_event(
        kind, source=SOURCE, at=intent.updated_at, message=message, severity=severity,
        key=f"{intent.intent_id}|{kind}|{intent.ladder_step}|{intent.state}",
        signal_id=intent.signal_id, follower_id=intent.follower_id, order_ref=intent.intent_id,
        context={"state": str(intent.state), "contracts": str(intent.contracts),
                 "filled_qty": str(intent.filled_qty), "limit": str(intent.limit or ""),
                 "gateway_id": intent.gateway_id, "intent_kind": str(intent.kind)},
    )
