"""Alerts from the executor: an ``AlertMessage`` on the ``alerts`` topic, source "executor".

Publishing is a notification channel: a failure to publish is logged and never stops trading.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor

from spreadpilot.clock import Clock
from spreadpilot.envelopes import AlertMessage
from spreadpilot.models import Alert, Severity
from spreadpilot.publisher import Publisher

log = logging.getLogger(__name__)
SOURCE = "executor"


class Alerts:
    """Builds and publishes the executor's alerts."""

    def __init__(self, publisher: Publisher, topic: str, clock: Clock, pool: ThreadPoolExecutor | None = None) -> None:
        self.publisher = publisher
        self.topic = topic
        self.clock = clock
        self.pool = pool

    async def send(self, type_: str, severity: Severity, message: str, *, follower_id: str | None = None,
                   signal_id: str | None = None, order_ref: str | None = None, **context: str) -> Alert:
        """Publish one alert (logged, never raised, if publishing fails)."""
        at = self.clock.now()
        digest = hashlib.sha256(f"{type_}|{order_ref}|{follower_id}|{message}|{at.isoformat()}".encode()).hexdigest()
        alert = Alert(alert_id=f"executor-{at:%Y%m%d%H%M%S}-{digest[:12]}", type=type_, severity=severity,
                      message=message[:4000], at=at, source=SOURCE, follower_id=follower_id, signal_id=signal_id,
                      order_ref=order_ref, context=context)
        log.warning("alert", extra={"alert_type": type_, "severity_level": str(severity), "alert_message": message,
                                    "follower_id": follower_id, "order_ref": order_ref})
        try:
            await asyncio.get_running_loop().run_in_executor(
                self.pool, lambda: self.publisher.publish(self.topic, AlertMessage(alert=alert))
            )
        except Exception:  # an alert channel failing must never stop the trading fan-out
            log.exception("alert publish failed", extra={"alert_type": type_, "order_ref": order_ref})
        return alert
