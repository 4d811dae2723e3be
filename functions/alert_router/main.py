"""Cloud Function ``on_alert`` (push subscription ``alert-router-push`` on ``alerts``): store, collapse, deliver."""

from __future__ import annotations

import logging

import functions_framework
from cloudevents.http import CloudEvent

from alert_router.settings import AlertRouterSettings
from alert_router.wiring import build_router
from spreadpilot.clock import clock_from_env
from spreadpilot.envelopes import AlertMessage, decode_push
from spreadpilot.errors import Rejected
from spreadpilot.logs import configure_logging
from spreadpilot.settings import load_settings

SETTINGS = load_settings(AlertRouterSettings)
configure_logging("alert_router", SETTINGS.log_level)
CLOCK = clock_from_env()
ROUTER = build_router(SETTINGS)
log = logging.getLogger("alert_router")


@functions_framework.cloud_event
def on_alert(cloud_event: CloudEvent) -> None:
    """Decode the alert, route it; ``Retryable`` → 500 → Pub/Sub redelivers, anything rejected is acked."""
    try:
        message = decode_push(cloud_event.data, AlertMessage)
    except Rejected as exc:
        log.error("alert rejected", extra={"reason": exc.reason, "where": exc.where})
        return
    ROUTER.route(message.alert, CLOCK.now())
