"""At-least-once delivery of the executor's pull subscriptions (``signals``, and ``commands`` with
``command_bus``) to the executor processes, as ``executor.subscriber`` and Pub/Sub behave together.

Each delivery goes to one live subscriber (seeded choice). The subscriber decodes the envelope at the edge
(``Rejected`` → alert ``signal.rejected`` and ack), runs ``engine.handle_signal`` and waits for it up to
``handle_timeout_s``: handled → ack; ``Rejected`` → alert and ack; anything else (or the wait timing out; the
handler keeps running) → nack, redelivered after the subscription's retry-policy backoff (``backoff``). After
``max_attempts`` deliveries a message is dead-lettered. A process that dies while handling a message never acks
it: Pub/Sub redelivers it once its ack deadline passes. Duplicates and late copies are extra deliveries of the same
message id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from executor.alerts import Alerts
from faultsim.vloop import Trace, VirtualLoop
from spreadpilot.envelopes import CommandMessage, SignalMessage, decode
from spreadpilot.errors import Rejected
from spreadpilot.models import Command, Severity, Signal
from spreadpilot.resources import Subscription, resources

Handler = Callable[[Any], Coroutine[Any, Any, object]]


@dataclass
class Subscriber:
    """One process's streaming pull."""

    pid: str
    handle: Handler
    alerts: Alerts


@dataclass
class Message:
    """One published message."""

    message_id: str
    data: bytes
    attempts: int = 0
    acked: bool = False
    dead: bool = False


def _deployed(name: str = "executor-signals") -> Subscription:
    return resources().subscriptions[name]


def _signal_of(data: bytes, where: str) -> Signal:
    return decode(data, SignalMessage, where=where).signal


def _command_of(data: bytes, where: str) -> Command:
    return decode(data, CommandMessage, where=where).command


