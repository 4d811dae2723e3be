"""Signals by Pub/Sub streaming pull, handed to the event loop; acked only once the intents are recorded.

The client library runs callbacks on its own threads. Each callback decodes the message at the edge, hands the
signal to the loop with ``asyncio.run_coroutine_threadsafe`` and waits for the intents to be durable:
- recorded → ack;
- ``Rejected`` (malformed message) → alert, ack (retrying cannot fix it);
- anything else (Retryable, Firestore down, the service stopping) → nack, so Pub/Sub redelivers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # the package ships no stubs for it

from executor.alerts import Alerts
from spreadpilot.envelopes import SignalMessage, decode
from spreadpilot.errors import Rejected
from spreadpilot.models import Severity, Signal

log = logging.getLogger(__name__)
HANDLE_TIMEOUT_S = 120.0


class SignalSubscriber:
    """Streaming pull on one subscription, feeding ``handle`` on ``loop``."""

    def __init__(self, project: str, subscription: str, handle: Callable[[Signal], Coroutine[Any, Any, object]],
                 loop: asyncio.AbstractEventLoop, alerts: Alerts, max_messages: int = 4) -> None:
        self.path = f"projects/{project}/subscriptions/{subscription}"
        self.handle = handle
        self.loop = loop
        self.alerts = alerts
        self.max_messages = max_messages
        self.client: Any = None
        self.future: Any = None

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
            signal = decode(message.data, SignalMessage, where=f"message {message.message_id}").signal
        except Rejected as exc:
            self._alert_rejected(exc)
            message.ack()
            return
        future: Any = asyncio.run_coroutine_threadsafe(self.handle(signal), self.loop)
        try:
            future.result(timeout=HANDLE_TIMEOUT_S)
        except Rejected as exc:
            self._alert_rejected(exc)
            message.ack()
            return
        except (Exception, FutureTimeout):  # redelivery is the retry; the intents already recorded make it harmless
            log.exception("signal not recorded; nack for redelivery", extra={"signal_id": signal.signal_id})
            message.nack()
            return
        message.ack()
        log.info("signal acked", extra={"signal_id": signal.signal_id, "message_id": message.message_id})

    def _alert_rejected(self, exc: Rejected) -> None:
        log.error("signal rejected", extra={"reason": str(exc)})
        asyncio.run_coroutine_threadsafe(
            self.alerts.send("signal.rejected", Severity.WARNING, f"signal message rejected: {exc}"), self.loop
        )
