"""Signals and commands by Pub/Sub streaming pull, handed to the event loop; acked only once handled.

The client library runs callbacks on its own threads. Each callback decodes the message at the edge, hands the
item to the loop with ``asyncio.run_coroutine_threadsafe`` and waits for the handler:
- handled (intents durably recorded, command applied, or a duplicate) → ack;
- ``Rejected`` (malformed message) → alert, ack (retrying cannot fix it);
- anything else (Retryable, Firestore down, the service stopping) → nack, so Pub/Sub redelivers; handlers are
  idempotent (intents by signal × follower, commands by command id), so the redelivery is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, Generic, TypeVar

from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # the package ships no stubs for it

from executor.alerts import Alerts
from spreadpilot.envelopes import SignalMessage, decode
from spreadpilot.errors import Rejected, Retryable
from spreadpilot.models import Severity, Signal

log = logging.getLogger(__name__)
HANDLE_TIMEOUT_S = 120.0
T = TypeVar("T")


class EnvelopeSubscriber(ABC, Generic[T]):
    """Streaming pull on one subscription, feeding ``handle`` on ``loop``; subclasses say how to decode."""

    kind = "message"

    def __init__(self, project: str, subscription: str, handle: Callable[[T], Coroutine[Any, Any, object]],
                 loop: asyncio.AbstractEventLoop, alerts: Alerts, max_messages: int = 4) -> None:
        self.path = f"projects/{project}/subscriptions/{subscription}"
        self.handle = handle
        self.loop = loop
        self.alerts = alerts
        self.max_messages = max_messages
        self.client: Any = None
        self.future: Any = None

    @abstractmethod
    def decode_body(self, data: bytes, where: str) -> T:
        """The item a message carries; ``Rejected`` if it is malformed."""

    def context(self, item: T) -> dict[str, str]:
        """Log fields that identify ``item``."""
        return {}

    def start(self) -> None:
        """Open the stream."""
        self.client = pubsub_v1.SubscriberClient()
        flow = pubsub_v1.types.FlowControl(max_messages=self.max_messages)
        self.future = self.client.subscribe(self.path, callback=self._on_message, flow_control=flow,
                                            await_callbacks_on_shutdown=True)
        log.info("subscribed", extra={"subscription": self.path})

    async def stop(self) -> None:
        """Stop taking messages; callbacks in progress finish (their messages are acked or nacked)."""
        if self.future is None:
            return
        self.future.cancel()
        await asyncio.to_thread(self._drain)

    def _drain(self) -> None:
        try:
            self.future.result(timeout=HANDLE_TIMEOUT_S)
        except Exception:  # a cancelled stream resolves with its cancellation; nothing to do but close
            log.debug("stream closed", exc_info=True)
        self.client.close()

    def _on_message(self, message: Any) -> None:
        """Runs on a library thread."""
        try:
            item = self.decode_body(message.data, f"message {message.message_id}")
        except Rejected as exc:
            self._alert_rejected(exc)
            message.ack()
            return
        context = self.context(item)
        future: Any = asyncio.run_coroutine_threadsafe(self.handle(item), self.loop)
        try:
            future.result(timeout=HANDLE_TIMEOUT_S)
        except Rejected as exc:
            self._alert_rejected(exc)
            message.ack()
            return
        except Retryable as exc:
            log.warning(f"{self.kind} not handled yet; nack for redelivery", extra={**context, "reason": str(exc)})
            message.nack()
            return
        except (Exception, FutureTimeout):  # redelivery is the retry; idempotent handlers make it harmless
            log.exception(f"{self.kind} not handled; nack for redelivery", extra=context)
            message.nack()
            return
        message.ack()
        log.info(f"{self.kind} acked", extra={**context, "message_id": message.message_id})

    def _alert_rejected(self, exc: Rejected) -> None:
        log.error(f"{self.kind} rejected", extra={"reason": str(exc)})
        asyncio.run_coroutine_threadsafe(
            self.alerts.send(f"{self.kind}.rejected", Severity.WARNING, f"{self.kind} message rejected: {exc}"),
            self.loop,
        )


class SignalSubscriber(EnvelopeSubscriber[Signal]):
    """The executor's ``signals`` subscription: acked once every follower's intent is recorded."""

    kind = "signal"

    def decode_body(self, data: bytes, where: str) -> Signal:
        """The signal of a ``signal.v1`` message."""
        return decode(data, SignalMessage, where=where).signal

    def context(self, item: Signal) -> dict[str, str]:
        """The signal id."""
        return {"signal_id": item.signal_id}
