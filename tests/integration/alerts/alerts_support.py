"""Shared settings and helpers of the alerts integration tests (every test serves the functions with these)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from spreadpilot.clock import SimClock
from spreadpilot.models import Alert, Severity

T = TypeVar("T")

WEB = "https://admin.spreadpilot.test"
OPS_CHAT = "-100200"
OPERATOR = 4242
WEBHOOK_SECRET = "itest-webhook-secret"
# The watchdog runs on a simulated trading day (10:00 New York on a Tuesday) advancing in real time.
WATCHDOG_CLOCK = SimClock(datetime.fromisoformat("2026-03-17T10:00:00-04:00"), 1.0, time.time())

ROUTER_ENV = {
    "TELEGRAM_BOT_TOKEN": "123456:itest-token",
    "SENDGRID_API_KEY": "SG.itest-key",
    "SPREADPILOT_WEB_BASE_URL": WEB,
    "SPREADPILOT_ALERT_TELEGRAM_CHAT_IDS": OPS_CHAT,
    "SPREADPILOT_ALERT_EMAIL_TO": "ops@spreadpilot.test",
    "SPREADPILOT_ALERT_COOLDOWN_S": "300",
    "SPREADPILOT_ALERT_MAX_ATTEMPTS": "5",
    "SPREADPILOT_ALERT_RETRY_AFTER_MAX_WAIT_S": "3",
}
BOT_ENV = {
    "TELEGRAM_BOT_TOKEN": "123456:itest-token",
    "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
    "SPREADPILOT_BOT_ALLOWED_CHAT_IDS": OPS_CHAT,
    "SPREADPILOT_BOT_ALLOWED_USER_IDS": str(OPERATOR),
}
WATCHDOG_ENV = {"SPREADPILOT_CLOCK": WATCHDOG_CLOCK.spec()}


def wait_for(probe: Callable[[], T | None], what: str, timeout_s: float = 30.0) -> T:
    """Poll ``probe`` until it returns something truthy; fail naming ``what`` if it never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def make_alert(alert_id: str, severity: Severity = Severity.CRITICAL, **fields: object) -> Alert:
    doc: dict[str, object] = {
        "alert_id": alert_id,
        "type": "order.rejected",
        "severity": severity,
        "message": "IB rejected the entry order (error 201: insufficient margin)",
        "at": datetime.now(UTC),
        "source": "executor",
        "follower_id": "f01",
        "order_ref": "entry-20260317-QQQ-bull_put-ab12cd34-f01",
    }
    doc.update(fields)
    return Alert.model_validate(doc)
