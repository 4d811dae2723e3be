"""Commands by Pub/Sub streaming pull, handed to the event loop; acked once handled.

Same contract as the executor's signal subscriber: the library's threads decode at the edge and wait for the
loop; handled (or a duplicate) → ack; malformed (``Rejected``) → alert and ack; anything else → nack, so Pub/Sub
redelivers (handling is idempotent by command id).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from google.cloud import pubsub_v1  # type: ignore[attr-defined]  # the package ships no stubs for it

from executor.alerts import Alerts
from spreadpilot.envelopes import CommandMessage, decode
from spreadpilot.errors import Rejected, Retryable
from spreadpilot.models import Command, Severity

log = logging.getLogger(__name__)
HANDLE_TIMEOUT_S = 120.0


class CommandSubscriber:
    """Streaming pull on the commands subscription, feeding ``handle`` on ``loop``."""

    def __init__(self, project: str, subscription: str, handle: Callable[[Command], Coroutine[Any, Any, object]],
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
        """Stop taking messages; callbacks in progress finish."""
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
            command = decode(message.data, CommandMessage, where=f"message {message.message_id}").command
        except Rejected as exc:
            self._alert_rejected(exc)
            message.ack()
            return
        future: Any = asyncio.run_coroutine_threadsafe(self.handle(command), self.loop)
        try:
            future.result(timeout=HANDLE_TIMEOUT_S)
        except Retryable as exc:
            log.warning("command not handled yet; nack for redelivery",
                        extra={"command_id": command.command_id, "reason": str(exc)})
            message.nack()
            return
        except (Exception, FutureTimeout):  # redelivery is the retry; handling is idempotent by command id
            log.exception("command not handled; nack for redelivery", extra={"command_id": command.command_id})
            message.nack()
            return
        message.ack()

    def _alert_rejected(self, exc: Rejected) -> None:
        log.error("command rejected", extra={"reason": str(exc)})
        asyncio.run_coroutine_threadsafe(
            self.alerts.send("command.rejected", Severity.WARNING, f"command message rejected: {exc}"), self.loop)
