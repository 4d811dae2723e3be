"""Alerts the rollups raise when one follower's rollup fails (the others go on)."""

from __future__ import annotations

import logging
from datetime import datetime

from spreadpilot.envelopes import AlertMessage
from spreadpilot.models import Alert, Severity
from spreadpilot.publisher import Publisher
from spreadpilot.resources import ALERTS

log = logging.getLogger(__name__)


def report_failure(publisher: Publisher, kind: str, follower_id: str, message: str, at: datetime) -> None:
    """Publish a WARNING alert about one follower; a failure to alert is logged, never raised over the cause."""
    alert = Alert(
        alert_id=f"{kind.replace('.', '-')}-{follower_id}-{int(at.timestamp())}",
        type=kind,
        severity=Severity.WARNING,
        message=message,
        at=at,
        source="pnl",
        follower_id=follower_id,
    )
    try:
        publisher.publish(ALERTS, AlertMessage(alert=alert))
    except Exception:  # isolate: the rollup's own failure is what matters; the log keeps this one
        log.exception("could not publish the alert", extra={"follower_id": follower_id, "alert_type": kind})
