"""The streaming-pull callback: ack only after the intents are recorded; nack to retry; ack+alert what is malformed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from executor_fakes import RecordingPublisher
from executor_world import signal, sim_clock

from executor.alerts import Alerts
from executor.subscriber import SignalSubscriber
from spreadpilot.envelopes import SignalMessage, encode
from spreadpilot.errors import Retryable
from spreadpilot.models import Signal


@dataclass
class FakeMessage:
    data: bytes
    message_id: str = "m1"
    outcome: str = ""

    def ack(self) -> None:
        self.outcome = "ack"

    def nack(self) -> None:
        self.outcome = "nack"


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield loop
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


def subscriber(loop: asyncio.AbstractEventLoop, recorded: list[Signal], publisher: RecordingPublisher,
               fail: Exception | None = None) -> SignalSubscriber:
    async def handle(sig: Signal) -> list[str]:
        if fail is not None:
            raise fail
        recorded.append(sig)
        return []

    return SignalSubscriber("p", "executor-signals", handle, loop, Alerts(publisher, "alerts", sim_clock()))


def message(sig: Signal) -> FakeMessage:
    return FakeMessage(encode(SignalMessage(signal=sig))[0])


def test_a_signal_is_acked_after_its_handler_recorded_it(loop: asyncio.AbstractEventLoop) -> None:
    recorded: list[Signal] = []
    msg = message(signal())

    subscriber(loop, recorded, RecordingPublisher())._on_message(msg)

    assert recorded == [signal()]
    assert msg.outcome == "ack"


def test_a_signal_whose_intents_could_not_be_recorded_is_nacked_for_redelivery(
        loop: asyncio.AbstractEventLoop) -> None:
    msg = message(signal())

    subscriber(loop, [], RecordingPublisher(), fail=Retryable("firestore unavailable"))._on_message(msg)

    assert msg.outcome == "nack"


def test_a_malformed_message_is_acked_and_alerted_never_retried(loop: asyncio.AbstractEventLoop) -> None:
    publisher = RecordingPublisher()
    msg = FakeMessage(b'{"schema": "signal.v1", "signal": {"ticker": "QQQ"}}')

    subscriber(loop, [], publisher)._on_message(msg)
    asyncio.run_coroutine_threadsafe(asyncio.sleep(0.05), loop).result(timeout=5)

    assert msg.outcome == "ack"
    assert publisher.alert_types() == ["signal.rejected"]