@dataclass
class SignalBus:
    """The subscription."""

    loop: VirtualLoop
    trace: Trace
    # as the deployment declares the executor's subscription (resources.yaml: executor-signals)
    max_attempts: int = field(default_factory=lambda: _deployed().max_delivery_attempts or 5)
    ack_deadline_s: float = field(default_factory=lambda: float(_deployed().ack_deadline_s))
    min_backoff_s: float = field(default_factory=lambda: float(_deployed().min_backoff_s))
    max_backoff_s: float = field(default_factory=lambda: float(_deployed().max_backoff_s))
    handle_timeout_s: float = 120.0
    kind: str = "signal"  # what the messages carry: the rejected alert is "{kind}.rejected"
    decode_body: Callable[[bytes, str], Any] = _signal_of
    subscribers: dict[str, Subscriber] = field(default_factory=dict)
    messages: dict[str, Message] = field(default_factory=dict)
    scheduled: int = 0  # deliveries waiting for their time
    in_flight: dict[str, set[str]] = field(default_factory=dict)  # pid → message ids it is handling

    def subscribe(self, subscriber: Subscriber) -> None:
        """Start delivering to ``subscriber``."""
        self.subscribers[subscriber.pid] = subscriber

    def process_died(self, pid: str) -> None:
        """A process died: what it was handling comes back after the ack deadline."""
        self.subscribers.pop(pid, None)
        for message_id in sorted(self.in_flight.pop(pid, set())):
            self._schedule(message_id, self.ack_deadline_s, "ack deadline passed")

    def publish(self, message_id: str, data: bytes, after_s: float) -> None:
        """Publish a message, first delivered ``after_s`` from now."""
        self.messages.setdefault(message_id, Message(message_id, data))
        self._schedule(message_id, after_s, "published")

    def redeliver(self, message_id: str, after_s: float, why: str) -> None:
        """An extra delivery of a message (a duplicate or a late copy)."""
        self._schedule(message_id, after_s, why)

    def idle(self) -> bool:
        """Nothing scheduled and nothing being handled."""
        return self.scheduled == 0 and not any(self.in_flight.values())

    def unfinished(self) -> list[str]:
        """Messages never acked (dead-lettered or still going)."""
        return [m.message_id for m in self.messages.values() if not m.acked]

    def dead_lettered(self) -> list[str]:
        """Messages dead-lettered after ``max_attempts`` deliveries."""
        return [m.message_id for m in self.messages.values() if m.dead]

    def _schedule(self, message_id: str, after_s: float, why: str) -> None:
        self.scheduled += 1
        self.loop.call_later(max(0.0, after_s), self._deliver, message_id, why)

    def _deliver(self, message_id: str, why: str) -> None:
        self.scheduled -= 1
        message = self.messages[message_id]
        if message.dead:
            return
        live = sorted(self.subscribers)
        if not live:
            self._schedule(message_id, 1.0, why)  # nobody pulling: it waits in the subscription
            return
        pid = live[self.loop.rng.randrange(len(live))] if len(live) > 1 else live[0]
        message.attempts += 1
        if message.attempts > self.max_attempts:
            message.dead = True
            self.trace.add("pubsub", f"dead-letter {message_id} after {self.max_attempts} attempts")
            return
        self.trace.add("pubsub", f"deliver {message_id} to {pid} attempt {message.attempts} ({why})")
        self.in_flight.setdefault(pid, set()).add(message_id)
        subscriber = self.subscribers[pid]
        self.loop.create_task(self._handle(subscriber, message), context=self.loop.context_of(pid))

    async def _handle(self, subscriber: Subscriber, message: Message) -> None:
        outcome = await self._outcome(subscriber, message)
        self.in_flight.get(subscriber.pid, set()).discard(message.message_id)
        if subscriber.pid in self.loop.dead:
            return  # never acked: ``process_died`` scheduled the redelivery
        self.trace.add("pubsub", f"{outcome} {message.message_id} by {subscriber.pid}")
        if outcome == "ack":
            message.acked = True
        else:
            self._schedule(message.message_id, self.backoff(message.attempts), "nack")

    def backoff(self, attempts: int) -> float:
        """The wait before the next delivery after ``attempts`` deliveries: the retry policy's exponential backoff
        from ``min_backoff_s`` to ``max_backoff_s``, give or take a quarter (Pub/Sub keeps it "on a best effort
        basis": a delay may be more or less than configured)."""
        nominal = min(self.max_backoff_s, self.min_backoff_s * 2.0 ** max(0, attempts - 1))
        return float(nominal * self.loop.rng.uniform(0.75, 1.25))

    async def _outcome(self, subscriber: Subscriber, message: Message) -> str:
        try:
            item = self.decode_body(message.data, f"message {message.message_id}")
        except Rejected as exc:
            await self._rejected(subscriber, exc)
            return "ack"
        task = asyncio.ensure_future(subscriber.handle(item))
        done, _ = await asyncio.wait({task}, timeout=self.handle_timeout_s)
        if not done:
            return "nack"  # the handler keeps running; Pub/Sub redelivers meanwhile
        if task.cancelled():
            return "nack"
        error = task.exception()
        if error is None:
            return "ack"
        if isinstance(error, Rejected):
            await self._rejected(subscriber, error)
            return "ack"
        self.trace.add("pubsub", f"handler error {type(error).__name__}: {str(error)[:120]}")
        return "nack"

    async def _rejected(self, subscriber: Subscriber, exc: Rejected) -> None:
        await subscriber.alerts.send(f"{self.kind}.rejected", Severity.WARNING, f"{self.kind} message rejected: {exc}")


def command_bus(loop: VirtualLoop, trace: Trace) -> SignalBus:
    """The ``executor-commands`` subscription, with the retry policy the deployment declares for it."""
    deployed = _deployed("executor-commands")
    return SignalBus(loop, trace, max_attempts=deployed.max_delivery_attempts or 5,
                     ack_deadline_s=float(deployed.ack_deadline_s), min_backoff_s=float(deployed.min_backoff_s),
                     max_backoff_s=float(deployed.max_backoff_s), kind="command", decode_body=_command_of)
