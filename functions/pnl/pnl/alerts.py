"""Alerts the rollups raise: one follower's rollup failed (the others go on), or a day did not reconcile."""

from __future__ import annotations

import logging
from datetime import date, datetime

from spreadpilot.envelopes import AlertMessage
from spreadpilot.models import Alert, Severity
from spreadpilot.publisher import Publisher
from spreadpilot.resources import ALERTS

log = logging.getLogger(__name__)


def publish_alert(publisher: Publisher, alert: Alert) -> None:
    """Publish ``alert``; a failure to alert is logged, never raised over the rollup's own outcome."""
    try:
        publisher.publish(ALERTS, AlertMessage(alert=alert))
    except Exception:  # isolate: the rollup's own outcome is what matters; the log keeps this one
        log.exception("could not publish the alert", extra={"follower_id": alert.follower_id,
                                                             "alert_type": alert.type})


def report_failure(publisher: Publisher, kind: str, follower_id: str, message: str, at: datetime) -> None:
    """Publish a WARNING alert about one follower; a failure to alert is logged, never raised over the cause."""
    publish_alert(publisher, Alert(
        alert_id=f"{kind.replace('.', '-')}-{follower_id}-{int(at.timestamp())}", type=kind,
        severity=Severity.WARNING, message=message, at=at, source="pnl", follower_id=follower_id,
    ))


def report_unreconciled(publisher: Publisher, follower_id: str, day: date, note: str, at: datetime) -> None:
    """Publish a CRITICAL alert: the day's P&L from the ledger disagrees with the broker (its statement waits)."""
    publish_alert(publisher, Alert(
        alert_id=f"pnl-unreconciled-{follower_id}-{day.isoformat()}", type="pnl.unreconciled",
        severity=Severity.CRITICAL, at=at, source="pnl", follower_id=follower_id,
        message=f"P&L of {day} does not reconcile with the broker: {note}"[:4000],
        context={"date": day.isoformat()},
    ))
