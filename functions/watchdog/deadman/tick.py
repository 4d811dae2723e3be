"""One watchdog tick: compute the alerts due and raise each one once."""

from __future__ import annotations

import logging
from datetime import datetime

from deadman.checks import due_alerts
from deadman.ports import AlertOutbox, TickLog, WatchdogReader
from deadman.settings import WatchdogSettings
from spreadpilot.models import Alert

log = logging.getLogger(__name__)


def run_tick(
    now: datetime, reader: WatchdogReader, outbox: AlertOutbox, ticks: TickLog, settings: WatchdogSettings
) -> list[Alert]:
    """Check everything; the alerts published by this tick (quiet when all is well)."""
    raised = []
    for alert in due_alerts(now, reader, settings):
        if outbox.raise_once(alert):
            raised.append(alert)
            log.warning("watchdog alert raised", extra={"alert_id": alert.alert_id, "alert_type": alert.type,
                                                        "alert_severity": str(alert.severity)})
    ticks.record_tick(now, [alert.alert_id for alert in raised])
    log.info("watchdog tick", extra={"at": now.isoformat(), "raised": len(raised)})
    return raised
